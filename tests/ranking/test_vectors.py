"""The best sentence of each passage, as the ranker's sentence features and the marked sentence use it."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from retrieval.semantic.vectors import CorpusVectors

DIM = 3
# Small integer components make equal scores (ties) common.
SENTENCE = st.lists(st.integers(-2, 2), min_size=DIM, max_size=DIM)
PASSAGE = st.tuples(st.booleans(), st.lists(SENTENCE, max_size=4))  # (embedded?, its sentences' vectors)


@settings(max_examples=200, deadline=None)
@given(passages=st.lists(PASSAGE, min_size=1, max_size=12), query=SENTENCE)
def test_each_passage_gets_its_highest_scoring_sentence_and_the_later_one_on_a_tie(
    passages: list[tuple[bool, list[list[int]]]], query: list[int]
) -> None:
    rows = [(chunk, number, vector) for chunk, (_, sentences) in enumerate(passages)
            for number, vector in enumerate(sentences)]  # fmt: skip
    vectors = CorpusVectors(
        np.zeros((len(passages), DIM), np.float32),
        np.array([embedded for embedded, _ in passages]),
        np.array([v for _, _, v in rows], dtype=np.float32).reshape(len(rows), DIM),
        np.array([c for c, _, _ in rows], dtype=np.int64),
        np.array([n for _, n, _ in rows], dtype=np.int64),
    )
    best, which = vectors.best_sentences(np.array(query, dtype=np.float32))
    for chunk, (embedded, sentences) in enumerate(passages):
        scores = [float(np.dot(v, query)) for v in sentences]
        if not embedded or not scores:
            assert np.isnan(best[chunk])
        else:
            top = max(scores)
            assert best[chunk] == top
            assert which[chunk] == max(i for i, s in enumerate(scores) if s == top)
