"""Search on the real corpus, as a user asks: the answer first, copies collapsed, off-topic refused.

`retriever` is what the bot answers with (lexical index, meaning vectors, ranker); `index` alone is the
lexical fallback used when no fitted model is at hand.
"""

from __future__ import annotations

import pytest

from retrieval.lexical.index import Index
from retrieval.lexical.text import fold
from retrieval.question import read_question
from retrieval.ranking.retriever import Retriever
from retrieval.results import Confidence


@pytest.mark.parametrize(
    ("question", "span"),
    [
        ("区长质量奖的奖金是多少", "区长质量奖的奖金是50万"),
        ("質監部門要幫企業建立哪三大體系", "计量检测体系和质量保证体系"),
        ("井陉县多少家企业设立了首席质量官", "设立了首席质量官制度"),
        ("服务名牌占全区名牌总量的多少", "效劳名牌还不多"),  # 002's spinner wrote 效劳 for 服务
        ("技术专利化", "技術專利化"),  # Simplified question, Traditional passage
    ],
)
def test_known_questions_find_their_passage_first(retriever: Retriever, question: str, span: str) -> None:
    hits = retriever.answer(question, 3).hits
    assert hits, question
    assert span in hits[0].text, [h.text[:40] for h in hits]


def test_the_best_sentence_and_matched_terms_are_marked(retriever: Retriever) -> None:
    hit = retriever.answer("区长质量奖的奖金是多少", 1).hits[0]
    assert "50万" in hit.best_sentence
    assert hit.text[hit.best_span[0] : hit.best_span[1]] == hit.best_sentence
    assert {"区长", "质量奖", "奖金"} <= set(hit.matched_terms)
    assert {hit.text[a:b] for a, b in hit.term_spans} >= {"区长质量奖", "奖金"}


def test_copies_collapse_into_one_result_naming_every_speech(retriever: Retriever, index: Index) -> None:
    hits = retriever.answer("区长质量奖的奖金是多少", 10).hits
    first = hits[0]
    holders = {first.speech_id, *(r.speech_id for r in first.also_in)}
    assert holders == {"000-1", "001-5"}
    assert first.speech_id == "000-1"  # the copy that kept its template blanks (如果我们____的企业) is shown
    groups = [index.duplicate_of[index.chunk_position[h.chunk_id]] for h in hits]
    assert len(groups) == len(set(groups))


def test_traditional_passages_are_shown_in_their_own_script(retriever: Retriever) -> None:
    hit = retriever.answer("金华市政府质量奖奖金提高到多少", 1).hits[0]
    assert "獎金" in hit.text and hit.speech_title.startswith("金華市：")
    assert any("獎金" in hit.text[a:b] for a, b in hit.term_spans)


@pytest.mark.parametrize("question", ["今天天气怎么样", "红烧肉的做法", "文档怎么下载", "推荐一部好看的科幻电影"])
def test_questions_the_corpus_does_not_answer_get_nothing(retriever: Retriever, question: str) -> None:
    found = retriever.answer(question, 10)
    assert found.hits == [] and found.confidence is Confidence.NONE


@pytest.mark.parametrize("question", ["", "   ", "？？？", "😀😀", "'; DROP TABLE chunks; --"])
def test_input_without_searchable_words_gets_nothing(retriever: Retriever, index: Index, question: str) -> None:
    assert retriever.answer(question, 5).hits == [] and index.search(question, 5) == []


@pytest.mark.parametrize("question", ["<b>质量</b>", "\x00\x07质量", "质量" * 50_000])
def test_odd_input_around_real_words_is_answered(retriever: Retriever, index: Index, question: str) -> None:
    question = read_question(question).text  # as the service's door reads it: 100,000 characters cut to 500
    found = index.search(question, 5)
    assert found and all("质量" in fold(h.text) for h in found)
    ranked = retriever.answer(question, 5)  # one common word: the gate may well say the corpus has no answer
    assert all("质量" in fold(h.text) for h in ranked.hits)


def test_reading_around_a_passage_stays_in_its_speech(retriever: Retriever, index: Index) -> None:
    hit = retriever.answer("区长质量奖的奖金是多少", 1).hits[0]
    around = index.neighbours(hit.chunk_id)
    assert [c.speech_id for c in around] == [hit.speech_id] * 3
    assert [c.ordinal for c in around] == [around[1].ordinal - 1, around[1].ordinal, around[1].ordinal + 1]
