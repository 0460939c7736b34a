"""Titles that tell speeches apart wherever several are shown together: a reply, a list.

Derived titles can coincide (two speeches of one collection, both
讲话（施工、质量事故）), and a reader quoting a passage must know which speech it
is. Where titles shown together are equal (in either script), each gets what
differs among those speeches: the part of the source's own title that
differs (篇九, 篇十一（一）), else the file (003.txt), else the speech's id.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable

from retrieval.lexical.text import fold
from retrieval.results import SpeechRef
from retrieval.shown import file_label

SEPARATOR = " · "
# Characters that belong to a number in a title (篇十一（一）): a differing part starts before them.
NUMBERING_CHARS = set("篇一二三四五六七八九十百零〇0123456789(（")


def distinct_titles(speeches: Iterable[SpeechRef]) -> dict[str, str]:
    """Each speech's title as shown beside the others: equal titles made distinct by what differs."""
    by_id = {s.speech_id: s for s in speeches}
    groups: dict[str, list[SpeechRef]] = defaultdict(list)
    for speech in by_id.values():
        groups[fold(speech.speech_title)].append(speech)
    shown = {s.speech_id: s.speech_title for s in by_id.values()}
    for group in groups.values():
        if len(group) < 2:
            continue
        parts = _telling_parts(group)
        for speech in group:
            shown[speech.speech_id] = f"{speech.speech_title}{SEPARATOR}{parts[speech.speech_id]}"
    return shown


def _telling_parts(group: list[SpeechRef]) -> dict[str, str]:
    """The first facet whose values differ across the whole group."""
    facets: list[Callable[[SpeechRef], str]] = [
        lambda s: _differing_part(s.source_title or s.speech_title, [g.source_title or g.speech_title for g in group]),
        lambda s: file_label(s.source_file),
    ]
    for facet in facets:
        values = {s.speech_id: facet(s) for s in group}
        if all(values.values()) and len(set(values.values())) == len(group):
            return values
    return {s.speech_id: s.speech_id for s in group}


def _differing_part(title: str, titles: list[str]) -> str:
    """What is left of a title past the start all the titles share, taken back to whole numbering
    (质量工作会议讲话稿篇九 beside …篇十一（一） → 篇九)."""
    shared = len(_common_prefix(titles))
    while shared > 0 and title[shared - 1] in NUMBERING_CHARS:
        shared -= 1
    return title[shared:].strip()


def _common_prefix(texts: list[str]) -> str:
    first, last = min(texts), max(texts)
    k = 0
    while k < min(len(first), len(last)) and first[k] == last[k]:
        k += 1
    return first[:k]
