"""Read back what a synonym spinner did to a web copy (效劳 for 服务, 根底 for 基础).

Some sites run copied speeches through a "伪原创" tool that swaps words for
near-synonyms. A question uses the speaker's words, so for a spun document
the search also sees the words read back. Only documents that show the
spinner's rare marker words are touched: 开展 is a real word elsewhere.
"""

from __future__ import annotations

import re
from functools import lru_cache

from retrieval.lexical.text import LEXICON_DIR

MIN_DISTINCT_MARKERS = 2
MIN_MARKER_COUNT = 3


@lru_cache(maxsize=1)
def _table() -> tuple[dict[str, str], frozenset[str]]:
    pairs: dict[str, str] = {}
    markers: set[str] = set()
    for line in (LEXICON_DIR / "respellings.txt").read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if len(fields) < 2 or line.startswith("#"):
            continue
        damaged, intended = fields[0], fields[1]
        if len(damaged) != len(intended):
            raise ValueError(f"respellings.txt: {damaged} and {intended} differ in length")
        pairs[damaged] = intended
        if "marker" in fields[2:]:
            markers.add(damaged)
    return pairs, frozenset(markers)


def is_spun(text: str) -> bool:
    _, markers = _table()
    counts = {m: text.count(m) for m in markers}
    present = [m for m, n in counts.items() if n]
    return len(present) >= MIN_DISTINCT_MARKERS and sum(counts.values()) >= MIN_MARKER_COUNT


def read_back(text: str) -> str:
    """The text with the spinner's words replaced by the speaker's; same length as the input."""
    pairs, _ = _table()
    pattern = _pattern()
    return pattern.sub(lambda m: pairs[m.group()], text) if pattern else text


@lru_cache(maxsize=1)
def _pattern() -> re.Pattern[str] | None:
    words = sorted(map(re.escape, _table()[0]), key=len, reverse=True)
    return re.compile("|".join(words)) if words else None
