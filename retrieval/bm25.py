"""One BM25 field: rank-bm25's BM25Plus model, scored through bm25s's sparse matrix.

Why BM25Plus: rank-bm25's BM25Okapi floors the IDF of a term found in more
than half the passages to epsilon times the mean IDF, which on a small
corpus is zero or negative (rank_bm25 issues 39 and 43): in a two-passage
corpus every term scores 0. BM25Plus's IDF, log((N+1)/df), is positive for
every term, and its delta keeps long passages from being starved. The
statistics and parameters are rank-bm25's (k1=1.5, b=0.75, delta=1);
bm25s precomputes each term's weight per passage so a question costs a few
sparse column sums instead of a pass over every passage
(tests/test_bm25.py holds the scores to rank-bm25's within 1e-6).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import bm25s
import numpy as np

K1 = 1.5
B = 0.75
DELTA = 1.0

logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every index build at DEBUG


class BM25Field:
    def __init__(self, docs: Sequence[Sequence[str]]) -> None:
        self.doc_count = len(docs)
        self._model = bm25s.BM25(method="bm25+", k1=K1, b=B, delta=DELTA, dtype="float64")
        # bm25s needs at least one token per passage to size its matrix; an empty
        # passage gets the empty token, which no question contains.
        self._model.index([list(d) or [""] for d in docs], show_progress=False)
        self.vocab: dict[str, int] = self._model.vocab_dict

    def term_ids(self, terms: Sequence[str]) -> list[int]:
        return [self.vocab[t] for t in terms if t and t in self.vocab]

    def scores(self, terms: Sequence[str]) -> np.ndarray:
        """rank-bm25's BM25Plus.get_scores(terms), one score per passage."""
        ids = self.term_ids(terms)
        if not ids:
            return np.zeros(self.doc_count)
        return self._model.get_scores_from_ids(ids)

    def match_scores(self, terms: Sequence[str]) -> np.ndarray:
        """Scores less the part every passage gets (delta·idf per term): 0 means no term matched."""
        ids = self.term_ids(terms)
        if not ids:
            return np.zeros(self.doc_count)
        return self._model.get_scores_from_ids(ids) - self._model.nonoccurrence_array[ids].sum()

    def idf(self, term: str) -> float:
        """log((N+1)/df); a term the corpus lacks weighs as the rarest known term."""
        term_id = self.vocab.get(term)
        if term_id is None:
            return self.max_idf
        return float(self._model.nonoccurrence_array[term_id]) / DELTA

    @property
    def max_idf(self) -> float:
        return math.log(self.doc_count + 1)
