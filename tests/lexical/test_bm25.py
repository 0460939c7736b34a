"""The ranking model is rank-bm25's BM25Plus; the fast path must give its scores and its ranking."""

from __future__ import annotations

import random

import numpy as np
import pytest
from rank_bm25 import BM25Okapi, BM25Plus

from retrieval.lexical.bm25 import (
    BM25Field,
    FieldArrays,
    TermCounts,
    char_codes,
    counted,
    pair_codes,
    weigh,
    word_codes,
)
from retrieval.lexical.build import passage_terms
from retrieval.lexical.index import BIGRAM_WEIGHT, UNIGRAM_WEIGHT, WORD_WEIGHT, Index, analyze_query
from retrieval.lexical.segmenter import full_segmenter
from retrieval.lexical.text import char_bigrams, char_unigrams

TINY = [["质量", "奖金", "区长"], ["质量", "食品", "安全", "安全"], ["质量", "计量"], []]
QUESTIONS = [
    "区长质量奖的奖金是多少",
    "怎么抓食品安全",
    "首席质量官",
    "计量器具检定了多少台",
    "质量强市 名牌产品",
    "質監部門要幫企業建立哪三大體系",
    "工程质量终身责任",
]


def build_field(docs: list[np.ndarray]) -> FieldArrays:
    """BM25Plus weights for passages given as arrays of term codes (repeats counted as in rank-bm25)."""
    per_doc = [counted(d) for d in docs]
    vocabulary = np.unique(np.concatenate([u for u, _ in per_doc])) if per_doc else np.zeros(0, np.uint64)
    counts = TermCounts(
        np.concatenate([np.searchsorted(vocabulary, u) for u, _ in per_doc]).astype(np.uint32),
        np.concatenate([c for _, c in per_doc]),
        np.array([len(u) for u, _ in per_doc], dtype=np.uint32),
    )
    return weigh(counts, vocabulary).to_field()


def field(docs: list[list[str]]) -> BM25Field:
    return BM25Field(build_field([word_codes(d) for d in docs]))


def test_okapi_pitfall_that_made_us_choose_bm25plus() -> None:
    # In a two-passage corpus every term found in one passage gets IDF 0 from BM25Okapi...
    assert BM25Okapi(TINY[:2]).get_scores(["奖金"]).tolist() == [0.0, 0.0]
    # ...while BM25Plus still ranks the passage that holds the term first.
    scores = field(TINY[:2]).scores(word_codes(["奖金"]))
    assert scores[0] > scores[1] > 0


@pytest.mark.parametrize("query", [["质量"], ["奖金", "区长"], ["食品", "食品", "不存在"], ["不存在"], ["安全"]])
def test_scores_equal_rank_bm25_on_a_tiny_corpus(query: list[str]) -> None:
    np.testing.assert_allclose(field(TINY).scores(word_codes(query)), BM25Plus(TINY).get_scores(query), atol=1e-9)


def test_match_scores_are_zero_where_no_term_matches() -> None:
    assert field(TINY).match_scores(word_codes(["奖金"])).tolist()[1:] == [0.0, 0.0, 0.0]


def reference_fusion(index: Index, question: str, reference: dict[str, BM25Plus]) -> np.ndarray:
    """The fused score computed from rank-bm25's own get_scores on each field."""
    query = analyze_query(question, index.segmenter)
    fused = np.zeros(len(index))
    for name, weight, terms in (
        ("words", WORD_WEIGHT, query.words),
        ("unigrams", UNIGRAM_WEIGHT, query.unigrams),
        ("bigrams", BIGRAM_WEIGHT, query.bigrams),
    ):
        model = reference[name]
        matched = model.get_scores(terms) - sum(model.idf.get(t, 0.0) * model.delta for t in terms)
        top = matched.max(initial=0.0)
        if top > 0:
            fused += weight * matched / top
    return fused


def assert_same_ranking(index: Index, reference: dict[str, BM25Plus]) -> None:
    for question in QUESTIONS:
        ours = index.fused_scores(analyze_query(question, index.segmenter))
        theirs = reference_fusion(index, question, reference)
        our_top = np.argsort(-ours, kind="stable")[:10]
        their_top = np.argsort(-theirs, kind="stable")[:10]
        np.testing.assert_allclose(ours[our_top], theirs[our_top], atol=1e-6)  # same scores
        np.testing.assert_allclose(theirs[our_top], theirs[their_top], atol=1e-6)  # same order (ties aside)


def reference_models(index: Index) -> dict[str, BM25Plus]:
    terms = [passage_terms(c, full_segmenter()) for c in index.chunks]
    return {
        "words": BM25Plus([t.words for t in terms]),
        "unigrams": BM25Plus([char_unigrams(t.chars) for t in terms]),
        "bigrams": BM25Plus([char_bigrams(t.chars) for t in terms]),
    }


def test_the_fused_ranking_equals_rank_bm25s_on_the_corpus(index: Index) -> None:
    assert_same_ranking(index, reference_models(index))


@pytest.mark.slow  # 1,200 passages through two reference implementations
def test_the_fused_ranking_equals_rank_bm25s_on_a_synthetic_corpus(corpus) -> None:
    from retrieval.ingest.chunking import Chunk
    from retrieval.lexical.build import build_index

    rng = random.Random(7)
    sentences = [s for c in corpus.chunks for s in c.text.split("。") if len(s) > 8]
    chunks = [
        Chunk(f"syn-1:{i}", "syn-1", i, i, "", "。".join(rng.sample(sentences, rng.randint(1, 6))) + "。")
        for i in range(1, 1201)
    ]
    synthetic = build_index([corpus.speeches[0].__class__("syn-1", "合成", "syn.txt", ())], chunks)
    assert_same_ranking(synthetic, reference_models(synthetic))


def test_term_codes_do_not_collide_for_the_corpus_vocabulary(index: Index) -> None:
    for name in ("words", "unigrams", "bigrams"):
        codes = index.fields[name].arrays.codes
        assert len(np.unique(codes)) == len(codes)
    assert char_codes("质量").tolist() == [ord("质"), ord("量")]
    assert pair_codes("质量").tolist() == [(ord("质") << 21) | ord("量")]
