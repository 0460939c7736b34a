"""The query log: kept private, pruned after the retention period, exported for analysis."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import os
import re
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from bot.cli import main
from bot.records import Records, hash_user
from bot.settings import Settings
from retrieval.storage.store import Store
from tests.bot.conftest import USER_ID, bot_session


async def test_old_questions_are_pruned_and_recent_ones_kept(tmp_path: Path) -> None:
    async with Store(tmp_path / "s.sqlite3") as store, Records(store.path) as records:
        await records.log_question("private", hash_user(42, "salt"), "k1", "旧问题", [], 3.0)
        await records.log_question("private", hash_user(42, "salt"), "k2", "新问题", ["000-1:5"], 2.0)
        await records.db.execute("UPDATE query_log SET at = ? WHERE question = '旧问题'", (time.time() - 91 * 86400,))
        await records.db.commit()
        assert await records.prune(90) == 1
        assert [row[3] for row in await records.log_rows()] == ["新问题"]


def test_user_hashes_are_salted_and_never_unsalted() -> None:
    unsalted = hashlib.sha256(b":42").hexdigest()[:16]
    assert hash_user(42, "a") != hash_user(42, "b")
    assert unsalted not in (hash_user(42, "a"), hash_user(42, "b"))
    assert hash_user(42, "a") == hash_user(42, "a") and len(hash_user(42, "a")) == 16
    with pytest.raises(ValueError, match="salt"):
        hash_user(42, "")


async def test_without_user_hash_salt_a_random_salt_is_made_once_and_kept(settings: Settings) -> None:
    settings = replace(settings, user_hash_salt="")

    async def ask_once() -> str:
        async with bot_session(settings) as harness:
            chat = harness.server.private_chat(USER_ID)
            await harness.server.ask(chat, chat, "区长质量奖的奖金是多少")
            salt = harness.app.bot_data.services.settings.user_hash_salt
        with sqlite3.connect(settings.db_path) as conn:
            hashes = [r[0] for r in conn.execute("SELECT user_hash FROM query_log ORDER BY id")]
        assert hashes[-1] == hash_user(USER_ID, salt)
        return hashes[-1]

    first, second = await ask_once(), await ask_once()
    assert first == second  # the same user is the same hash after a restart
    assert first != hashlib.sha256(f":{USER_ID}".encode()).hexdigest()[:16]
    with sqlite3.connect(settings.db_path) as conn:
        (salt,) = conn.execute("SELECT value FROM secrets WHERE name = 'user_hash_salt'").fetchone()
    assert re.fullmatch(r"[0-9a-f]{32}", salt)


@pytest.mark.slow  # the command in a subprocess
async def test_export_log_writes_csv(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite3"
    async with Store(db), Records(db) as records:
        await records.log_question("group", hash_user(7, "salt"), "k", "怎么抓食品安全", ["001-10:14"], 4.5)
        await records.log_question("private", hash_user(7, "salt"), "k2", "红烧肉怎么做", [], 6.9026179999127635)
    env = {**os.environ, "SPEECHBOT_DB": str(db)}
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "export-log"], capture_output=True, text=True, env=env, timeout=60, check=True
    )
    rows = list(csv.reader(io.StringIO(done.stdout)))
    assert rows[0] == ["time", "chat_type", "user_hash", "question", "result_ids", "latency_ms", "feedback"]
    assert [r[3] for r in rows[1:]] == ["怎么抓食品安全", "红烧肉怎么做"] and rows[2][4] == "[]"
    assert [r[5] for r in rows[1:]] == ["4.5", "6.9"]  # milliseconds to a tenth: what the timing means


async def test_export_log_only_reads_the_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "s.sqlite3"
    async with Store(db), Records(db) as records:
        await records.log_question("private", hash_user(7, "salt"), "k", "怎么抓食品安全", [], 1.0)
    with sqlite3.connect(db) as conn:  # an older index schema: a writer would drop the index tables
        conn.execute("PRAGMA user_version=1")
        conn.execute("CREATE TABLE marker (x)")
    before = db.read_bytes()
    assert await asyncio.to_thread(main, ["--db", str(db), "export-log"]) == 0
    assert "怎么抓食品安全" in capsys.readouterr().out
    assert db.read_bytes() == before

    broken = tmp_path / "broken.sqlite3"
    broken.write_bytes(b"not a database at all" * 100)
    assert await asyncio.to_thread(main, ["--db", str(broken), "export-log"]) == 1
    assert capsys.readouterr().err.startswith("speechbot: cannot read the query log")
    assert sorted(p.name for p in tmp_path.iterdir() if "broken" in p.name) == ["broken.sqlite3"]  # not moved
