"""Retrieval benchmark: index build, start-up, search and reply latency, memory, against rank-bm25 and bm25s.

    python bench/retrieval.py [--sizes bundled,10000,100000,archive2000] [--queries 200] [--profile]

For each corpus size (`bundled` = data/, a number = a synthetic corpus of about
that many passages from bench/synthetic.py, `archiveN` = N files shaped as a real
archive is, sharing one title pattern: see bench/synthetic.py) fresh child processes run, so
each reports its own peak RSS (getrusage ru_maxrss):

build child   `SearchService(Store(tmp_db), data_dir).reindex()` wall time: the full
              ingestion → tokens → duplicates → 3 BM25 fields → SQLite, starting the
              worker processes that analyse files on every core included. Also its CPU
              seconds (this process and its workers) and peak RSS: this process's, and
              the largest worker's (the workers run side by side, one per core).
serve child   start-up: from just before the parent spawns it (interpreter, imports,
              `SearchService.start()` loading the stored index and word lexicon from
              SQLite and building the BM25 fields) to the first `search` answered.
              Then, after one warm-up pass, over `--queries` lookups cycling the dev
              questions (tests/data/dev.jsonl, off-topic ones included, as users ask):
              search    `Index.search(question, 10)`, synchronous;
              reply     search + `bot.view.render.answer_html(question, hits[:3])`;
              word      `index.words.scores(word_codes(words))`: our word field alone;
              rank-bm25 `BM25Plus(docs).get_scores(words)`;
              bm25s     `bm25s.BM25(method="bm25+").get_scores(words)`;
              all three references on the same word tokens as our word field (each
              passage's words from `retrieval.lexical.build.passage_terms`, the question's from
              `analyze_query(q, index.segmenter).words`; tokenizing is not timed).
              Our search fuses three fields (words, characters, character pairs) and
              builds cited hits, so "ratio" compares unlike work; the word column is
              the like-for-like one. The serve child's peak RSS is read after the
              timed passes, before anything else (references) is loaded.

change child  on a copy of the data folder and the store the build wrote (after the serve
              child): start, then the three corpus changes an admin makes, each timed
              end to end through SearchService (check, move the file, analyse it,
              reassemble weights, copies and lexicon, write the store, swap):
              remove    `remove_file_of(id)` for a speech of the middle file;
              restore   `restore_file(name)` of that file;
              add       `add_documents([(name, bytes)])` of a new synthetic speech file;
              snapshot  then `settle()`: the new weights written for the next start-up,
                        which the service does after a change has answered.

`--profile` also runs the build under cProfile in a further child and prints its hotspots.
Every figure is wall time on a shared machine: other processes' load shows in them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

SPAWNED_IMPORTING_AT = time.time()  # before any heavy import: start-up counts them

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
# Run as a script, bench/ comes first on sys.path and this file would hide the retrieval package.
sys.path[:] = [str(PROJECT_ROOT)] + [p for p in sys.path if Path(p or ".").resolve() not in (BENCH_DIR, PROJECT_ROOT)]

import resource  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402

import numpy as np  # noqa: E402

from bot.view.render import answer_html, no_answer_html  # noqa: E402
from retrieval.lexical.index import MIN_KNOWN_MASS, Index, analyze_query  # noqa: E402
from retrieval.service import SearchService  # noqa: E402
from retrieval.storage.store import Store  # noqa: E402

IMPORTS_DONE_AT = time.time()

BUNDLED_DATA = PROJECT_ROOT / "data"
DEV_QUESTIONS = PROJECT_ROOT / "tests" / "data" / "dev.jsonl"
TOP_K = 10
PROFILE_TOP = 15


# --------------------------------------------------------------------------- shared helpers


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def children_peak_rss_mb() -> float:
    """The largest peak RSS of any finished child process (the build's workers)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def cpu_seconds() -> float:
    """User and system CPU time of this process and its finished children."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def dev_questions() -> list[str]:
    with DEV_QUESTIONS.open(encoding="utf-8") as f:
        return [json.loads(line)["question"] for line in f if line.strip()]


def percentiles_ms(seconds: Sequence[float]) -> tuple[float, float]:
    ms = np.asarray(seconds) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def timed_each(fn: Callable[[int], object], count: int) -> list[float]:
    """Wall time of fn(0), fn(1), ... fn(count - 1), each on its own."""
    times = []
    for i in range(count):
        start = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - start)
    return times


# --------------------------------------------------------------------------- the index's own terms


def query_words(index: Index, question: str) -> list[str]:
    """The question's word tokens as the index's search cuts them (with its lexicon's segmenter when it has one)."""
    segmenter = getattr(index, "segmenter", None)
    return (analyze_query(question, segmenter) if segmenter is not None else analyze_query(question)).words


def passage_words(index: Index) -> list[list[str]]:
    """Each passage's word tokens, as the build cut them (older indexes kept them as index.terms)."""
    if hasattr(index, "terms"):
        return [t.words for t in index.terms]
    from retrieval.lexical.build import passage_terms
    from retrieval.lexical.segmenter import graph_recorder

    segmenter = graph_recorder()  # jieba-rs: the build's cutter, the same tokens as jieba's
    return [passage_terms(chunk, segmenter).words for chunk in index.chunks]


def word_field_scorer(index: Index) -> Callable[[list[str]], np.ndarray]:
    """Our word field alone: BM25Field.scores over the question's words (as term codes where the field keys on them)."""
    try:
        from retrieval.lexical.bm25 import word_codes
    except ImportError:
        return index.words.scores
    return lambda words: index.words.scores(word_codes(words))


# --------------------------------------------------------------------------- child: build


async def build_child(data_dir: Path, db: Path) -> dict:
    async with Store(db) as store:
        service = SearchService(store, data_dir)
        cpu = cpu_seconds()
        start = time.perf_counter()
        report = await service.reindex()
        build_s = time.perf_counter() - start
        cpu = cpu_seconds() - cpu
    return {
        "build_s": build_s,
        "build_cpu_s": cpu,
        "speeches": report.speeches,
        "chunks": report.chunks,
        "problems": len(report.problems),
        "build_rss_mb": peak_rss_mb(),
        "build_worker_rss_mb": children_peak_rss_mb(),
        "store_mb": db.stat().st_size / 2**20,
    }


# --------------------------------------------------------------------------- child: change


async def change_child(data_dir: Path, db: Path) -> dict:
    """remove, restore and add one file, each end to end, on copies of the data folder and store."""
    import random
    import shutil

    from bench.synthetic import sentence_pool, speech_text

    work = db.parent / "changes"
    shutil.copytree(data_dir, work / "data", ignore=shutil.ignore_patterns(".*"))
    copy = work / "store.sqlite3"
    async with Store(db) as source:
        await source.db.execute("VACUUM INTO ?", (str(copy),))
    result: dict[str, float] = {}
    async with Store(copy) as store:
        service = SearchService(store, work / "data")
        if await service.start() is not None:
            raise RuntimeError("the stored index was not used: start() rebuilt it")
        files = sorted({s.source_file for s in service.index.speeches.values()})
        middle = files[len(files) // 2]
        speech_id = next(s.id for s in service.index.speeches.values() if s.source_file == middle)
        t = time.perf_counter()
        await service.remove_file_of(speech_id)
        result["remove_s"] = time.perf_counter() - t
        t = time.perf_counter()
        await service.restore_file(middle)
        result["restore_s"] = time.perf_counter() - t
        text = speech_text(random.Random(99), sentence_pool().sentences, 99_999)
        t = time.perf_counter()
        await service.add_documents([("bench_new_speech.txt", text.encode("utf-8"))], 1 << 24)
        result["add_s"] = time.perf_counter() - t
        t = time.perf_counter()
        await service.settle()  # the new weights stored for the next start-up, after the answer
        result["snapshot_s"] = time.perf_counter() - t
    result["change_rss_mb"] = peak_rss_mb()
    shutil.rmtree(work)
    return result


async def profile_child(data_dir: Path, db: Path) -> dict:
    """The build's steps, run in this thread (cProfile sees only its own thread) and timed one by one."""
    import cProfile
    import io
    import pstats

    from retrieval.lexical.build import build_corpus

    phases: dict[str, float] = {}
    profiler = cProfile.Profile()
    async with Store(db) as store:
        profiler.enable()
        t = time.perf_counter()
        built = build_corpus(data_dir, workers=1)  # in this process, so the profiler sees the analysis
        phases["build_corpus (read, clean, chunk, cut words, count; one process)"] = time.perf_counter() - t
        assembling = 0.0

        async def assemble() -> Index:  # in this thread, where the profiler sees it
            nonlocal assembling
            t = time.perf_counter()
            index = built.assemble(())
            assembling = time.perf_counter() - t
            return index

        t = time.perf_counter()
        await store.replace_index(built, [], {}, assemble)  # files' rows first, as reindex stores them
        phases["assemble (copies, BM25 weights)"] = assembling
        phases["store (SQLite)"] = time.perf_counter() - t - assembling
        profiler.disable()
    report = {}
    for key in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(key).print_stats(PROFILE_TOP)
        report[key] = out.getvalue()
    return {"phases": phases, "profile": report, "profile_rss_mb": peak_rss_mb()}


# --------------------------------------------------------------------------- child: serve


@dataclass
class Workload:
    questions: list[str]  # the timed sequence: dev questions, cycled
    words: list[list[str]]  # their word tokens, as our word field sees them


def workload(index: Index, count: int) -> Workload:
    dev = dev_questions()
    questions = [dev[i % len(dev)] for i in range(count)]
    return Workload(questions, [query_words(index, q) for q in questions])


def reply_html(index: Index, question: str) -> str:
    hits = index.search(question, TOP_K)
    return answer_html(question, hits[:3]) if hits else no_answer_html(question)


def search_phases(index: Index, questions: Sequence[str]) -> dict[str, float]:
    """p50 of search's steps: analyzing the question, scoring 3 fields, picking and building hits."""
    analyze, score, collapse = [], [], []
    for q in questions:
        t0 = time.perf_counter()
        query = analyze_query(q, index.segmenter)
        idfs = index.word_idfs(query)
        t1 = time.perf_counter()
        analyze.append(t1 - t0)
        if query.is_empty or index.known_mass(query, idfs) < MIN_KNOWN_MASS:
            continue
        scores = index.fused_scores(query)
        t2 = time.perf_counter()
        index._collapse(query, scores, TOP_K, idfs)
        t3 = time.perf_counter()
        score.append(t2 - t1)
        collapse.append(t3 - t2)
    return {
        "analyze_p50_ms": percentiles_ms(analyze)[0],
        "fused_scores_p50_ms": percentiles_ms(score)[0] if score else float("nan"),
        "collapse_hits_p50_ms": percentiles_ms(collapse)[0] if collapse else float("nan"),
        "answered_share": len(score) / len(questions),
    }


def rank_bm25_latencies(docs: list[list[str]], work: Workload, ours: Callable[[list[str]], np.ndarray]) -> dict:
    """rank-bm25's BM25Plus full scoring; also how far our word field's scores are from it."""
    from rank_bm25 import BM25Plus

    t = time.perf_counter()
    plus = BM25Plus(docs)
    out = {"rank_bm25_build_s": time.perf_counter() - t}
    probes = [list(w) for w in dict.fromkeys(tuple(w) for w in work.words) if w][:20]
    diffs = [float(np.abs(plus.get_scores(w) - ours(w)).max()) for w in probes]
    out["max_abs_diff_vs_rank_bm25"] = max(diffs, default=float("nan"))
    times = timed_each(lambda i: plus.get_scores(work.words[i]), len(work.questions))
    out["rank_bm25_p50_ms"], out["rank_bm25_p99_ms"] = percentiles_ms(times)
    return out


def bm25s_latencies(docs: list[list[str]], work: Workload) -> dict:
    """bm25s's BM25+ get_scores (its default float32), unknown words dropped as our field drops them."""
    import bm25s

    t = time.perf_counter()
    model = bm25s.BM25(method="bm25+", k1=1.5, b=0.75, delta=1.0)
    model.index([d or [""] for d in docs], show_progress=False)
    out = {"bm25s_build_s": time.perf_counter() - t}
    vocab = model.vocab_dict

    def scores(i: int) -> np.ndarray:
        known = [w for w in work.words[i] if w in vocab]
        return model.get_scores(known) if known else np.zeros(len(docs))

    out["bm25s_p50_ms"], out["bm25s_p99_ms"] = percentiles_ms(timed_each(scores, len(work.questions)))
    return out


def reference_latencies(index: Index, work: Workload) -> dict[str, float]:
    """The two references on our passages' word tokens (cut again here, untimed: the index keeps only codes)."""
    t = time.perf_counter()
    docs = passage_words(index)
    out = {"passage_words_s": time.perf_counter() - t}
    out.update(rank_bm25_latencies(docs, work, word_field_scorer(index)))
    out.update(bm25s_latencies(docs, work))
    return out


def latencies(index: Index, queries: int) -> tuple[dict[str, float], Workload]:
    """search, reply and word-field p50/p99 over the dev questions, after a warm-up pass; the search breakdown."""
    work = workload(index, queries)
    for q in dict.fromkeys(work.questions):
        reply_html(index, q)
    n = len(work.questions)
    word_scores = word_field_scorer(index)
    result: dict[str, float] = {}
    result["search_p50_ms"], result["search_p99_ms"] = percentiles_ms(
        timed_each(lambda i: index.search(work.questions[i], TOP_K), n)
    )
    result["reply_p50_ms"], result["reply_p99_ms"] = percentiles_ms(
        timed_each(lambda i: reply_html(index, work.questions[i]), n)
    )
    result["word_p50_ms"], result["word_p99_ms"] = percentiles_ms(timed_each(lambda i: word_scores(work.words[i]), n))
    try:
        result.update(search_phases(index, work.questions))
    except Exception as exc:  # the breakdown calls Index internals, which may have moved on
        log(f"search breakdown skipped: {exc!r}")
    return result, work


async def serve_child(data_dir: Path, db: Path, spawned_at: float, queries: int) -> dict:
    """Start-up, latencies and serving memory; then (its memory not counted) the SQLite read alone and references."""
    first_question = dev_questions()[-1]
    result: dict[str, float] = {"imports_s": IMPORTS_DONE_AT - spawned_at}
    async with Store(db) as store:
        service = SearchService(store, data_dir)
        t = time.perf_counter()
        if await service.start() is not None:
            raise RuntimeError("the stored index was not used: start() rebuilt it")
        result["load_and_index_s"] = time.perf_counter() - t
        t = time.perf_counter()
        await service.search(first_question, TOP_K)
        result["first_search_s"] = time.perf_counter() - t
        result["startup_s"] = time.time() - spawned_at
        result["startup_rss_mb"] = peak_rss_mb()
        measured, work = latencies(service.index, queries)
        result.update(measured)
        result["serve_rss_mb"] = peak_rss_mb()
        t = time.perf_counter()
        await store.load_index()
        result["sqlite_load_s"] = time.perf_counter() - t
    result.update(reference_latencies(service.index, work))
    result["rss_with_references_mb"] = peak_rss_mb()
    return result


def run_child(args: argparse.Namespace) -> None:
    if args.child == "build":
        result = asyncio.run(build_child(args.data_dir, args.db))
    elif args.child == "change":
        result = asyncio.run(change_child(args.data_dir, args.db))
    elif args.child == "profile":
        result = asyncio.run(profile_child(args.data_dir, args.db))
    else:
        result = asyncio.run(serve_child(args.data_dir, args.db, args.spawned_at, args.queries))
    print(json.dumps(result))


# --------------------------------------------------------------------------- parent


class ChildFailed(RuntimeError):
    pass


def spawn(kind: str, data_dir: Path, db: Path, queries: int, timeout: float) -> dict:
    """Run one child and return the JSON it prints last; ChildFailed on error or timeout."""
    spawned_at = time.time()
    command = [
        sys.executable, str(Path(__file__).resolve()), "--child", kind, "--data-dir", str(data_dir),
        "--db", str(db), "--queries", str(queries), "--spawned-at", repr(spawned_at),
    ]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=PROJECT_ROOT)
    except subprocess.TimeoutExpired:
        raise ChildFailed(f"{kind} took over {timeout:.0f} s (killed)") from None
    if done.returncode != 0:
        raise ChildFailed(f"{kind} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def corpus_dir(size: str, seed: int) -> Path:
    if size == "bundled":
        return BUNDLED_DATA
    from bench.synthetic import default_cache_dir, make_archive, make_corpus

    if size.startswith("archive"):
        return make_archive(int(size.removeprefix("archive")), default_cache_dir(), seed)
    return make_corpus(int(size), default_cache_dir(), seed)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def measure_size(size: str, args: argparse.Namespace) -> dict:
    row: dict = {"size": size}
    t = time.perf_counter()
    data_dir = corpus_dir(size, args.seed)
    log(f"[{size}] corpus ready in {time.perf_counter() - t:.1f} s: {data_dir}")
    with tempfile.TemporaryDirectory(prefix="speechbot-bench-") as tmp:
        db = Path(tmp) / "index.sqlite3"
        for kind in ("build", "serve", "change", *(["profile"] if args.profile else [])):
            t = time.perf_counter()
            target = Path(tmp) / "profiled.sqlite3" if kind == "profile" else db  # serve reads build's store
            try:
                row.update(spawn(kind, data_dir, target, args.queries, args.timeout))
            except ChildFailed as exc:
                row["error"] = str(exc)
                log(f"[{size}] {exc}")
                break
            log(f"[{size}] {kind} child done in {time.perf_counter() - t:.1f} s")
    return row


def fmt(value: float | None, digits: int = 2) -> str:
    if value is None or value != value:
        return "—"
    return f"{value:,.{digits}f}"


def size_label(row: dict) -> str:
    chunks = row.get("chunks")
    label = f"{chunks:,}" if chunks else "?"
    if row["size"] == "bundled":
        return f"bundled ({label})"
    if str(row["size"]).startswith("archive"):
        return f"archive, {row['size'].removeprefix('archive')} files ({label})"
    return label


def ratio(ours: float | None, theirs: float | None) -> str:
    if not ours or not theirs:
        return "—"
    return f"{ours / theirs:.2f}×"


def ratios(row: dict, reference: str) -> str:
    """Our search p50 over the reference's, then our word field's over it."""
    theirs = row.get(reference)
    return f"{ratio(row.get('search_p50_ms'), theirs)} (word {ratio(row.get('word_p50_ms'), theirs)})"


def main_table(rows: list[dict]) -> str:
    head = [
        "size (chunks)", "build s (CPU s)", "add / remove / restore s", "start-up s", "search p50/p99 ms",
        "reply p50/p99 ms", "word-field p50 ms", "rank-bm25 p50 ms", "bm25s p50 ms", "ratio vs rank-bm25",
        "ratio vs bm25s", "peak RSS MB build (+ each worker) / serve",
    ]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for r in rows:
        g = r.get
        cells = [
            size_label(r), f"{fmt(g('build_s'), 1)} ({fmt(g('build_cpu_s'), 1)})",
            f"{fmt(g('add_s'))} / {fmt(g('remove_s'))} / {fmt(g('restore_s'))}", fmt(g("startup_s")),
            f"{fmt(g('search_p50_ms'))} / {fmt(g('search_p99_ms'))}",
            f"{fmt(g('reply_p50_ms'))} / {fmt(g('reply_p99_ms'))}",
            fmt(g("word_p50_ms"), 3), fmt(g("rank_bm25_p50_ms")), fmt(g("bm25s_p50_ms"), 3),
            ratios(r, "rank_bm25_p50_ms"),
            ratios(r, "bm25s_p50_ms"),
            f"{fmt(g('build_rss_mb'), 0)} + {fmt(g('build_worker_rss_mb'), 0)}/worker / {fmt(g('serve_rss_mb'), 0)}",
        ]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def detail_table(rows: list[dict]) -> str:
    head = [
        "size (chunks)", "start-up: imports s", "start() s", "(SQLite read alone s)", "first search s",
        "RSS at start-up MB", "search: analyze p50 ms", "3-field scores p50 ms", "collapse + hits p50 ms", "answered",
        "rank-bm25 / bm25s index s", "|ours − rank-bm25|", "store MB", "snapshot after a change s",
        "RSS during changes MB",
    ]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for r in rows:
        g = r.get
        cells = [
            size_label(r), fmt(g("imports_s")), fmt(g("load_and_index_s")), fmt(g("sqlite_load_s")),
            fmt(g("first_search_s"), 3), fmt(g("startup_rss_mb"), 0), fmt(g("analyze_p50_ms")),
            fmt(g("fused_scores_p50_ms")), fmt(g("collapse_hits_p50_ms")), f"{g('answered_share', 0):.0%}",
            f"{fmt(g('rank_bm25_build_s'), 1)} / {fmt(g('bm25s_build_s'), 1)}",
            f"{g('max_abs_diff_vs_rank_bm25', float('nan')):.1e}", fmt(g("store_mb"), 0), fmt(g("snapshot_s")),
            fmt(g("change_rss_mb"), 0),
        ]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def print_report(rows: list[dict], queries: int) -> None:
    print(
        f"\nRetrieval benchmark ({queries} timed lookups per column, dev questions cycled; "
        f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]})\n"
    )
    print(main_table(rows))
    print("\nWhere the time goes\n")
    print(detail_table(rows))
    for r in rows:
        if "error" in r:
            print(f"\n{r['size']}: {r['error']}")
        if "phases" in r:
            print(f"\nBuild profile, {size_label(r)} chunks (under cProfile, so slower than the build column):")
            for phase, seconds in r["phases"].items():
                print(f"  {seconds:8.1f} s  {phase}")
            print(r["profile"]["tottime"])
            print(r["profile"]["cumulative"])


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--sizes",
        default="bundled,10000,100000,archive2000",
        help="comma-separated: bundled, passage counts, and/or archiveN (N files of an archive's shape)",
    )
    parser.add_argument("--queries", type=int, default=200, help="timed lookups per measurement (dev questions cycled)")
    parser.add_argument("--seed", type=int, default=7, help="synthetic corpus seed")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds before a child is killed")
    parser.add_argument("--profile", action="store_true", help="also profile the build (cProfile) per size")
    parser.add_argument("--child", choices=("build", "serve", "change", "profile"), help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--spawned-at", type=float, default=SPAWNED_IMPORTING_AT, help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.child:
        run_child(args)
        return
    rows = []
    for size in (s.strip() for s in args.sizes.split(",") if s.strip()):
        t = time.perf_counter()
        rows.append(measure_size(size, args))
        log(f"[{size}] measured in {time.perf_counter() - t:.1f} s")
    print_report(rows, args.queries)


if __name__ == "__main__":
    main()
