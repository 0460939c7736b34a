"""The ranking model is rank-bm25's BM25Plus; the fast path must give its scores."""

from __future__ import annotations

import numpy as np
from rank_bm25 import BM25Okapi, BM25Plus

from retrieval.bm25 import BM25Field
from retrieval.index import Index

TINY = [["质量", "奖金", "区长"], ["质量", "食品", "安全"], ["质量", "计量"]]


def test_okapi_pitfall_that_made_us_choose_bm25plus() -> None:
    # In a two-passage corpus every term found in one passage gets IDF 0 from BM25Okapi...
    okapi = BM25Okapi(TINY[:2])
    assert okapi.get_scores(["奖金"]).tolist() == [0.0, 0.0]
    # ...while BM25Plus still ranks the passage that holds the term first.
    field = BM25Field(TINY[:2])
    scores = field.scores(["奖金"])
    assert scores[0] > scores[1] > 0


def test_scores_equal_rank_bm25_on_a_tiny_corpus() -> None:
    field = BM25Field(TINY)
    reference = BM25Plus(TINY)
    for query in (["质量"], ["奖金", "区长"], ["食品", "食品", "不存在"], ["不存在"]):
        np.testing.assert_allclose(field.scores(query), reference.get_scores(query), atol=1e-6)


def test_scores_equal_rank_bm25_on_the_corpus(index: Index) -> None:
    docs = [t.words or [""] for t in index.terms]
    reference = BM25Plus(docs)
    for question in ("区长质量奖 奖金", "食品 安全 监管", "首席质量官", "计量 器具 检定"):
        terms = question.split()
        ours = index.words.scores(terms)
        theirs = reference.get_scores(terms)
        np.testing.assert_allclose(ours, theirs, atol=1e-6)
        assert list(np.argsort(-ours, kind="stable")[:10]) == list(np.argsort(-theirs, kind="stable")[:10])


def test_match_scores_are_zero_where_no_term_matches() -> None:
    field = BM25Field(TINY)
    assert field.match_scores(["奖金"]).tolist()[1:] == [0.0, 0.0]
