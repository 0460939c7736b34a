"""One BM25 field: rank-bm25's BM25Plus model, scored through bm25s's sparse matrix.

Why BM25Plus: rank-bm25's BM25Okapi floors the IDF of a term found in more
than half the passages to epsilon times the mean IDF, which on a small
corpus is zero or negative (rank_bm25 issues 39 and 43): in a two-passage
corpus every term scores 0. BM25Plus's IDF, log((N+1)/df), is positive for
every term, and its delta keeps long passages from being starved.

The statistics and parameters are rank-bm25's (k1=1.5, b=0.75, delta=1).
Each term's weight in each passage is computed once, at build time, into a
sparse passage × term matrix that bm25s scores (a question costs a few
column sums; tests/test_bm25.py holds the scores to rank-bm25's within
1e-6). The matrix is built here with numpy from integer term codes rather
than with bm25s's own builder, whose per-token Python lists took 5 GB and
six minutes at 100,000 passages; the arrays also go into the store as they
are, so start-up reads them instead of re-indexing.

A term is a 64-bit code: a character's code point, a character pair's two
code points, or a stable hash of a word. Codes are kept sorted, so a
question's terms are found with a binary search and no vocabulary dict.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import bm25s
import numpy as np
import scipy.sparse

K1 = 1.5
B = 0.75
DELTA = 1.0

logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every index build at DEBUG


def word_code(word: str) -> int:
    return int.from_bytes(hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest(), "little")


def word_codes(words: Iterable[str]) -> np.ndarray:
    return np.fromiter((word_code(w) for w in words), dtype=np.uint64)


def char_codes(chars: str) -> np.ndarray:
    return np.frombuffer(chars.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)


def pair_codes(chars: str) -> np.ndarray:
    points = char_codes(chars)
    return (points[:-1] << np.uint64(21)) | points[1:]


@dataclass(frozen=True)
class FieldArrays:
    """A field as stored: sorted term codes, the CSC weight matrix (passages × terms), each term's delta·idf."""

    codes: np.ndarray  # uint64, sorted
    data: np.ndarray  # weights without the delta part
    indices: np.ndarray  # int32 passage numbers
    indptr: np.ndarray  # int64 column starts
    nonoccurrence: np.ndarray  # float64 delta·idf per term: what every passage gets for it
    num_docs: int


def build_field(docs: Sequence[np.ndarray], dtype: str = "float64") -> FieldArrays:
    """BM25Plus weights for passages given as arrays of term codes (repeats counted as in rank-bm25)."""
    n = len(docs)
    lengths = np.fromiter((len(d) for d in docs), dtype=np.float64, count=n)
    per_doc = [np.unique(d, return_counts=True) for d in docs]
    flat_codes = np.concatenate([u for u, _ in per_doc]) if n else np.zeros(0, np.uint64)
    tf = np.concatenate([c for _, c in per_doc]).astype(np.float64) if n else np.zeros(0)
    doc_of = np.repeat(np.arange(n, dtype=np.int32), [len(u) for u, _ in per_doc])
    del per_doc
    codes, term_of = np.unique(flat_codes, return_inverse=True)
    del flat_codes
    df = np.bincount(term_of, minlength=len(codes))
    idf = np.log((n + 1) / np.maximum(df, 1))
    avgdl = lengths.mean() if n and lengths.sum() else 1.0
    norm = K1 * (1 - B + B * lengths[doc_of] / avgdl)
    weights = idf[term_of] * (tf * (K1 + 1)) / (norm + tf)
    matrix = scipy.sparse.csc_matrix((weights.astype(dtype), (doc_of, term_of)), shape=(n, len(codes)))
    matrix.sort_indices()
    return FieldArrays(
        codes=codes.astype(np.uint64),
        data=matrix.data.astype(dtype),
        indices=matrix.indices.astype(np.int32),
        indptr=matrix.indptr.astype(np.int64),
        nonoccurrence=(idf * DELTA).astype(np.float64),
        num_docs=n,
    )


class BM25Field:
    def __init__(self, arrays: FieldArrays) -> None:
        self.arrays = arrays
        self.doc_count = arrays.num_docs
        self._model = bm25s.BM25(method="bm25+", k1=K1, b=B, delta=DELTA, dtype=str(arrays.data.dtype))
        self._model.scores = {
            "data": arrays.data,
            "indices": arrays.indices,
            "indptr": arrays.indptr,
            "num_docs": arrays.num_docs,
        }
        # The part every passage gets (delta·idf per question term) is left out of bm25s's sums and
        # added back in float64 by scores(), so a passage no term matched scores exactly 0.
        self._model.nonoccurrence_array = None

    def columns(self, codes: np.ndarray) -> np.ndarray:
        """Matrix columns of the terms the corpus holds, in the question's order, repeats kept."""
        if not len(codes) or not len(self.arrays.codes):
            return np.zeros(0, dtype=np.int64)
        found = np.searchsorted(self.arrays.codes, codes)
        found = np.minimum(found, len(self.arrays.codes) - 1)
        return found[self.arrays.codes[found] == codes].astype(np.int64)

    def scores(self, codes: np.ndarray) -> np.ndarray:
        """rank-bm25's BM25Plus.get_scores for these terms, one score per passage."""
        columns = self.columns(codes)
        return self.match_scores(codes) + self.arrays.nonoccurrence[columns].sum()

    def match_scores(self, codes: np.ndarray) -> np.ndarray:
        """Scores less the part every passage gets (delta·idf per term): 0 means no term matched."""
        columns = self.columns(codes)
        if not len(columns):
            return np.zeros(self.doc_count)
        return self._model.get_scores_from_ids(columns).astype(np.float64)

    def idf(self, code: int) -> float | None:
        """log((N+1)/df) of a term, None when the corpus lacks it."""
        columns = self.columns(np.array([code], dtype=np.uint64))
        return float(self.arrays.nonoccurrence[columns[0]]) / DELTA if len(columns) else None

    @property
    def max_idf(self) -> float:
        return float(np.log(self.doc_count + 1))
