"""One gate for every file: what a rebuild reads is what an upload would be let in with; names are compared
as people see them and bounded as file systems bound them; text a reader sees holds no control characters."""

from __future__ import annotations

import os
import shutil
import unicodedata
from pathlib import Path

import pytest

from retrieval.ingest.folder import Refusal, RefusedChange
from retrieval.service import SearchService
from retrieval.storage.store import Store
from tests.conftest import DATA_DIR
from tests.storage.test_transactions import NEW_SPEECH, SMALL, small_corpus

README = b"# speechbot corpus\n\nDrop speech files here. Each .txt file is one or more speeches.\n" * 3


def served_files(service: SearchService) -> set[str]:
    return {s.source_file for s in service.index.speeches.values()}


async def test_a_rebuild_skips_what_an_upload_would_refuse_and_says_so(tmp_path: Path) -> None:
    data = small_corpus(tmp_path / "data")
    outside = tmp_path / "elsewhere.txt"  # a file of someone else's, given a second name in the folder
    outside.write_bytes(NEW_SPEECH)
    os.link(outside, data / "linked.txt")
    (data / "README.md").write_bytes(README)
    (data / "passwd.txt").symlink_to("/etc/passwd")
    (data / "greetings.txt").write_text("讲话\n" + "同志们：\n" * 100_000 + "今天我们开会。\n", encoding="utf-8")
    async with Store(tmp_path / "s.sqlite3") as store:
        service = SearchService(store, data)
        report = await service.reindex()
        assert served_files(service) == set(SMALL)
    problems = "\n".join(report.problems)
    assert "linked.txt: a hard link" in problems
    assert "README.md: not speech text" in problems
    assert "passwd.txt: a symbolic link" in problems
    assert "greetings.txt: 100003 lines" in problems


async def test_an_upload_whose_speeches_hold_no_prose_is_refused(tmp_path: Path) -> None:
    data = small_corpus(tmp_path / "data")
    hollow = NEW_SPEECH + "同志们：\n谢谢大家。\n".encode() * 3  # a real speech, then three that are only greetings
    async with Store(tmp_path / "s.sqlite3") as store:
        service = SearchService(store, data)
        await service.start()
        with pytest.raises(RefusedChange, match="3 of its 4 speeches hold no prose") as refused:
            await service.add_documents([("hollow.txt", hollow)], 1 << 20)
    assert refused.value.reason is Refusal.NO_SPEECH
    assert sorted(os.listdir(data)) == sorted(SMALL)


async def test_a_name_in_decomposed_unicode_is_removed_and_restored(tmp_path: Path) -> None:
    data = small_corpus(tmp_path / "data")
    name = unicodedata.normalize("NFD", "がっこう質量.txt")  # as macOS writes kana and accents
    assert name != unicodedata.normalize("NFC", name)
    (data / name).write_bytes(NEW_SPEECH)
    async with Store(tmp_path / "s.sqlite3") as store:
        service = SearchService(store, data)
        await service.start()
        (speech,) = [s for s in service.index.speeches.values() if s.source_file == name]
        await service.remove_file_of(speech.id)
        assert service.removed_files() == [name]
        with pytest.raises(RefusedChange) as taken:  # an NFC upload of the same name is the same name
            await service.add_documents([(unicodedata.normalize("NFC", name), NEW_SPEECH + "再见。".encode())], 1 << 20)
        assert taken.value.reason is Refusal.EXISTS
        await service.restore_file(service.removed_files()[0])
        assert speech.id in service.index.speeches
    assert (data / name).read_bytes() == NEW_SPEECH


async def test_a_name_too_long_in_bytes_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    data = small_corpus(tmp_path / "data")
    name = "质" * 84 + ".txt"  # 84 characters, 256 bytes: more than a file system takes
    async with Store(tmp_path / "s.sqlite3") as store:
        service = SearchService(store, data)
        await service.start()
        with pytest.raises(RefusedChange, match="over 200 bytes") as refused:
            await service.add_documents([(name, NEW_SPEECH)], 1 << 20)
    assert refused.value.reason is Refusal.UNSAFE_NAME
    assert sorted(os.listdir(data)) == sorted(SMALL)


async def test_control_characters_never_reach_a_reader_and_zero_width_ones_hide_no_word(tmp_path: Path) -> None:
    data = small_corpus(tmp_path / "data")
    spoofed = NEW_SPEECH.decode().replace("智慧计量", "\x1b[2J\x1b]0;pwned\x07智\u200b慧\u200d计量\u202e")
    async with Store(tmp_path / "s.sqlite3") as store:
        service = SearchService(store, data)
        await service.start()
        await service.add_documents([("spoofed.txt", spoofed.encode())], 1 << 20)
        texts = [c.text for c in service.index.chunks if c.speech_id.startswith("spoofed")]
        hits = service.index.search("智慧计量监管平台", 3)
    assert texts and not any(ch in text for text in texts for ch in "\x1b\x07\u202e")
    assert hits and hits[0].speech_id.startswith("spoofed")


def test_the_bundled_corpus_passes_the_gate(tmp_path: Path) -> None:
    from retrieval.ingest.corpus import load_corpus

    folder = tmp_path / "data"
    shutil.copytree(DATA_DIR, folder, ignore=shutil.ignore_patterns("embeddings", "models", "training", "lexicon"))
    corpus = load_corpus(folder)
    assert corpus.problems == [] and len(corpus.speeches) == 25
