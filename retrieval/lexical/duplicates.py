"""Find passages that stand in several speeches, so search shows each once.

The collection copies whole speeches into others (篇五 repeats 篇三 and file
000), with different spacing, quotes or a sentence more or less. Two passages
are one when most of the shorter one's character 4-grams occur in the other,
or when their characters are the same.

To stay fast on large corpora the 4-grams are hashed with numpy and a fixed
quarter of them (those whose hash is 0 mod 4) stands for the whole; the same
quarter is kept for every passage, so the shared share is estimated without
bias, and exact copies are caught by their full text whatever their length.
A passage's sampled 4-grams (its fingerprint) depend on its text alone, so the
store keeps them and a corpus change recomputes only the groups.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse
from scipy.sparse.csgraph import connected_components

from retrieval.lexical.bm25 import char_codes

SHINGLE = 4
SAMPLE_MOD = 4
CONTAINMENT = 0.7
# A 4-gram held by this many passages says nothing about which are copies.
COMMON_SHINGLE = 50
_MIX = np.uint64(0x9E3779B97F4A7C15)


def sampled_shingles(chars: str) -> np.ndarray:
    """A passage's fingerprint: the distinct sampled hashes of its character 4-grams (its folded characters)."""
    return fingerprints([chars])[0]


def fingerprints(char_texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Several passages' fingerprints at once: all of them one after another, and how many each has.

    Each passage's hashes come sorted, as `sampled_shingles` gives them; no 4-gram spans two passages.
    """
    n = len(char_texts)
    lengths = np.fromiter((len(t) for t in char_texts), dtype=np.int64, count=n)
    points = char_codes("".join(char_texts))
    windows = len(points) - SHINGLE + 1
    if windows <= 0:
        return np.zeros(0, dtype=np.uint64), np.zeros(n, dtype=np.uint32)
    passage = np.repeat(np.arange(n, dtype=np.int64), lengths)
    hashes = np.zeros(windows, dtype=np.uint64)
    for k in range(SHINGLE):
        hashes = (hashes ^ points[k : windows + k]) * _MIX
    kept = (passage[:windows] == passage[SHINGLE - 1 :]) & (hashes % np.uint64(SAMPLE_MOD) == 0)
    hashes, passage = hashes[kept], passage[:windows][kept]
    order = np.lexsort((hashes, passage))
    hashes, passage = hashes[order], passage[order]
    distinct = np.r_[True, (hashes[1:] != hashes[:-1]) | (passage[1:] != passage[:-1])]
    return hashes[distinct], np.bincount(passage[distinct], minlength=n).astype(np.uint32)


def duplicate_groups(shingles: np.ndarray, sizes: np.ndarray, content_keys: np.ndarray) -> np.ndarray:
    """For each passage, the index of the first passage of its group of copies.

    `shingles` holds the passages' fingerprints one after another, `sizes` how many each has;
    passages with the same `content_keys` (a hash of their characters) are copies whatever their length.
    """
    n = len(sizes)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    sizes = sizes.astype(np.int64)
    pairs = [_same_key_pairs(np.asarray(content_keys, dtype=np.int64))]
    first, second, shared = _shared_counts(shingles, sizes)
    smaller = np.minimum(sizes[first], sizes[second])
    close = (smaller > 0) & (shared / np.maximum(smaller, 1) >= CONTAINMENT)
    pairs.append((first[close], second[close]))
    rows = np.concatenate([p[0] for p in pairs])
    cols = np.concatenate([p[1] for p in pairs])
    graph = scipy.sparse.coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    first_of = np.full(labels.max() + 1, n, dtype=np.int64)
    np.minimum.at(first_of, labels, np.arange(n, dtype=np.int64))
    return first_of[labels]


def _same_key_pairs(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(keys, kind="stable")
    same = keys[order][1:] == keys[order][:-1]
    return order[:-1][same], order[1:][same]


def _shared_counts(shingles: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(i, j, shared shingles) for passage pairs i < j sharing at least one shingle that is not common."""
    empty = np.zeros(0, dtype=np.int64)
    if not len(shingles):
        return empty, empty, empty
    n = len(sizes)
    docs = np.repeat(np.arange(n, dtype=np.int64), sizes)
    order = np.argsort(shingles, kind="stable")  # equal hashes keep passage order
    hashes, docs = shingles[order], docs[order]
    del order
    starts = np.flatnonzero(np.r_[True, hashes[1:] != hashes[:-1]])
    ends = np.r_[starts[1:], len(hashes)]
    group_size = ends - starts
    useful = (group_size >= 2) & (group_size <= COMMON_SHINGLE)
    # Every position in a useful group, with its group's end: pair it with the positions after it.
    positions = np.repeat(starts[useful], group_size[useful]) + _ranks(group_size[useful])
    group_end = np.repeat(ends[useful], group_size[useful])
    keys = []
    offset = 1
    while True:
        more = positions + offset < group_end
        positions, group_end = positions[more], group_end[more]
        if not len(positions):
            break
        keys.append(docs[positions] * n + docs[positions + offset])
        offset += 1
    if not keys:
        return empty, empty, empty
    pair_keys, counts = np.unique(np.concatenate(keys), return_counts=True)
    return pair_keys // n, pair_keys % n, counts


def _ranks(sizes: np.ndarray) -> np.ndarray:
    """0, 1, … size-1 for each size, one after another."""
    total = int(sizes.sum())
    starts = np.repeat(np.cumsum(sizes) - sizes, sizes)
    return np.arange(total, dtype=np.int64) - starts
