"""Files an attacker or an accident offers: links, devices, FIFOs, zip bombs, text that is no speech."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from retrieval.ingest.corpus import load_corpus
from retrieval.ingest.folder import Refusal, RefusedChange, check_document
from tests.conftest import DATA_DIR
from tests.hostile import broken_xml_docx, docx_bytes, spaces_bomb

ONE_FILE = "003_43aee00df7e627f5.txt"


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(DATA_DIR / ONE_FILE, data)
    return data, tmp_path / "store.sqlite3"


def listing(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


def add(folders: tuple[Path, Path], path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    data, db = folders
    code = main(["--data-dir", str(data), "--db", str(db), "add", str(path)])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("target", ["/etc/passwd", "/dev/zero"])
def test_add_refuses_a_symlink_whatever_it_points_at(
    folders: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], target: str
) -> None:
    link = tmp_path / "x.txt"
    link.symlink_to(target)
    before = listing(folders[0])
    code, err = add(folders, link, capsys)
    assert code == 1
    assert err.count("\n") == 1 and "symbolic link" in err
    assert listing(folders[0]) == before and not folders[1].exists()


def test_add_refuses_a_file_over_the_upload_limit(
    folders: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_UPLOAD_BYTES", "1000")
    big = tmp_path / "big.txt"
    big.write_bytes("质量".encode() * 1000)
    code, err = add(folders, big, capsys)
    assert code == 1 and "over the 1000-byte limit" in err


@pytest.mark.slow  # a subprocess, since the old code blocked for ever
def test_add_refuses_a_fifo_without_waiting_for_a_writer(folders: tuple[Path, Path], tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    data, db = folders
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "--data-dir", str(data), "--db", str(db), "add", str(fifo)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,  # the old code blocked here for ever
    )
    assert done.returncode == 1 and "not a regular file" in done.stderr
    assert "Traceback" not in done.stderr


def test_reindex_does_not_follow_a_symlink_put_in_the_data_folder(folders: tuple[Path, Path]) -> None:
    data, _ = folders
    (data / "passwd.txt").symlink_to("/etc/passwd")
    corpus = load_corpus(data)
    assert {s.source_file for s in corpus.speeches} == {ONE_FILE}
    assert any(p.startswith("passwd.txt: a symbolic link") for p in corpus.problems)


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return spaces_bomb(100)


def test_a_docx_bomb_is_refused_without_unpacking_it(bomb: bytes, tmp_path: Path) -> None:
    assert len(bomb) < 200_000  # small on disk, 100 MB unpacked
    with pytest.raises(RefusedChange) as refused:
        check_document("bomb.docx", bomb, tmp_path, None, 5_000_000)
    assert refused.value.reason is Refusal.NOT_TEXT and "zip bomb" in str(refused.value)


@pytest.mark.parametrize(
    "data", [broken_xml_docx(), b"PK\x03\x04 not really a zip", docx_bytes()[:-100]], ids=["bad-xml", "not-zip", "cut"]
)
def test_a_broken_docx_is_one_refusal(data: bytes, tmp_path: Path) -> None:
    with pytest.raises(RefusedChange) as refused:
        check_document("broken.docx", data, tmp_path, None, 5_000_000)
    assert refused.value.reason is Refusal.NOT_TEXT and "\n" not in str(refused.value)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("passwd.txt", Path("/etc/passwd").read_bytes()),
        ("greeting.txt", "同志们：\n".encode()),
        ("greeting.docx", docx_bytes(["讲话", "同志们："])),
        ("numbers.txt", "\n".join(str(n) * 20 for n in range(200)).encode()),
    ],
)
def test_text_that_is_no_speech_is_refused(name: str, data: bytes, tmp_path: Path) -> None:
    with pytest.raises(RefusedChange) as refused:
        check_document(name, data, tmp_path, None, 5_000_000)
    assert refused.value.reason in (Refusal.NO_SPEECH, Refusal.NOT_TEXT)


def test_a_short_real_speech_is_still_accepted(tmp_path: Path) -> None:
    checked = check_document("ok.docx", docx_bytes(), tmp_path, None, 5_000_000)
    assert [s.title for s in checked.speeches] == ["全县计量工作会议讲话"]
