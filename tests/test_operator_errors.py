"""Every operator error is one line on stderr and a non-zero exit: no traceback, nothing half done."""

from __future__ import annotations

import asyncio
import csv
import errno
import os
import signal
import socket
import sqlite3
import sys
import tempfile
from pathlib import Path

import pytest

from bot.cli import main
from bot.records import Records
from retrieval.storage.store import Store
from tests.storage.test_transactions import NEW_SPEECH, ROOT, listing, small_corpus


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    small_corpus(tmp_path / "data")
    (tmp_path / "new.txt").write_bytes(NEW_SPEECH)
    return tmp_path


def speechbot(folder: Path, *args: str) -> int:
    return main(["--data-dir", str(folder / "data"), "--db", str(folder / "s.sqlite3"), *args])


def one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip() and "indexing" not in line]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_a_store_path_that_is_a_folder_is_one_line(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (folder / "s.sqlite3").mkdir()
    assert speechbot(folder, "speeches") == 1
    assert one_line(capsys).startswith("speechbot: cannot open store")


def test_export_into_a_missing_folder_is_one_line(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async def make_log() -> None:
        async with Records(folder / "s.sqlite3"):  # a store with its (empty) query log
            pass

    asyncio.run(make_log())
    assert speechbot(folder, "export-log", "--out", str(folder / "missing" / "log.csv")) == 1
    assert one_line(capsys) == f"speechbot: cannot write {folder / 'missing' / 'log.csv'}: No such file or directory"


def test_exported_questions_never_run_as_spreadsheet_formulas(folder: Path) -> None:
    asked = ['=HYPERLINK("http://x","点我")', "+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3", "奖金是多少"]

    async def log() -> None:
        async with Records(folder / "s.sqlite3") as records:
            for n, question in enumerate(asked):
                await records.log_question("private", f"user{n}", f"k{n}", question, [], 1.0)

    asyncio.run(log())
    assert speechbot(folder, "export-log", "--out", str(folder / "log.csv")) == 0
    with open(folder / "log.csv", encoding="utf-8", newline="") as out:
        cells = [row["question"] for row in csv.DictReader(out)]
    assert cells == ["'" + q for q in asked[:4]] + ["奖金是多少"]


@pytest.mark.parametrize("value", ["0", "-3", "x"])
def test_top_k_must_be_at_least_one(folder: Path, value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        speechbot(folder, "ask", "--top-k", value, "区长质量奖的奖金是多少")
    assert stopped.value.code == 2 and "--top-k" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("failure", "says"),
    [(errno.ENOSPC, "No space left on device"), (errno.EROFS, "Read-only file system")],
    ids=["full-device", "read-only-folder"],
)
def test_add_onto_a_full_or_read_only_folder_is_one_line_and_adds_nothing(
    folder: Path, failure: int, says: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert speechbot(folder, "speeches") == 0
    capsys.readouterr()
    before = listing(folder / "data")

    def refused(*args: object, **kwargs: object) -> tuple[int, str]:
        raise OSError(failure, os.strerror(failure), str(folder / "data"))

    monkeypatch.setattr(tempfile, "mkstemp", refused)  # where the new file is created in the data folder
    assert speechbot(folder, "add", str(folder / "new.txt")) == 1
    assert one_line(capsys) == f"speechbot: nothing added: nothing added: {says} (data)"
    assert listing(folder / "data") == before


def test_reindex_on_a_full_disk_is_one_line_and_keeps_the_index(
    folder: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert speechbot(folder, "speeches") == 0
    capsys.readouterr()

    async def full(*args: object, **kwargs: object) -> int:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(Store, "_write_results", full)  # SQLite's SQLITE_FULL, at the write
    assert speechbot(folder, "reindex") == 1
    assert one_line(capsys) == "speechbot: reindex failed, the previous index stays: database or disk is full"
    monkeypatch.undo()
    assert speechbot(folder, "speeches") == 0
    assert "003-1" in capsys.readouterr().out


@pytest.mark.slow  # `speechbot run` in a subprocess
async def test_run_retries_an_unreachable_bot_api_with_growing_waits(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": "123456789:UNREACHABLEunreachableUNREACHABLEx",
        "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{port}",
        "SPEECHBOT_DB": str(tmp_path / "s.sqlite3"),
        "PYTHONPATH": str(ROOT),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", env=env, cwd=tmp_path, stderr=asyncio.subprocess.PIPE
    )
    assert process.stderr is not None
    lines: list[str] = []
    while len(lines) < 3:  # each printed as a try fails (a log line says the corpus folder was seeded first)
        line = (await process.stderr.readline()).decode()
        assert line, "speechbot run stopped"
        lines += [line] if line.startswith("speechbot:") else []
    process.send_signal(signal.SIGINT)
    rest = (await process.stderr.read()).decode()
    await process.wait()
    assert [line.split("trying again in ")[-1].strip() for line in lines] == ["1 s", "2 s", "4 s"]
    unreachable = f"speechbot: the Bot API at http://127.0.0.1:{port} cannot be reached"
    assert all(line.startswith(unreachable) for line in lines)
    assert "Traceback" not in rest and "UNREACHABLE" not in "".join(lines) + rest
    assert process.returncode == 130


def test_a_terminal_never_receives_escape_sequences_from_the_corpus(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spoofed = NEW_SPEECH.decode().replace("智慧计量", "\x1b[2J\x1b]0;pwned\x07智慧计量\u202e")
    (folder / "data" / "spoofed.txt").write_text(spoofed, encoding="utf-8")
    assert speechbot(folder, "ask", "智慧计量监管平台接入多少台计量器具") == 0
    assert speechbot(folder, "speeches") == 0
    out = capsys.readouterr().out
    assert "三千二百台" in out and "全县计量工作会议讲话" in out
    assert not {"\x1b", "\x07", "\u202e"} & set(out)
