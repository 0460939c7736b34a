"""Cut a speech into passages a reader can take in at a glance (about 400 characters).

Headings join the paragraph they head, so a passage reads with its point and
a heading never stands alone — also a numbered heading written as a sentence
(〔二〕着力抓好质量安全。), and a one-sentence paragraph left alone after
packing (a lead-in) joins the next; long paragraphs are cut at sentence ends
into balanced pieces; runs of short paragraphs (list items) are packed together.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cached_property

from retrieval.ingest.respelling import read_back
from retrieval.ingest.speeches import SALUTATION, Speech
from retrieval.lexical.text import fold, fold_chars

TARGET_CHARS = 400
MAX_CHARS = 500
HEADING_MAX = 60
SHORT_PARAGRAPH = 150

# A sentence ends at 。！？；, and at ASCII ! or ? unless a digit or Latin letter follows (3?15 is damage,
# not two sentences).
_END = r"(?:[。！？；;]|[!?](?![0-9A-Za-z]))"
_NOT_END = r"(?:[^。！？!?；;]|[!?](?=[0-9A-Za-z]))"
SENTENCE = re.compile(rf"{_NOT_END}*{_END}+[”’\"」』）)]*|{_NOT_END}+$")
CLAUSE = re.compile(r"[^，,、]*[，,、]+|[^，,、]+$")
TOP_HEADING = re.compile(r"^(?:[一二三四五六七八九十]+、|第[一二三四五六七八九十]+部分)")
# A numbered point: 一、 〔二〕 (三) 1、 2. 第一，
ENUMERATED = re.compile(
    r"^(?:[〔(（\[【]\s*[一二三四五六七八九十\d]+\s*[〕)）\]】]|[一二三四五六七八九十]+[、.．]|\d{1,2}\s*[、.．]"
    r"|第[一二三四五六七八九十]+[、，,])"
)


@dataclass(frozen=True)
class Chunk:
    id: str
    speech_id: str
    ordinal: int
    paragraph: int
    section: str
    text: str
    spun: bool = False  # its document went through a synonym spinner (see respelling.py)
    repaired: bool = False  # encoding damage in its source was repaired (see cleaning.repair_encoding)

    @cached_property
    def search_text(self) -> str:
        """Folded (and read back if spun), as long as text: for matching and highlighting."""
        return search_form(self.text, self.spun)

    def __getstate__(self) -> dict[str, object]:
        """Pickled (from a build worker) without the cached search form: recomputed where it is needed."""
        return {name: value for name, value in self.__dict__.items() if name != "search_text"}


@dataclass
class _Unit:
    paragraph: int
    section: str
    headed: bool
    text: str
    repaired: bool = False


def is_heading(line: str) -> bool:
    """A short line that does not end a sentence: a heading, a salutation or a lead-in."""
    return len(line) <= HEADING_MAX and (line[-1] not in "。！？!?；;…" or bool(SALUTATION.match(fold(line))))


def heads_next(line: str, before: str | None, after: str | None) -> bool:
    """A numbered heading written as a sentence (〔二〕着力抓好质量安全……。): a short numbered line of one
    sentence between unnumbered paragraphs (not an item of a list), which belongs with the paragraph after it."""
    if len(line) > HEADING_MAX or after is None or len(split_sentences(line)) != 1 or not ENUMERATED.match(line):
        return False
    return not ENUMERATED.match(after) and not (before is not None and ENUMERATED.match(before))


def paragraph_at(text: str, first: int, last: int, offset: int) -> int:
    """The paragraph at an offset of a passage that packs paragraphs first..last (a body line each, with
    the headings before it): exact when its body lines number last - first + 1, else `first`."""
    if last <= first:
        return first
    lines = text.split("\n")
    numbers: list[int] = []  # each line's paragraph, counted from 1; a heading takes the one after it
    count, waiting = 0, 0
    for line in lines:
        if line and not is_heading(line):
            count += 1
            numbers.extend([count] * (waiting + 1))
            waiting = 0
        else:
            waiting += 1
    numbers.extend([max(count, 1)] * waiting)
    if count != last - first + 1:
        return first
    at = 0
    for line, number in zip(lines, numbers, strict=True):
        at += len(line) + 1
        if offset < at:
            return first - 1 + number
    return last


def search_form(text: str, spun: bool = False) -> str:
    return fold_chars(read_back(text) if spun else text)


def split_sentences(text: str) -> list[str]:
    return [s for s in SENTENCE.findall(text) if s.strip()]


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence, surrounding white space left out."""
    spans = []
    for m in SENTENCE.finditer(text):
        sentence = m.group()
        kept = sentence.strip()
        if kept:
            start = m.start() + len(sentence) - len(sentence.lstrip())
            spans.append((start, start + len(kept)))
    return spans


def chunk_speech(speech: Speech) -> list[Chunk]:
    pieces: list[_Unit] = []
    for unit in _no_lone_sentence(_pack_short(_units(speech.lines, speech.repaired))):
        pieces.extend(_split_long(unit))
    return [
        Chunk(
            f"{speech.id}:{i}",
            speech.id,
            i,
            p.paragraph,
            p.section,
            p.text,
            speech.spun,
            p.repaired and any(spot in p.text for spot in speech.repaired),
        )
        for i, p in enumerate(pieces, start=1)
    ]


def _units(lines: tuple[str, ...], repaired: frozenset[str] = frozenset()) -> list[_Unit]:
    """Body paragraphs, numbered, each with the headings that precede it."""
    units: list[_Unit] = []
    headings: list[str] = []
    section = ""
    paragraph = 0
    for k, line in enumerate(lines):
        if TOP_HEADING.match(line):
            section = line
        before = lines[k - 1] if k else None
        after = lines[k + 1] if k + 1 < len(lines) else None
        if is_heading(line) or heads_next(line, before, after):
            headings.append(line)
            continue
        paragraph += 1
        text = "\n".join([*headings, line])
        units.append(_Unit(paragraph, section, bool(headings), text, any(s in text for s in repaired)))
        headings = []
    if headings and units:  # trailing headings with no body: they close the last paragraph
        units[-1].text = "\n".join([units[-1].text, *headings])
    elif headings:
        units.append(_Unit(1, section, True, "\n".join(headings)))
    return units


def _pack_short(units: list[_Unit]) -> list[_Unit]:
    """Join runs of short paragraphs (list items) up to the target size; never across a heading."""
    packed: list[_Unit] = []
    for unit in units:
        last = packed[-1] if packed else None
        if (
            last is not None
            and not unit.headed
            and len(last.text) < SHORT_PARAGRAPH + TARGET_CHARS // 2
            and len(unit.text) < SHORT_PARAGRAPH
            and len(last.text) + len(unit.text) + 1 <= TARGET_CHARS
        ):
            last.text = f"{last.text}\n{unit.text}"
            last.repaired = last.repaired or unit.repaired
            continue
        packed.append(_Unit(unit.paragraph, unit.section, unit.headed, unit.text, unit.repaired))
    return packed


def _no_lone_sentence(units: list[_Unit]) -> list[_Unit]:
    """A passage of one short sentence that packing left alone (a lead-in such as 面对新的形势，我们必须……。
    before a long point) joins the paragraph after it, or the one before when it is the last."""
    out: list[_Unit] = []
    carried: _Unit | None = None
    for unit in units:
        if carried is not None:
            unit = _Unit(
                carried.paragraph, unit.section, True, f"{carried.text}\n{unit.text}", carried.repaired or unit.repaired
            )
            carried = None
        if len(unit.text) <= HEADING_MAX and len(split_sentences(unit.text)) == 1:
            carried = unit
            continue
        out.append(unit)
    if carried is not None:
        if out:
            out[-1].text = f"{out[-1].text}\n{carried.text}"
            out[-1].repaired = out[-1].repaired or carried.repaired
        else:
            out.append(carried)
    return out


def _split_long(unit: _Unit) -> list[_Unit]:
    if len(unit.text) <= MAX_CHARS:
        return [unit]
    pieces = _balanced(_sentences_within(unit.text, MAX_CHARS), len(unit.text))
    return [_Unit(unit.paragraph, unit.section, unit.headed and i == 0, p, unit.repaired) for i, p in enumerate(pieces)]


def _sentences_within(text: str, limit: int) -> list[str]:
    """Sentences, with any sentence over the limit cut at commas, then hard."""
    out: list[str] = []
    for sentence in split_sentences(text):
        if len(sentence) <= limit:
            out.append(sentence)
            continue
        current = ""
        for clause in CLAUSE.findall(sentence):
            if current and len(current) + len(clause) > limit:
                out.append(current)
                current = ""
            while len(clause) > limit:
                out.append(clause[:limit])
                clause = clause[limit:]
            current += clause
        if current:
            out.append(current)
    return out


def _balanced(sentences: list[str], total: int) -> list[str]:
    """Pack sentences into about equal pieces near TARGET_CHARS, none over MAX_CHARS."""
    pieces_wanted = math.ceil(total / TARGET_CHARS)
    goal = min(MAX_CHARS, total / pieces_wanted * 1.15)
    pieces: list[str] = []
    current = ""
    for sentence in sentences:
        if current and len(current) + len(sentence) > goal:
            pieces.append(current)
            current = ""
        current += sentence
    if current:
        pieces.append(current)
    return [p.strip() for p in pieces if p.strip()]
