"""Load on the bot: N simulated users asking dev questions at once through the local Bot API server.

    python bench/load.py                       # 100 users × 10 questions: answered, lost, p50/p99
    python bench/load.py --users 1,10,100      # the throughput table at 1, 10 and 100 users

The real bot (`bot.harness.local.running_bot`: python-telegram-bot polling, the
handlers, SQLite query log) answers on the bundled corpus, its index built once
into a temporary store (each run starts from a fresh copy of it). Each user asks
`--questions` dev questions (tests/data/dev.jsonl, off-topic ones included) one
after another, waiting for each reply (`server.ask`); the users run concurrently.
A question with no reply within 30 s counts as lost.

Telegram's flood limits are switched off (`AIORateLimiter(overall_max_rate=0,
group_max_rate=0)`: 0 disables a limit in python-telegram-bot v22) and the
per-user question limit is set out of reach, so nothing here waits on purpose.
The local server, the simulated users and the bot share one process and event
loop, so the numbers are a floor for the bot alone. Bot start-up is not timed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
sys.path[:] = [str(PROJECT_ROOT)] + [p for p in sys.path if Path(p or ".").resolve() not in (BENCH_DIR, PROJECT_ROOT)]

import numpy as np  # noqa: E402
from telegram.ext import AIORateLimiter  # noqa: E402

from bot.harness.local import local_server, running_bot  # noqa: E402
from bot.harness.server import Chat, FakeTelegramServer  # noqa: E402
from bot.settings import Settings  # noqa: E402
from retrieval.service import SearchService  # noqa: E402
from retrieval.storage.store import Store  # noqa: E402

DATA_DIR = PROJECT_ROOT / "data"
DEV_QUESTIONS = PROJECT_ROOT / "tests" / "data" / "dev.jsonl"
REPLY_TIMEOUT = 30.0
FIRST_USER_ID = 100_000


@dataclass
class RunResult:
    users: int
    questions: int
    wall_s: float
    latencies: list[float] = field(default_factory=list)  # seconds, answered questions only
    lost: int = 0
    refused_calls: int = 0

    @property
    def answered(self) -> int:
        return len(self.latencies)


def dev_questions() -> list[str]:
    with DEV_QUESTIONS.open(encoding="utf-8") as f:
        return [json.loads(line)["question"] for line in f if line.strip()]


async def build_store(db: Path) -> None:
    async with Store(db) as store:
        await SearchService(store, DATA_DIR).start()


def bench_settings(db: Path) -> Settings:
    return Settings(data_dir=DATA_DIR, db_path=db, questions_per_minute=10**6, admin_ids=frozenset())


async def one_user(server: FakeTelegramServer, chat: Chat, questions: list[str], result: RunResult) -> None:
    """Ask each question in turn, waiting for the reply before the next."""
    for question in questions:
        start = time.perf_counter()
        try:
            await server.ask(chat, chat, question, timeout=REPLY_TIMEOUT)
        except TimeoutError:
            result.lost += 1
            continue
        result.latencies.append(time.perf_counter() - start)


def questions_for(user: int, count: int, pool: list[str]) -> list[str]:
    """Each user starts at a different place in the dev set, so users do not ask in lockstep."""
    return [pool[(user * count + k) % len(pool)] for k in range(count)]


async def run(users: int, per_user: int, built_db: Path, pool: list[str]) -> RunResult:
    with tempfile.TemporaryDirectory(prefix="speechbot-load-") as tmp:
        db = Path(tmp) / "speechbot.sqlite3"
        shutil.copy(built_db, db)
        limiter = AIORateLimiter(overall_max_rate=0, group_max_rate=0)
        async with local_server() as server, running_bot(bench_settings(db), server, rate_limiter=limiter):
            warmup = server.private_chat(FIRST_USER_ID - 1)
            await server.ask(warmup, warmup, pool[0], timeout=REPLY_TIMEOUT)
            chats = [server.private_chat(FIRST_USER_ID + u) for u in range(users)]
            result = RunResult(users, users * per_user, 0.0)
            start = time.perf_counter()
            await asyncio.gather(
                *(one_user(server, chat, questions_for(u, per_user, pool), result) for u, chat in enumerate(chats))
            )
            result.wall_s = time.perf_counter() - start
            result.refused_calls = len(server.errors)
    return result


def table(results: list[RunResult]) -> str:
    head = ["users", "questions", "answered", "lost", "questions/s", "reply p50 ms", "reply p99 ms", "wall s"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for r in results:
        ms = np.asarray(r.latencies) * 1000
        p50, p99 = (f"{np.percentile(ms, q):,.1f}" for q in (50, 99)) if r.latencies else ("—", "—")
        rate = r.answered / r.wall_s if r.wall_s else 0.0
        cells = [r.users, r.questions, r.answered, r.lost, f"{rate:,.1f}", p50, p99, f"{r.wall_s:,.1f}"]
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    return "\n".join(lines)


async def main_async(user_counts: list[int], per_user: int) -> list[RunResult]:
    pool = dev_questions()
    with tempfile.TemporaryDirectory(prefix="speechbot-load-store-") as tmp:
        built = Path(tmp) / "built.sqlite3"
        start = time.perf_counter()
        await build_store(built)
        print(f"store built in {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
        results = []
        for users in user_counts:
            results.append(await run(users, per_user, built, pool))
            r = results[-1]
            log = f"{users} users: {r.answered}/{r.questions} answered in {r.wall_s:.1f} s"
            print(log, file=sys.stderr, flush=True)
    return results


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", default="100", help="comma-separated concurrent user counts (one run each)")
    parser.add_argument("--questions", type=int, default=10, help="questions each user asks, one after another")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    user_counts = [int(u) for u in args.users.split(",") if u.strip()]
    started = time.perf_counter()
    results = asyncio.run(main_async(user_counts, args.questions))
    print(
        f"\nBot throughput on the bundled corpus ({args.questions} questions per user, local Bot API server; "
        f"{time.perf_counter() - started:.0f} s in all)\n"
    )
    print(table(results))
    refused = sum(r.refused_calls for r in results)
    if refused:
        print(f"\nThe local server refused {refused} bot calls (Telegram would have too).")


if __name__ == "__main__":
    main()
