"""The store through a real SQLite file: what was built comes back, and a failed rebuild changes nothing."""

from __future__ import annotations

import asyncio
import shutil
import threading
from pathlib import Path

import pytest

from retrieval.service import ReindexBusy, ReindexError, SearchService
from retrieval.storage.store import Store

DATA_DIR = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture
def small_data(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    for name in ("000_7fe1eca08c9865c2.txt", "003_43aee00df7e627f5.txt"):
        shutil.copy(DATA_DIR / name, folder)
    return folder


async def test_a_stored_index_answers_like_the_one_built(tmp_path: Path, small_data: Path) -> None:
    db = tmp_path / "store.sqlite3"
    async with Store(db) as store:
        service = SearchService(store, small_data)
        report = await service.start()
        assert report is not None and report.speeches == 2 and report.problems == []
        built = (await service.search("区长质量奖的奖金是多少", 5)).hits

    async with Store(db) as store:
        service = SearchService(store, small_data)
        assert await service.start() is None  # loaded, not rebuilt
        loaded = (await service.search("区长质量奖的奖金是多少", 5)).hits
    assert loaded == built and "50万" in loaded[0].best_sentence


async def test_a_failed_reindex_keeps_the_old_index_serving(tmp_path: Path, small_data: Path) -> None:
    db = tmp_path / "store.sqlite3"
    async with Store(db) as store:
        service = SearchService(store, small_data)
        await service.start()
        for path in small_data.glob("*.txt"):
            path.unlink()
        (small_data / "broken.txt").write_bytes(b"\x00\xff binary")
        with pytest.raises(ReindexError, match="broken.txt: binary"):
            await service.reindex()
        assert (await service.search("区长质量奖的奖金是多少", 1)).hits[0].speech_id == "000-1"

    async with Store(db) as store:  # and the file on disk still holds the old index
        rows = await store.speech_rows()
    assert [r[0] for r in rows] == ["000-1", "003-1"]


async def test_a_second_reindex_while_one_runs_is_told_so(tmp_path: Path, small_data: Path) -> None:
    async with Store(tmp_path / "store.sqlite3") as store:
        service = SearchService(store, small_data)
        await service.start()
        building, may_finish = threading.Event(), threading.Event()

        def progress(done: int, total: int) -> None:  # called from the build thread: it holds the change there
            building.set()
            may_finish.wait(60)

        task = asyncio.create_task(service.reindex(progress=progress))
        assert await asyncio.to_thread(building.wait, 60)
        try:
            with pytest.raises(ReindexBusy):
                await service.reindex()
        finally:
            may_finish.set()
        report = await task
        assert report.speeches == 2


async def test_a_store_from_an_older_schema_is_rebuilt(tmp_path: Path, small_data: Path) -> None:
    db = tmp_path / "store.sqlite3"
    async with Store(db) as store:
        await SearchService(store, small_data).start()
        await store.db.execute("PRAGMA user_version=0")
        await store.db.commit()
    async with Store(db) as store:
        assert not await store.has_index()
        assert await SearchService(store, small_data).start() is not None


async def test_vectors_round_trip_as_float16(tmp_path: Path) -> None:
    import numpy as np

    vectors = {-(2**63): np.linspace(-1, 1, 8, dtype=np.float32), 2**63 - 1: np.full(8, 1 / 3, np.float32)}
    async with Store(tmp_path / "store.sqlite3") as store:
        await store.add_vectors("m", vectors)
    async with Store(tmp_path / "store.sqlite3") as store:
        back = await store.vectors("m")
    assert back.keys() == vectors.keys()
    for key, vector in vectors.items():
        assert back[key].dtype == np.float16 and np.array_equal(back[key], vector.astype(np.float16))


async def test_a_store_of_float32_vectors_is_carried_over_to_float16(tmp_path: Path) -> None:
    import sqlite3

    import numpy as np

    db = tmp_path / "store.sqlite3"
    async with Store(db):
        pass
    old = np.arange(4, dtype=np.float32) / 7
    with sqlite3.connect(db) as raw:  # as a store written before vectors were halved
        raw.execute("CREATE TABLE vectors (model TEXT, key INTEGER, vector BLOB, PRIMARY KEY (model, key))")
        raw.execute("INSERT INTO vectors VALUES ('m', 5, ?)", (old.tobytes(),))
    async with Store(db) as store:
        assert np.array_equal((await store.vectors("m"))[5], old.astype(np.float16))
    with sqlite3.connect(db) as raw:
        assert not raw.execute("SELECT 1 FROM sqlite_master WHERE name = 'vectors'").fetchall()
