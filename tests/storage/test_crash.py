"""A rebuild that fails or is killed inside its write transaction leaves the old index, whole.

Faults are injected where they must happen: an SQLite trigger in the store's own file aborts (or slows) the
transaction at a chosen passage row, so no timing decides what is tested.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from retrieval.ingest.folder import REMOVED_DIR
from retrieval.service import ReindexError, SearchService
from retrieval.storage.store import Store
from tests.conftest import DATA_DIR

OLD_FILE = "003_43aee00df7e627f5.txt"
NEW_FILE = "004_342c7815cd97eb2a.txt"
SPEECH = (
    "全县计量工作会议讲话\n同志们：\n今年我们要在全县推广智慧计量监管平台，对加油机、电子秤实施远程在线监测，"
    "计划年内接入计量器具三千二百台，实现强制检定全覆盖。\n"
)


def state(db: Path) -> tuple[list[str], int, int]:
    """Speech ids, passages, and passages whose speech is missing, as a fresh reader sees them."""
    with sqlite3.connect(db) as conn:
        speeches = [r[0] for r in conn.execute("SELECT id FROM speeches ORDER BY id")]
        chunks = conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        orphans = conn.execute(
            "SELECT COUNT(*) FROM chunks WHERE speech_id NOT IN (SELECT id FROM speeches)"
        ).fetchone()[0]
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    return speeches, chunks, orphans


def fail_at_passage(db: Path, row: int) -> None:
    """The next change's transaction aborts when it inserts passage `row` (from 1) of a speech."""
    inject_fault(db, f"BEFORE INSERT ON chunks WHEN NEW.ordinal = {row}")


def fail_at_deleting_passages(db: Path) -> None:
    """The next change's transaction aborts when it deletes a passage (a file's removal, which inserts none)."""
    inject_fault(db, "BEFORE DELETE ON chunks")


def inject_fault(db: Path, when: str) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute(f"CREATE TRIGGER injected_fault {when} BEGIN SELECT RAISE(ABORT, 'injected fault'); END")


@pytest.fixture
def corpus(tmp_path: Path) -> tuple[Path, Path]:
    """A data folder of one file and a store built from it."""
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(DATA_DIR / OLD_FILE, data)
    db = tmp_path / "store.sqlite3"

    async def build() -> None:
        async with Store(db) as store:
            await SearchService(store, data).start()

    asyncio.run(build())
    return data, db


async def test_a_rebuild_failing_inside_its_transaction_keeps_the_old_index(corpus: tuple[Path, Path]) -> None:
    data, db = corpus
    old = state(db)
    shutil.copy(DATA_DIR / NEW_FILE, data)
    fail_at_passage(db, 5)
    async with Store(db) as store:
        service = SearchService(store, data)
        await service.start()
        with pytest.raises(ReindexError, match="injected fault"):
            await service.reindex()
        assert sorted(service.index.speeches) == old[0]  # still serving the old one
    assert state(db) == old


async def test_a_failed_rebuild_in_add_leaves_the_data_folder_as_it_was(corpus: tuple[Path, Path]) -> None:
    data, db = corpus
    old, files = state(db), sorted(p.name for p in data.iterdir())
    fail_at_passage(db, 1)
    async with Store(db) as store:
        service = SearchService(store, data)
        await service.start()
        with pytest.raises(ReindexError, match="injected fault"):
            await service.add_documents([("计量讲话.txt", SPEECH.encode())], 100_000)
    assert sorted(p.name for p in data.iterdir()) == files and state(db) == old


async def test_a_failed_rebuild_in_remove_and_restore_puts_the_file_back(corpus: tuple[Path, Path]) -> None:
    data, db = corpus
    shutil.copy(DATA_DIR / NEW_FILE, data)
    async with Store(db) as store:
        service = SearchService(store, data)
        await service.reindex()
        old = state(db)
        fail_at_deleting_passages(db)
        with pytest.raises(ReindexError, match="injected fault"):
            await service.remove_file_of("003-1")
        assert (data / OLD_FILE).is_file() and not (data / REMOVED_DIR / OLD_FILE).exists()
        assert state(db) == old

        with sqlite3.connect(db) as conn:
            conn.execute("DROP TRIGGER injected_fault")
        await service.remove_file_of("003-1")
        fail_at_passage(db, 1)
        with pytest.raises(ReindexError, match="injected fault"):
            await service.restore_file(OLD_FILE)
        assert (data / REMOVED_DIR / OLD_FILE).is_file() and not (data / OLD_FILE).exists()
        await service.close()


def slow_transaction(db: Path) -> None:
    """The next rebuild holds its write transaction for about a second, at its first passage row."""
    with sqlite3.connect(db) as conn:
        conn.execute(
            "CREATE TRIGGER slow_write AFTER INSERT ON chunks WHEN NEW.ordinal = 1 BEGIN "
            "SELECT COUNT(*) FROM (WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n "
            "WHERE x < 3000000) SELECT x FROM n); END"
        )


def writer_is_inside_its_transaction(db: Path) -> bool:
    """True while another connection holds the write lock (the reindex between BEGIN IMMEDIATE and COMMIT)."""
    with sqlite3.connect(db, timeout=0, isolation_level=None) as probe:
        try:
            probe.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:
            return True
        probe.execute("ROLLBACK")
        return False


@pytest.mark.slow
def test_a_reindex_killed_inside_its_transaction_leaves_the_old_index(corpus: tuple[Path, Path]) -> None:
    data, db = corpus
    old = state(db)
    shutil.copy(DATA_DIR / NEW_FILE, data)
    slow_transaction(db)
    env = {**os.environ, "SPEECHBOT_DB": str(db), "SPEECHBOT_DATA_DIR": str(data)}
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "reindex"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    try:
        while not writer_is_inside_its_transaction(db):  # the marker: the write lock taken
            assert process.poll() is None, "the reindex ended before its write transaction was seen"
            assert time.monotonic() < deadline, "the reindex never took the write lock"
            time.sleep(0.005)  # a polling interval, not a guess at when the write happens
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    assert state(db) == old
