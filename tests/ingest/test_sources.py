"""Files as people have them: UTF-8 with or without BOM, GB18030, and things that are not text."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from retrieval.ingest.corpus import file_tags, load_corpus
from retrieval.ingest.sources import SourceError, decode, read_text

SPEECH = "质量工作会议讲话\n同志们：\n今天召开全县质量强县工作会议，总结质量工作，部署今年任务。\n"


def test_utf8_with_bom_and_gb18030_read_the_same(tmp_path: Path) -> None:
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbf" + SPEECH.encode("utf-8"))
    (tmp_path / "gb.txt").write_bytes(SPEECH.encode("gb18030"))
    assert read_text(tmp_path / "bom.txt") == SPEECH
    assert read_text(tmp_path / "gb.txt") == SPEECH


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"\xef\xbb\xbf", "empty"),
        (b"\xef\xbb\xbf  \r\n", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20, "binary"),
        (bytes(range(128, 256)) * 10, "neither UTF-8 nor GB18030"),
    ],
)
def test_files_that_are_not_text_are_refused_by_name(data: bytes, reason: str) -> None:
    with pytest.raises(SourceError, match=rf"^upload\.txt: .*{reason.split()[0]}"):
        decode(data, "upload.txt")


def test_a_bad_file_is_reported_and_the_rest_still_index(tmp_path: Path) -> None:
    shutil.copy(Path(__file__).resolve().parents[2] / "data" / "003_43aee00df7e627f5.txt", tmp_path)
    (tmp_path / "broken.txt").write_bytes(b"\x00\x01\x02binary")
    (tmp_path / "gb.txt").write_bytes(SPEECH.encode("gb18030"))
    corpus = load_corpus(tmp_path)
    assert {s.source_file for s in corpus.speeches} == {"003_43aee00df7e627f5.txt", "gb.txt"}
    assert len(corpus.problems) == 1 and corpus.problems[0].startswith("broken.txt: binary")


def test_a_new_file_never_takes_an_existing_files_speech_ids() -> None:
    alone = file_tags(["003_43aee00df7e627f5.txt", "000_7fe1eca08c9865c2.txt"])
    assert alone == {"003_43aee00df7e627f5.txt": "003", "000_7fe1eca08c9865c2.txt": "000"}
    clash = file_tags(["003_0abc.txt", "003_43aee00df7e627f5.txt", "000_7fe1eca08c9865c2.txt"])
    assert clash["000_7fe1eca08c9865c2.txt"] == "000"
    assert len({clash["003_0abc.txt"], clash["003_43aee00df7e627f5.txt"], "003"}) == 3
