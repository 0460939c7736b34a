"""One BM25 field: rank-bm25's BM25Plus model, as a sparse passage × term weight matrix.

Why BM25Plus: rank-bm25's BM25Okapi floors the IDF of a term found in more
than half the passages to epsilon times the mean IDF, which on a small
corpus is zero or negative (rank_bm25 issues 39 and 43): in a two-passage
corpus every term scores 0. BM25Plus's IDF, log((N+1)/df), is positive for
every term, and its delta keeps long passages from being starved.

The statistics and parameters are rank-bm25's (k1=1.5, b=0.75, delta=1).
Each term's weight in each passage is computed once, when the index is
assembled, into a CSC matrix (bm25s's layout); a question costs a few column
sums (tests/lexical/test_bm25.py holds the scores to rank-bm25's within 1e-12).

The weights are computed from term counts (`TermCounts`: each passage's
distinct term ids and how often each occurs), which is what the store keeps:
a corpus change recomputes every weight from them (N, the average length and
the document frequencies all move) without cutting a passage again.

A term is a 64-bit code: a character's code point, a character pair's two
code points, or a stable hash of a word. The matrix's columns are sorted by
code, so a question's terms are found with a binary search and no dict.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse

from retrieval.keys import text_code

K1 = 1.5
B = 0.75
DELTA = 1.0

# Rows of weights computed at a time: bounds the float64 temporaries at a few tens of MB.
_WEIGHT_BLOCK = 1 << 20


def word_code(word: str) -> int:
    return text_code(word)


def word_codes(words: Iterable[str]) -> np.ndarray:
    return np.fromiter((word_code(w) for w in words), dtype=np.uint64)


def char_codes(chars: str) -> np.ndarray:
    return np.frombuffer(chars.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)


def pair_codes(chars: str) -> np.ndarray:
    points = char_codes(chars)
    return (points[:-1] << np.uint64(21)) | points[1:]


@dataclass(frozen=True)
class FieldArrays:
    """A field as searched: sorted term codes, the CSC weight matrix (passages × terms), each term's delta·idf."""

    codes: np.ndarray  # uint64, sorted
    data: np.ndarray  # weights without the delta part
    indices: np.ndarray  # int32 passage numbers
    indptr: np.ndarray  # int64 column starts
    nonoccurrence: np.ndarray  # float64 delta·idf per term: what every passage gets for it
    num_docs: int


@dataclass(frozen=True)
class TermCounts:
    """Passages' term counts, passage after passage: distinct term ids, their counts, how many per passage."""

    ids: np.ndarray  # uint32, into a vocabulary of term codes
    tf: np.ndarray  # uint16
    sizes: np.ndarray  # uint32, distinct terms of each passage

    @classmethod
    def concat(cls, parts: Sequence[TermCounts]) -> TermCounts:
        if not parts:
            return cls(np.zeros(0, np.uint32), np.zeros(0, np.uint16), np.zeros(0, np.uint32))
        return cls(*(np.concatenate([getattr(p, name) for p in parts]) for name in ("ids", "tf", "sizes")))


def counted(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A passage's distinct term codes and how often each occurs (as uint16: a passage is far shorter)."""
    unique, counts = np.unique(codes, return_counts=True)
    if len(counts) and counts.max() > np.iinfo(np.uint16).max:
        raise ValueError("a term occurs more than 65,535 times in one passage")
    return unique, counts.astype(np.uint16)


@dataclass
class WeightedRows:
    """A field's weights passage by passage (CSR), before they are turned column-wise for search.

    Kept apart so that a caller can let go of the counts before the column-wise copy is made.
    """

    weights: np.ndarray
    columns: np.ndarray  # int32, into codes
    rowptr: np.ndarray  # int64
    codes: np.ndarray  # uint64, sorted: the terms some passage holds
    idf: np.ndarray

    def to_field(self) -> FieldArrays:
        n = len(self.rowptr) - 1
        shape = (n, len(self.codes))
        matrix = scipy.sparse.csr_matrix((self.weights, self.columns, self.rowptr), shape=shape).tocsc()
        self.weights = self.columns = np.zeros(0)
        matrix.sort_indices()
        return FieldArrays(
            codes=self.codes,
            data=matrix.data,
            indices=matrix.indices.astype(np.int32, copy=False),
            indptr=matrix.indptr.astype(np.int64, copy=False),
            nonoccurrence=(self.idf * DELTA).astype(np.float64),
            num_docs=n,
        )


def weigh(counts: TermCounts, vocabulary: np.ndarray, dtype: str = "float64") -> WeightedRows:
    """Each passage's term weights, computed a block of passages at a time (no per-token arrays of floats)."""
    n = len(counts.sizes)
    rowptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts.sizes, out=rowptr[1:])
    lengths = np.zeros(n, dtype=np.float64)
    filled = counts.sizes > 0
    if filled.any():
        lengths[filled] = np.add.reduceat(counts.tf, rowptr[:-1][filled], dtype=np.float64)
    df = np.bincount(counts.ids, minlength=len(vocabulary))
    by_code = np.argsort(vocabulary, kind="stable")
    kept = by_code[df[by_code] > 0]
    column_of = np.zeros(len(vocabulary), dtype=np.int32)
    column_of[kept] = np.arange(len(kept), dtype=np.int32)
    idf = np.log((n + 1) / np.maximum(df[kept], 1))
    avgdl = lengths.mean() if n and lengths.sum() else 1.0
    norm = K1 * (1 - B + B * lengths / avgdl)
    columns = column_of[counts.ids]
    weights = np.empty(len(counts.ids), dtype=dtype)
    block_rows = max(1, _WEIGHT_BLOCK * n // max(len(counts.ids), 1))
    for r0 in range(0, n, block_rows):
        r1 = min(n, r0 + block_rows)
        s, e = rowptr[r0], rowptr[r1]
        tf = counts.tf[s:e].astype(np.float64)
        row_norm = np.repeat(norm[r0:r1], counts.sizes[r0:r1])
        weights[s:e] = idf[columns[s:e]] * (tf * (K1 + 1)) / (row_norm + tf)
    return WeightedRows(weights, columns, rowptr, vocabulary[kept].astype(np.uint64), idf)


class BM25Field:
    def __init__(self, arrays: FieldArrays) -> None:
        self.arrays = arrays
        self.doc_count = arrays.num_docs
        # The weights as a CSC matrix over the stored arrays (no copy): a question sums a few of its columns.
        # scipy gives indices and column starts one integer type: with the stored int64 starts it copied
        # every int32 row index to int64 (and the weights with them), 600 MB at 100k passages beside the
        # stored arrays. Starts fit int32 below 2**31 weights, so the matrix holds those, as the rows are.
        indptr = arrays.indptr
        if len(arrays.data) < np.iinfo(np.int32).max and arrays.indices.dtype == np.int32:
            indptr = indptr.astype(np.int32)
        self._matrix = scipy.sparse.csc_array(
            (arrays.data, arrays.indices, indptr), shape=(arrays.num_docs, len(arrays.codes)), copy=False
        )

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
        # The part every passage gets (delta·idf per question term) is left out of these sums and added back
        # in float64 by scores(), so a passage no term matched scores exactly 0.
        return np.asarray(self._matrix[:, columns].sum(axis=1), dtype=np.float64).ravel()

    def idf(self, code: int) -> float | None:
        """log((N+1)/df) of a term, None when the corpus lacks it."""
        columns = self.columns(np.array([code], dtype=np.uint64))
        return float(self.arrays.nonoccurrence[columns[0]]) / DELTA if len(columns) else None

    @property
    def max_idf(self) -> float:
        return float(np.log(self.doc_count + 1))
