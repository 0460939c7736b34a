"""Where to cut a passage for a reply, and what in it deserves bold: search facts the views only show.

A reader wants the answer first and a passage that fits a phone. So a hit
carries the clause of its best sentence that answers (the answer line, ≤ 80
characters), an excerpt of whole sentences around that sentence (about 200
characters; the whole passage is a button away), and the few matched words
that tell this passage apart. Those are the matched words rare in the corpus
by IDF — used by at most one passage in ten — the rarest few: 质量, in
nearly every passage, is never one of them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from retrieval.ingest.chunking import sentence_spans

# A word is rare when at most this share of the passages holds it: IDF log((N+1)/df) ≥ log(1/share).
RARE_SHARE = 0.1
RARE_IDF = math.log(1 / RARE_SHARE)
MAX_BOLD_WORDS = 3
MAX_BOLD_SPANS = 4  # occurrences marked in a passage: those in the answering sentence first, then the nearest
ANSWER_CHARS = 80
EXCERPT_CHARS = 200
# Clauses end at these; 、 is left out, since it separates the items of a list, not clauses.
CLAUSE_ENDS = "，,；;：:"

Span = tuple[int, int]


def rare_words(matched: Sequence[str], idfs: Mapping[str, float]) -> list[str]:
    """The matched words (two characters or more) rare in the corpus, rarest first, at most a few."""
    rare = [w for w in dict.fromkeys(matched) if len(w) > 1 and idfs.get(w, 0.0) >= RARE_IDF]
    return sorted(rare, key=lambda w: -idfs[w])[:MAX_BOLD_WORDS]


def bold_spans(spans: Sequence[Span], best: Span, limit: int = MAX_BOLD_SPANS) -> list[Span]:
    """At most `limit` of the rare words' places: those in the answering sentence first, then the nearest to it."""

    def distance(span: Span) -> int:
        return max(0, best[0] - span[1], span[0] - best[1])

    return sorted(sorted(spans, key=distance)[:limit])


def clause_spans(text: str, sentence: Span) -> list[Span]:
    """The clauses of a sentence, each with its closing comma."""
    start, end = sentence
    spans, at = [], start
    for k in range(start, end):
        if text[k] in CLAUSE_ENDS and k + 1 < end:
            spans.append((at, k + 1))
            at = k + 1
    spans.append((at, end))
    return [s for s in spans if s[1] > s[0]]


def answer_span(search_text: str, sentence: Span, idfs: Mapping[str, float], limit: int = ANSWER_CHARS) -> Span:
    """The clause that answers: the whole best sentence when it is short, else the shortest run of its
    clauses holding the most question weight (each matched word's IDF, counted once), within `limit`."""
    start, end = sentence
    if end - start <= limit:
        return _trimmed(search_text, sentence)
    present = {w: idf for w, idf in idfs.items() if idf > 0 and w in search_text[start:end]}
    clauses = clause_spans(search_text, sentence)

    def weight(a: int, b: int) -> float:
        piece = search_text[a:b]
        return sum(idf for w, idf in present.items() if w in piece)

    best, best_key = clauses[0], (-1.0, 0, 0)
    for i, (a, _) in enumerate(clauses):
        for _, b in clauses[i:]:
            if b - a > limit and b != clauses[i][1]:
                break
            key = (weight(a, b), -(b - a), -a)
            if key > best_key:
                best, best_key = (a, b), key
    if best[1] - best[0] > limit:  # one clause longer than the limit: the part around its first matched word
        best = _around_first_word(search_text, best, present, limit)
    return _trimmed(search_text, best)


def excerpt_span(text: str, best: Span, marks: Sequence[Span] = (), limit: int = EXCERPT_CHARS) -> Span:
    """Whole sentences around the best one, up to `limit` characters (the whole passage when it fits).

    A best sentence longer than that (speeches string clauses with commas) is cut to the run of clauses
    holding the most marked characters.
    """
    if len(text) <= limit:
        return 0, len(text)
    start, end = best
    if end - start > limit:
        return _densest_clauses(text, best, marks, limit)
    spans = sentence_spans(text)
    before = [s for s in spans if s[1] <= start][::-1]
    after = [s for s in spans if s[0] >= end]
    while before or after:
        grew = False
        if after and after[0][1] - start <= limit:
            end = after.pop(0)[1]
            grew = True
        if before and end - before[0][0] <= limit:
            start = before.pop(0)[0]
            grew = True
        if not grew:
            break
    return start, end


def _densest_clauses(text: str, sentence: Span, marks: Sequence[Span], limit: int) -> Span:
    start, end = sentence
    clause_starts = [start] + [i + 1 for i in range(start, end - 1) if text[i] in CLAUSE_ENDS + "、"]

    def marked(a: int) -> int:
        b = min(a + limit, end)
        return sum(max(0, min(b, y) - max(a, x)) for x, y in marks)

    first = max(clause_starts, key=lambda a: (marked(a), -a))
    return first, min(first + limit, end)


def _around_first_word(search_text: str, clause: Span, present: Mapping[str, float], limit: int) -> Span:
    a, b = clause
    found = [search_text.find(w, a, b) for w in present]
    first = min((f for f in found if f >= 0), default=a)
    start = max(a, min(first - limit // 4, b - limit))
    return start, min(b, start + limit)


def _trimmed(text: str, span: Span) -> Span:
    """Without the white space and the clause's closing comma at either end."""
    a, b = span
    while a < b and (text[a].isspace() or text[a] in CLAUSE_ENDS):
        a += 1
    while b > a and (text[b - 1].isspace() or text[b - 1] in CLAUSE_ENDS):
        b -= 1
    return a, b
