"""Speech ids for any file names: unique, stable, short enough for button data, settled before any work."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.view.callbacks import MAX_BYTES, Around, OpenSpeech, decode, encode
from retrieval.ingest.corpus import TagError, file_tags
from retrieval.service import ReindexError, SearchService
from retrieval.storage.store import Store

SPEECH = (
    "关于质量工作的讲话\n同志们：\n今年全市质量工作取得新进展，第{n}项重点任务按期完成。\n"
    "要把标准化建设放在更加突出的位置。\n"
)


async def test_three_thousand_files_sharing_one_prefix_index_with_short_distinct_ids(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for n in range(3000):
        (data / f"synth_{n:05d}.txt").write_text(SPEECH.format(n=n), encoding="utf-8")
    async with Store(tmp_path / "store.sqlite3") as store:
        service = SearchService(store, data)
        report = await service.start()
        assert report is not None and report.speeches == 3000 and report.problems == []
        index = service.index
        assert len({s.source_file for s in index.speeches.values()}) == 3000
        longest = max(index.chunks, key=lambda c: len(c.id))
        for button in (OpenSpeech(longest.speech_id, 9999), Around(longest.id)):
            assert len(encode(button).encode()) <= MAX_BYTES and decode(encode(button)) == button
        hits = (await service.search("第2999项重点任务", 1)).hits
        assert hits and hits[0].source_file == "synth_02999.txt"


def test_names_that_clash_in_any_way_get_distinct_typeable_tags() -> None:
    names = ["报告.txt", "讲话稿.docx", "A.txt", "a.md", "a.txt", "2023_一.txt", "2023_二.txt", "x" * 90 + ".txt"]
    tags = file_tags(names)
    assert len(set(tags.values())) == len(names)
    assert all(t.isascii() and t.isalnum() and t == t.lower() and len(t) <= 12 for t in tags.values())
    assert tags["x" * 90 + ".txt"] == "x" * 12  # asks for its own prefix, which no one else asks for


def test_the_bundled_files_keep_their_ids_and_tags_never_move() -> None:
    bundled = ["000_7fe1eca08c9865c2.txt", "001_eee244ba84f2062c.txt", "004_342c7815cd97eb2a.txt"]
    known = file_tags(bundled)
    assert known == dict(zip(bundled, ["000", "001", "004"], strict=True))
    later = file_tags([*bundled, "004_copy.txt", "质量.txt", "002_new.txt"], known)
    assert {n: later[n] for n in bundled} == known  # a new file never takes an existing file's tag
    assert later["002_new.txt"] == "002" and later["004_copy.txt"] not in known.values()
    assert len(set(later.values())) == len(later) and later["质量.txt"].isdigit()  # the next free number
    # A removed file's tag stays its own (it is in the table, not in the folder).
    again = file_tags(["001_eee244ba84f2062c.txt", "000_a.txt"], {**known, **later})
    assert again["000_a.txt"] not in {**known, **later}.values()


async def test_a_tag_table_that_would_clash_stops_the_build_before_any_work(tmp_path: Path) -> None:
    with pytest.raises(TagError, match="sharing a tag"):
        file_tags(["a.txt", "b.txt"], {"a.txt": "007", "b.txt": "007"})
    data = tmp_path / "data"
    data.mkdir()
    for name in ("a.txt", "b.txt"):
        (data / name).write_text(SPEECH.format(n=1), encoding="utf-8")
    async with Store(tmp_path / "store.sqlite3") as store:
        await store.db.executemany("INSERT INTO file_tags VALUES (?, ?)", [("a.txt", "Bad Tag")])
        await store.db.commit()
        with pytest.raises(ReindexError, match="file tags not of the form"):
            await SearchService(store, data).reindex()
