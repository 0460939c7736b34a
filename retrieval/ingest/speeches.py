"""Split one document's lines into the speeches it holds, each with a title.

Collections mark their speeches with a heading (质量工作会议讲话稿篇七, or the
page title with a number: 質量強市工作領導講話(一)). Inside such a section
several speeches may follow one another; each opens with its own salutation
(同志们：), which is what tells them apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise

from retrieval.lexical.text import fold

COLLECTION_SECTION = re.compile(r"^.{2,40}?篇[一二三四五六七八九十百]+$")
NUMBERED_TITLE = re.compile(r"^(?P<title>.{4,40}?)\s*[(（][一二三四五六七八九十]+[)）]$")
SALUTATION = re.compile(r"^(?:[^，,:：。]{1,12}[，,、])*(?:同志们|同事们|朋友们|女士们、先生们)[:：!！]?$")
LONE_ENUMERATOR = re.compile(r"^[(（〔]?[一二三四五六七八九十]+[)）〕]?[:：]$")
TITLE_MAX = 50
CHINESE_NUMERALS = "一二三四五六七八九十"


@dataclass(frozen=True)
class SpeechFacts:
    """What a speech is about, found in its own text by retrieval/ingest/describe.py: the places it speaks
    for (keys of retrieval/ingest/places.py, strongest first), those it only mentions, its organisation,
    the meeting its opening names, and a title made of these (in the speech's own script)."""

    places: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()
    organisation: str = ""
    meeting: str = ""
    title: str = ""


@dataclass(frozen=True)
class Speech:
    id: str
    title: str
    source_file: str
    lines: tuple[str, ...]
    spun: bool = False  # its document went through a synonym spinner (see respelling.py)
    source_title: str = ""  # the source's own title when `title` was derived from the text (see describe.py)
    repaired: frozenset[str] = frozenset()  # spots of its text repaired from encoding damage (build time only)
    about: SpeechFacts = SpeechFacts()


def is_section_start(line: str, earlier_lines: set[str] | None = None) -> bool:
    """A collection's heading for its next speech.

    A numbered title counts only when its unnumbered form stood earlier as the
    page title (`earlier_lines`, folded), so a numbered point is not taken for one.
    """
    return _starts_section(fold(line.strip()), earlier_lines)


def _starts_section(folded: str, earlier_lines: set[str] | None) -> bool:
    if COLLECTION_SECTION.match(folded):
        return True
    m = NUMBERED_TITLE.match(folded)
    return bool(m and earlier_lines and m.group("title").strip() in earlier_lines)


def _section_starts(lines: list[str]) -> list[int]:
    seen: set[str] = set()
    starts = []
    for i, line in enumerate(lines):
        folded = fold(line.strip())
        if _starts_section(folded, seen):
            starts.append(i)
        seen.add(folded)
    return starts


def split_speeches(source_file: str, file_tag: str, lines: list[str]) -> list[Speech]:
    """Speeches of one cleaned document, in order, ids `{file_tag}-{n}` (`-{n}.{m}` for parts)."""
    starts = _section_starts(lines)
    if not starts:
        title, body = _title_and_body(lines, fallback=source_file.rsplit(".", 1)[0])
        sections = [(title, body)]
    else:
        bounds = starts + [len(lines)]
        sections = [(lines[a], lines[a + 1 : b]) for a, b in pairwise(bounds)]

    speeches: list[Speech] = []
    for n, (title, body) in enumerate(sections, start=1):
        parts = _split_at_salutations(body)
        if len(parts) == 1:
            speeches.append(Speech(f"{file_tag}-{n}", title, source_file, tuple(parts[0])))
            continue
        for m, part in enumerate(parts, start=1):
            speeches.append(Speech(f"{file_tag}-{n}.{m}", f"{title}（{_numeral(m)}）", source_file, tuple(part)))
    return [s for s in speeches if s.lines]


def _title_and_body(lines: list[str], fallback: str) -> tuple[str, list[str]]:
    """A single-speech file's title is its first line when that reads as a title."""
    if lines and _reads_as_title(lines[0]):
        return lines[0], lines[1:]
    return fallback, lines


def _reads_as_title(line: str) -> bool:
    return len(line) <= TITLE_MAX and line[-1] not in "。！？!?；;:：，," and not SALUTATION.match(line)


def _split_at_salutations(body: list[str]) -> list[list[str]]:
    """One part per salutation when a section holds several speeches."""
    folded_body = [(line, fold(line)) for line in body]
    kept = [(line, folded) for line, folded in folded_body if not LONE_ENUMERATOR.match(folded)]
    body = [line for line, _ in kept]
    salutations = [i for i, (_, folded) in enumerate(kept) if SALUTATION.match(folded)]
    if len(salutations) < 2:
        return [body]
    bounds = [0] + salutations[1:] + [len(body)]
    return [body[a:b] for a, b in pairwise(bounds)]


def _numeral(n: int) -> str:
    return CHINESE_NUMERALS[n - 1] if n <= len(CHINESE_NUMERALS) else str(n)
