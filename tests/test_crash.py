"""A reindex killed with SIGKILL leaves a complete index behind, old or new, never a mix."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from retrieval.service import SearchService
from retrieval.store import Store
from tests.conftest import DATA_DIR


def counts(db: Path) -> tuple[int, int, int]:
    """Speeches, chunks, and chunks whose speech is missing, as a fresh reader sees them."""
    with sqlite3.connect(db) as conn:
        speeches = conn.execute("SELECT COUNT(*) FROM speeches").fetchone()[0]
        chunks = conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        orphans = conn.execute(
            "SELECT COUNT(*) FROM chunks WHERE speech_id NOT IN (SELECT id FROM speeches)"
        ).fetchone()[0]
    return speeches, chunks, orphans


def reindex(db: Path, data: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SPEECHBOT_DB": str(db), "SPEECHBOT_DATA_DIR": str(data)}
    return subprocess.Popen([sys.executable, "-m", "bot.cli", "reindex"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.mark.parametrize("kill_after", [1.0, 2.3, 2.6, 4.0])  # before, during and after the build
def test_a_killed_reindex_leaves_the_old_or_the_new_index(tmp_path: Path, kill_after: float) -> None:
    data, db = tmp_path / "data", tmp_path / "store.sqlite3"
    data.mkdir()
    shutil.copy(DATA_DIR / "003_43aee00df7e627f5.txt", data)
    assert reindex(db, data).wait(timeout=120) == 0
    old = counts(db)

    for path in DATA_DIR.glob("*.txt"):  # the new corpus is larger, so its build takes a while
        shutil.copy(path, data / f"new-{path.name}")
    process = reindex(db, data)
    time.sleep(kill_after)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)

    after = counts(db)
    assert after[2] == 0
    assert after == old or after[0] == 26, (old, after)


def damage_pages(db: Path) -> None:
    """Keep SQLite's header, scribble over the pages behind it."""
    data = bytearray(db.read_bytes())
    data[8192:] = bytes((i * 7) % 251 for i in range(len(data) - 8192))
    db.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["header", "pages"])
def test_a_corrupt_store_is_moved_aside_and_rebuilt(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    db = tmp_path / "store.sqlite3"
    if damage == "header":
        db.write_bytes(b"not a database at all" * 100)
    else:
        data = tmp_path / "data"
        data.mkdir()
        shutil.copy(DATA_DIR / "003_43aee00df7e627f5.txt", data)
        assert reindex(db, data).wait(timeout=120) == 0
        damage_pages(db)

    async def start() -> int:
        async with Store(db) as store:
            service = SearchService(store, DATA_DIR)
            await service.start()
            return len(service.index.speeches)

    with caplog.at_level(logging.WARNING, logger="retrieval.store"):
        assert asyncio.run(start()) == 25
    assert "unreadable" in caplog.text
    assert [p.name.startswith("store.sqlite3.corrupt-") for p in tmp_path.iterdir()].count(True) == 1
