"""Find passages that stand in several speeches, so search shows each once.

The collection copies whole speeches into others (篇五 repeats 篇三 and file
000), with different spacing, quotes or a sentence more or less. Two passages
are one when most of the shorter one's character 4-grams occur in the other.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

SHINGLE = 4
CONTAINMENT = 0.7
# A shingle held by this many passages says nothing about which are copies.
COMMON_SHINGLE = 50


def duplicate_groups(char_texts: Sequence[str]) -> list[int]:
    """For each passage (its folded characters), the index of the first passage it duplicates, or its own."""
    shingles = [_shingles(t) for t in char_texts]
    postings: dict[int, list[int]] = defaultdict(list)
    for i, grams in enumerate(shingles):
        for g in grams:
            postings[g].append(i)

    parent = list(range(len(char_texts)))
    for i, grams in enumerate(shingles):
        if not grams:
            continue
        overlap: Counter[int] = Counter()
        for g in grams:
            docs = postings[g]
            if len(docs) <= COMMON_SHINGLE:
                overlap.update(j for j in docs if j < i)
        for j, shared in overlap.items():
            smaller = min(len(grams), len(shingles[j]))
            if smaller and shared / smaller >= CONTAINMENT:
                _union(parent, i, j)
    return [_find(parent, i) for i in range(len(char_texts))]


def _shingles(chars: str) -> set[int]:
    return {hash(chars[k : k + SHINGLE]) for k in range(max(len(chars) - SHINGLE + 1, 0))}


def _find(parent: list[int], i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def _union(parent: list[int], a: int, b: int) -> None:
    ra, rb = _find(parent, a), _find(parent, b)
    if ra != rb:
        parent[max(ra, rb)] = min(ra, rb)
