"""Folder and store change as one transaction: a full disk, a crash at any step or a second writer leaves
them agreeing, and nothing an admin added is lost."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from retrieval.ingest.corpus import corpus_files
from retrieval.service import ReindexBusy, ReindexError, SearchService
from retrieval.storage.lock import ChangeLock
from retrieval.storage.store import Store
from tests.conftest import DATA_DIR

ROOT = Path(__file__).resolve().parents[2]
SMALL = ("000_7fe1eca08c9865c2.txt", "003_43aee00df7e627f5.txt")
NEW_SPEECH = (
    "全县计量工作会议讲话\n同志们：\n"
    "今年我们要在全县推广智慧计量监管平台，对加油机、电子秤实施远程在线监测，"
    "计划年内接入计量器具三千二百台，实现强制检定全覆盖。\n"
).encode()
OTHER_SPEECH = (
    "全县标准化工作会议讲话\n同志们：\n"
    "今年我们要围绕特色农业制定地方标准十二项，组织企业参与团体标准建设，"
    "推动标准化示范区建设取得新进展，让标准成为企业走向市场的通行证。\n"
).encode()


def small_corpus(folder: Path) -> Path:
    folder.mkdir()
    for name in SMALL:
        shutil.copy(DATA_DIR / name, folder)
    return folder


def listing(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


async def stored_files(db: Path) -> set[str]:
    async with Store(db) as store:
        return {source for _, _, source in await store.speech_rows()}


async def assert_agree(data: Path, db: Path) -> None:
    """What a fresh process serves is exactly the folder's files, and no staged file is left behind."""
    async with Store(db) as store:
        service = SearchService(store, data)
        assert await service.start() is None  # the stored index is sound: no rebuild needed
        served = {s.source_file for s in service.index.speeches.values()}
    assert served == {p.name for p in corpus_files(data)}
    assert not [p for p in os.listdir(data) if p.startswith(".")]


def failing_at(call: str, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """os.write or os.fsync fails with ENOSPC for files in `folder` (a full disk; a delayed-allocation file
    system reports it at fsync), and only there: the event loop's own writes go through."""
    real = getattr(os, call)

    def full(fd: int, *args: object) -> object:
        if os.readlink(f"/proc/self/fd/{fd}").startswith(str(folder)):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd, *args)

    monkeypatch.setattr(os, call, full)


@pytest.mark.parametrize("call", ["write", "fsync"])
async def test_a_full_disk_while_adding_leaves_no_truncated_speech(
    tmp_path: Path, call: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = small_corpus(tmp_path / "data")
    async with Store(tmp_path / "s.sqlite3") as store:
        service = SearchService(store, data)
        await service.start()
        before, generation = listing(data), await store.generation()
        failing_at(call, data, monkeypatch)
        with pytest.raises(ReindexError, match="No space left on device"):
            await service.add_documents([("new.txt", NEW_SPEECH)], 1 << 20)
        monkeypatch.undo()
        assert listing(data) == before and await store.generation() == generation
        assert "new.txt" not in {s.source_file for s in service.index.speeches.values()}

        await service.add_documents([("new.txt", NEW_SPEECH)], 1 << 20)  # space freed: added whole
    assert (data / "new.txt").read_bytes() == NEW_SPEECH
    await assert_agree(data, tmp_path / "s.sqlite3")


async def test_a_second_writer_waits_a_bounded_time_then_is_refused_in_one_line(tmp_path: Path) -> None:
    data = small_corpus(tmp_path / "data")
    db = tmp_path / "s.sqlite3"
    async with Store(db) as store:
        service = SearchService(store, data, change_lock=ChangeLock(db, wait_seconds=0.2))
        await service.start()
        before = listing(data)
        async with ChangeLock(db).held():  # another process's change, in progress
            for change in (
                service.add_documents([("new.txt", NEW_SPEECH)], 1 << 20),
                service.remove_file_of("003-1"),
                service.reindex(),
            ):
                with pytest.raises(ReindexBusy, match=r"another process is changing the corpus.*waited 0.2 s"):
                    await change
        assert listing(data) == before
        await service.add_documents([("new.txt", NEW_SPEECH)], 1 << 20)  # once it is done, the change goes through
    await assert_agree(data, db)


CRASHING_CHANGE = """
import asyncio, os, sys
from pathlib import Path
from retrieval import changes
from retrieval.service import SearchService
from retrieval.storage.store import Store

data, db, point = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]

def die(*args, **kwargs):
    os._exit(9)  # no clean-up of any kind runs: as a SIGKILL or a power cut would leave it

if point == "before-commit":  # files staged and analysed; the process dies as the store would commit
    Store.save = die
elif point == "after-commit":  # the store has committed; the process dies before any file is renamed
    changes.CorpusChanges._finish = die
elif point == "between-renames":  # one of two new files renamed into place
    real_rename = os.rename
    def rename_once(source, target):
        real_rename(source, target)
        os.rename = die
    os.rename = rename_once

async def main():
    async with Store(db) as store:
        service = SearchService(store, data)
        await service.start()
        new, other = bytes.fromhex(sys.argv[4]), bytes.fromhex(sys.argv[5])
        await service.add_documents([("new.txt", new), ("other.txt", other)], 1 << 20)

asyncio.run(main())
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    ("point", "kept"), [("before-commit", False), ("after-commit", True), ("between-renames", True)]
)
async def test_a_change_killed_at_any_step_leaves_folder_and_store_agreeing(
    tmp_path: Path, point: str, kept: bool
) -> None:
    data = small_corpus(tmp_path / "data")
    db = tmp_path / "s.sqlite3"
    async with Store(db) as store:
        await SearchService(store, data).start()
    died = subprocess.run(
        [sys.executable, "-c", CRASHING_CHANGE, data, db, point, NEW_SPEECH.hex(), OTHER_SPEECH.hex()],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert died.returncode == 9, died.stderr[-2000:]

    await assert_agree(data, db)  # the next process finishes or drops the change, whole
    assert ((data / "new.txt").is_file(), (data / "other.txt").is_file()) == (kept, kept)
    assert {"new.txt", "other.txt"} <= await stored_files(db) if kept else not {"new.txt"} & await stored_files(db)
    if kept:
        assert (data / "new.txt").read_bytes() == NEW_SPEECH


def speechbot(data: Path, db: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "--data-dir", str(data), "--db", str(db), *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
@pytest.mark.parametrize("other", ["reindex", "add"])
async def test_add_beside_another_writer_process_loses_nothing(tmp_path: Path, other: str) -> None:
    """`add` while `reindex` or another `add` runs in another process: both succeed, in turn, and the store
    holds every file the folder does (on main the reindex dropped the added speech for good)."""
    data = small_corpus(tmp_path / "data")
    db = tmp_path / "s.sqlite3"
    (tmp_path / "new.txt").write_bytes(NEW_SPEECH)
    (tmp_path / "other.txt").write_bytes(OTHER_SPEECH)
    async with Store(db) as store:
        await SearchService(store, data).start()
    async with ChangeLock(db).held():  # both start while a change is in progress, then run as they can
        first = speechbot(data, db, "add", str(tmp_path / "new.txt"))
        second = speechbot(data, db, *(["reindex"] if other == "reindex" else ["add", str(tmp_path / "other.txt")]))
    for process in (first, second):
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err[-2000:]
        assert "Traceback" not in err and "locked" not in err
    await assert_agree(data, db)
    assert "new.txt" in await stored_files(db)
