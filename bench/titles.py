"""Building an archive whose speeches are all titled alike: what deriving their titles costs.

    python bench/titles.py [--files 2000]

Writes FILES synthetic speech files (bench/synthetic.py's sentences, seed 7), every one titled
在全市质量工作会议上的讲话, so every speech needs a title derived from its own text, then builds the corpus
as `speechbot reindex` does (retrieval/lexical/build.py `build_corpus`, worker processes on every core) and
prints the wall time, the CPU time of this process, and how many distinct titles the speeches got. Run it
with another checkout first on PYTHONPATH to compare. Timings move with whatever else the machine runs.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = PROJECT_ROOT / "bench"
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH_DIR]
if str(PROJECT_ROOT) not in sys.path:
    sys.path.append(str(PROJECT_ROOT))

TITLE = "在全市质量工作会议上的讲话"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=2000)
    args = parser.parse_args()

    from bench.synthetic import sentence_pool, speech_text
    from retrieval.lexical.build import build_corpus

    pool = sentence_pool().sentences
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder)
        for n in range(args.files):
            body = speech_text(rng, pool, n).split("\n", 1)[1]
            (data / f"a{n:05d}_speech.txt").write_text(f"{TITLE}\n{body}", encoding="utf-8")
        started, cpu = time.perf_counter(), time.process_time()
        built = build_corpus(data)
        speeches = shown(built.corpus.speeches)  # as the index shows them
        took, took_cpu = time.perf_counter() - started, time.process_time() - cpu
    titles = [s.title for s in speeches]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.files} files, {len(built.corpus.speeches)} speeches, {len(built.corpus.chunks)} passages")
    print(f"build_corpus: {took:.1f} s wall, {took_cpu:.1f} s CPU in this process, peak RSS {rss:.0f} MB")
    print(f"distinct titles: {len(set(titles))} of {len(titles)}")


def shown(speeches: list) -> list:
    """The titles an index shows; a checkout from before describe.titled titled them in build_corpus already."""
    try:
        from retrieval.ingest.describe import titled
    except ImportError:
        return speeches
    return titled(speeches)


if __name__ == "__main__":
    main()
