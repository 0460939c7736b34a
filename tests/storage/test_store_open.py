"""Opening the store: only a file SQLite calls corrupt is moved aside; a busy or unopenable one never is."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bot.records import Records, hash_user
from retrieval.service import SearchService
from retrieval.storage.store import SCHEMA_VERSION, Store, StoreUnavailable
from tests.conftest import DATA_DIR

ROWS = 100


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once: the index of one file of two speeches and ROWS committed query-log rows."""
    folder = tmp_path_factory.mktemp("built")
    (folder / "data").mkdir()
    shutil.copy(DATA_DIR / "004_342c7815cd97eb2a.txt", folder / "data")

    async def build() -> None:
        async with Store(folder / "store.sqlite3") as store, Records(store.path) as records:
            await SearchService(store, folder / "data").start()
            for n in range(ROWS):
                await records.log_question("private", hash_user(n, "salt"), f"k{n}", f"问题{n}", [], 1.0)

    asyncio.run(build())
    return folder


@pytest.fixture
def store_with_rows(built: Path, tmp_path: Path) -> Path:
    """A healthy store of our own (a copy of the built one, its data folder beside it)."""
    shutil.copytree(built / "data", tmp_path / "data")
    shutil.copy(built / "store.sqlite3", tmp_path / "store.sqlite3")
    return tmp_path / "store.sqlite3"


@contextmanager
def write_lock_held(db: Path) -> Iterator[sqlite3.Connection]:
    """Another process's writer (a shell reindex or add): BEGIN IMMEDIATE, an uncommitted row, held."""
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute(
        "INSERT INTO query_log (at, chat_type, user_hash, key, question, result_ids, latency_ms) "
        "VALUES (0, 'private', 'x', 'x', 'uncommitted', '[]', 0)"
    )
    try:
        yield other
    finally:
        other.execute("ROLLBACK")
        other.close()


def committed_rows(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT COUNT(*) FROM query_log").fetchone()[0]


def nothing_moved(db: Path) -> bool:
    return not any(".corrupt-" in p.name for p in db.parent.iterdir())


async def test_a_store_locked_by_another_writer_opens_and_serves(store_with_rows: Path) -> None:
    db = store_with_rows
    with write_lock_held(db):
        async with Store(db, busy_timeout_ms=500) as store:  # the old code waited out the timeout, then moved it
            service = SearchService(store, db.parent / "data")
            assert await service.start() is None  # loaded from the store, not rebuilt
            assert (await service.search("金华市质量强镇试点", 1)).hits
    assert committed_rows(db) == ROWS and nothing_moved(db)


async def test_a_store_that_must_be_written_while_locked_says_busy_and_keeps_its_rows(store_with_rows: Path) -> None:
    db = store_with_rows
    with sqlite3.connect(db) as conn:  # an older schema: opening must drop and recreate the index tables
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION - 1}")
    with write_lock_held(db), pytest.raises(StoreUnavailable) as busy:
        await Store(db, busy_timeout_ms=200).open()
    assert "busy" in str(busy.value) and "\n" not in str(busy.value)
    assert committed_rows(db) == ROWS and nothing_moved(db)
    assert Path(f"{db}-wal").exists() or not Path(f"{db}-shm").exists()  # WAL files never deleted by hand


async def test_a_store_that_cannot_be_opened_is_left_where_it_is(tmp_path: Path) -> None:
    db = tmp_path / "store.sqlite3"
    db.mkdir()  # SQLITE_CANTOPEN: the old code took it for a corrupt file and moved it aside
    with pytest.raises(StoreUnavailable, match="cannot open store"):
        await Store(db).open()
    assert db.is_dir() and nothing_moved(db)
    # aiosqlite stops the worker thread of a failed connect without waiting; let it finish on this loop.
    workers = [t for t in threading.enumerate() if "_connection_worker_thread" in t.name]
    await asyncio.gather(*(asyncio.to_thread(t.join, 5) for t in workers))


async def test_a_corrupt_store_goes_aside_with_its_wal_files(store_with_rows: Path) -> None:
    db = store_with_rows
    wal = Path(f"{db}-wal")
    wal.write_bytes(b"")  # a WAL file left by the damaged store must not be applied to the new one
    db.write_bytes(b"not a database at all" * 100)
    async with Store(db) as store:
        assert not await store.has_index()
    aside = [p.name for p in db.parent.iterdir() if ".corrupt-" in p.name]
    assert len(aside) == 2 and any(n.endswith("-wal") for n in aside)


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        ("DELETE FROM chunks", "no passages"),
        ("DELETE FROM speeches", "no speeches"),
        ("DELETE FROM speeches WHERE file_position = 0", "passages of missing speeches"),
        ("DELETE FROM chunks WHERE speech_id = (SELECT id FROM speeches LIMIT 1)", "passages stored"),
        ("UPDATE meta SET value = '3' WHERE key = 'passages'", "recorded"),
    ],
    ids=["chunks-emptied", "speeches-emptied", "dangling-speech-ids", "speech-lost-its-chunks", "count-off"],
)
async def test_a_logically_damaged_index_is_rebuilt_at_start_up_with_a_log_line(
    store_with_rows: Path, caplog: pytest.LogCaptureFixture, damage: str, says: str
) -> None:
    db = store_with_rows
    with sqlite3.connect(db) as conn:
        conn.execute(damage)
    with caplog.at_level("WARNING", logger="retrieval.service"):
        async with Store(db) as store:
            service = SearchService(store, db.parent / "data")
            report = await service.start()
            hits = (await service.search("金华市质量强镇试点", 3)).hits
    assert report is not None and report.speeches == 2  # rebuilt from the data folder
    assert hits and hits[0].speech_id in service.index.speeches
    assert "stored index inconsistent" in caplog.text and says in caplog.text
    assert committed_rows(db) == ROWS


async def test_a_store_with_damaged_pages_is_moved_aside_and_rebuilt(
    store_with_rows: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = store_with_rows
    data = bytearray(db.read_bytes())
    data[8192:] = bytes((i * 7) % 251 for i in range(len(data) - 8192))  # SQLite's header kept, pages scribbled
    db.write_bytes(bytes(data))
    with caplog.at_level("WARNING", logger="retrieval.storage.store"):
        async with Store(db) as store:
            service = SearchService(store, db.parent / "data")
            assert await service.start() is not None  # rebuilt
            assert len(service.index.speeches) == 2
    assert "unreadable" in caplog.text
    assert sum(".corrupt-" in p.name for p in db.parent.iterdir()) == 1


@pytest.mark.parametrize(
    "damage",
    [
        "UPDATE meta SET value = 'x' WHERE key = 'generation'",
        "UPDATE meta SET value = '' WHERE key = 'lexicon_total'",
        "UPDATE meta SET value = '1.5e3' WHERE key = 'passages'",
    ],
    ids=["generation", "lexicon-total", "passages"],
)
async def test_a_store_whose_values_do_not_parse_is_moved_aside_and_rebuilt(
    store_with_rows: Path, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    """One bad value made every command fail (`invalid literal for int()`), reindex included."""
    db = store_with_rows
    with sqlite3.connect(db) as conn:
        conn.execute(damage)
    with caplog.at_level("WARNING", logger="retrieval.storage.store"):
        async with Store(db) as store:
            service = SearchService(store, db.parent / "data")
            assert await service.start() is not None  # rebuilt
            assert (await service.search("金华市质量强镇试点", 1)).hits
            await service.reindex()
    (line,) = [r.getMessage() for r in caplog.records if r.name == "retrieval.storage.store"]
    assert "do not parse" in line and "moved it to" in line
    assert sum(p.name.split(".corrupt-")[-1].isdecimal() for p in db.parent.iterdir()) == 1  # with its -wal, -shm
