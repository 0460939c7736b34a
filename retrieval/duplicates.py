"""Find passages that stand in several speeches, so search shows each once.

The collection copies whole speeches into others (篇五 repeats 篇三 and file
000), with different spacing, quotes or a sentence more or less. Two passages
are one when most of the shorter one's character 4-grams occur in the other,
or when their characters are the same.

To stay fast on large corpora the 4-grams are hashed with numpy and a fixed
quarter of them (those whose hash is 0 mod 4) stands for the whole; the same
quarter is kept for every passage, so the shared share is estimated without
bias, and exact copies are caught by their full text whatever their length.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from retrieval.bm25 import char_codes

SHINGLE = 4
SAMPLE_MOD = 4
CONTAINMENT = 0.7
# A 4-gram held by this many passages says nothing about which are copies.
COMMON_SHINGLE = 50
_MIX = np.uint64(0x9E3779B97F4A7C15)


def duplicate_groups(char_texts: Sequence[str]) -> list[int]:
    """For each passage (its folded characters), the index of the first passage of its group of copies."""
    parent = list(range(len(char_texts)))
    first_with_text: dict[str, int] = {}
    for i, chars in enumerate(char_texts):
        if chars in first_with_text:
            _union(parent, first_with_text[chars], i)
        else:
            first_with_text[chars] = i

    shingles = [_sampled_shingles(chars) for chars in char_texts]
    sizes = np.array([len(s) for s in shingles], dtype=np.int64)
    for i, j, shared in _shared_counts(shingles):
        smaller = min(sizes[i], sizes[j])
        if smaller and shared / smaller >= CONTAINMENT:
            _union(parent, i, j)
    return [_find(parent, i) for i in range(len(char_texts))]


def _sampled_shingles(chars: str) -> np.ndarray:
    points = char_codes(chars)
    if len(points) < SHINGLE:
        return np.zeros(0, dtype=np.uint64)
    hashes = np.zeros(len(points) - SHINGLE + 1, dtype=np.uint64)
    for k in range(SHINGLE):
        hashes = (hashes ^ points[k : len(points) - SHINGLE + 1 + k]) * _MIX
    return np.unique(hashes[hashes % np.uint64(SAMPLE_MOD) == 0])


def _shared_counts(shingles: list[np.ndarray]) -> list[tuple[int, int, int]]:
    """(i, j, shared shingles) for passage pairs sharing at least one shingle that is not common."""
    if not shingles:
        return []
    hashes = np.concatenate(shingles)
    docs = np.repeat(np.arange(len(shingles), dtype=np.int64), [len(s) for s in shingles])
    order = np.argsort(hashes, kind="stable")
    hashes, docs = hashes[order], docs[order]
    starts = np.flatnonzero(np.r_[True, hashes[1:] != hashes[:-1]])
    ends = np.r_[starts[1:], len(hashes)]
    n = len(shingles)
    pair_keys: list[np.ndarray] = []
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        size = end - start
        if size < 2 or size > COMMON_SHINGLE:
            continue
        members = docs[start:end]
        i, j = np.triu_indices(size, k=1)
        pair_keys.append(members[i] * n + members[j])
    if not pair_keys:
        return []
    keys, counts = np.unique(np.concatenate(pair_keys), return_counts=True)
    return list(zip((keys // n).tolist(), (keys % n).tolist(), counts.tolist(), strict=True))


def _find(parent: list[int], i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def _union(parent: list[int], a: int, b: int) -> None:
    ra, rb = _find(parent, a), _find(parent, b)
    if ra != rb:
        parent[max(ra, rb)] = min(ra, rb)
