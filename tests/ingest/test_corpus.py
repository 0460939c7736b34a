"""The bundled corpus, as a reader meets it: right speeches, clean passages, sensible sizes."""

from __future__ import annotations

import re

from retrieval.ingest.chunking import MAX_CHARS
from retrieval.ingest.corpus import Corpus
from retrieval.lexical.index import Index
from retrieval.lexical.text import word_tokens

EXPECTED_SPEECHES = {
    "000-1": "质量工作会议上的讲话稿",
    **{
        f"001-{n}": f"质量工作会议讲话稿篇{numeral}"
        for n, numeral in [
            (1, "一"),
            (2, "二"),
            (3, "三"),
            (4, "四"),
            (5, "五"),
            (6, "六"),
            (8, "八"),
            (9, "九"),
            (10, "十"),
        ]
    },
    **{f"001-7.{m}": f"质量工作会议讲话稿篇七（{numeral}）" for m, numeral in [(1, "一"), (2, "二"), (3, "三")]},
    **{f"001-11.{m}": f"质量工作会议讲话稿篇十一（{numeral}）" for m, numeral in [(1, "一"), (2, "二"), (3, "三")]},
    **{f"001-12.{m}": f"质量工作会议讲话稿篇十二（{numeral}）" for m, numeral in [(1, "一"), (2, "二")]},
    **{f"001-13.{m}": f"质量工作会议讲话稿篇十三（{numeral}）" for m, numeral in [(1, "一"), (2, "二"), (3, "三")]},
    "002-1": "区长在质量绩效管理推进会讲话",
    "003-1": "质监局领导工作会议讲话稿",
    "004-1": "質量強市工作領導講話(一)",
    "004-2": "質量強市工作領導講話(二)",
}

# What the sites wrapped around the speeches; none of it may reach a reader.
FURNITURE = [
    "下载",
    "客服",
    "关注的文档",
    "小编",
    "学习啦",
    "學習啦",
    "分享赚钱",
    "页数",
    "格式:DOC",
    "当前第",
    "看过的人还",
    "温馨提示",
    "版权归属",
    "上传日期",
    "更多精彩",
    "手机阅读",
]
PINYIN = re.compile(r"[(（][a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]+[)）]")


def test_speeches_have_their_titles(corpus: Corpus) -> None:
    assert {s.id: s.source_title or s.title for s in corpus.speeches} == EXPECTED_SPEECHES
    assert corpus.problems == []


def test_numbered_titles_give_way_to_ones_from_the_speech_itself(index: Index) -> None:
    titles = {s.id: s.title for s in index.speeches.values()}
    assert "畜牧业" in titles["001-4"]  # 篇四 is about livestock
    assert titles["001-8"].startswith("商丘市：全省质量工作大会")  # 篇八: its place, the meeting it opens on
    assert titles["004-1"].startswith("金華市：全市質量強市工作推進會")  # in the speech's own script
    assert titles["000-1"] == "质量工作会议上的讲话稿"  # a title that says something stays
    assert titles["001-7.1"].startswith("攸县：")  # the county its 我县 is, not 株洲, the city it names once
    assert all(s.source_title == "" for s in index.speeches.values() if s.title == EXPECTED_SPEECHES[s.id])


def test_collection_sections_each_start_with_their_salutation(corpus: Corpus) -> None:
    parts = [s for s in corpus.speeches if "." in s.id]
    assert all(re.search(r"同志[们們][:：]$", s.lines[0]) for s in parts), [s.lines[0] for s in parts]


def test_every_passage_names_a_speech_and_its_file(corpus: Corpus) -> None:
    by_id = {s.id: s for s in corpus.speeches}
    for chunk in corpus.chunks:
        speech = by_id[chunk.speech_id]
        assert chunk.id.startswith(f"{speech.id}:")
        assert speech.source_file.startswith(speech.id.split("-")[0])


def test_no_passage_holds_page_furniture(corpus: Corpus) -> None:
    for chunk in corpus.chunks:
        found = [w for w in FURNITURE if w in chunk.text]
        assert not found, (chunk.id, found, chunk.text[:80])
        assert not re.fullmatch(r"[\d\s]+", chunk.text)


def test_no_passage_holds_pinyin(corpus: Corpus) -> None:
    offenders = [c.id for c in corpus.chunks if PINYIN.search(c.text)]
    assert offenders == []
    assert any("質量" in c.text for c in corpus.chunks)


def test_passages_are_paragraph_sized(corpus: Corpus) -> None:
    lengths = [len(c.text) for c in corpus.chunks]
    assert max(lengths) <= MAX_CHARS
    assert sorted(lengths)[len(lengths) // 2] >= 150  # headings joined to their paragraphs, lists packed


def test_headings_open_the_paragraph_they_head(corpus: Corpus) -> None:
    chunk = next(c for c in corpus.chunks if c.text.startswith("一是区长质量奖的引领作用日益显现"))
    assert "\n" in chunk.text and len(chunk.text) > 100
    assert chunk.section.startswith("一、肯定成绩")


def test_placeholders_are_shown_but_never_searched(corpus: Corpus) -> None:
    chunk = next(c for c in corpus.chunks if "20____" in c.text)
    tokens = word_tokens(chunk.text)
    assert not any("_" in t or t in ("xx", "**") for t in tokens)
    assert not any(t.startswith("xx") for c in corpus.chunks[:50] for t in word_tokens(c.text))
