"""Reading the store into the page cache before its check keeps this process's SQLite locks: opening and
closing the file here would have dropped them (POSIX record locks go with any close of the file), and
another process could then take the write lock beside a writer."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from retrieval.storage.store import Store

PROBE = """
import sqlite3, sys
probe = sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None)
try:
    probe.execute("BEGIN IMMEDIATE")
except sqlite3.OperationalError:
    print("locked")
else:
    print("free")
"""


def other_process_sees(db: Path) -> str:
    return subprocess.run(
        [sys.executable, "-c", PROBE, str(db)], capture_output=True, text=True, check=True
    ).stdout.strip()


async def test_a_writer_keeps_its_lock_while_the_store_is_read_in_order(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite3"
    async with Store(db) as store:
        writer = sqlite3.connect(db, isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")
        assert other_process_sees(db) == "locked"
        await store.read_in_order()
        # Twice: a process closing its connection takes the file's exclusive lock to learn whether it was
        # the last one, and if it gets it, checkpoints and deletes the WAL and its index, the write lock too.
        assert [other_process_sees(db), other_process_sees(db)] == ["locked", "locked"]
        writer.execute("ROLLBACK")
        writer.close()
    assert other_process_sees(db) == "free"
