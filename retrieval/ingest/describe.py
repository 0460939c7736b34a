"""Titles that tell speeches apart: derived from a speech's own text when its source title does not.

Collections title their speeches 质量工作会议讲话稿篇一…篇十三 or 質量強市工作領導講話(一)/(二):
the same words with a number, which say nothing of what each is about. For those, the title is
made from the speech itself: the meeting its opening names, the place it speaks for, and what it
is mainly about (its most characteristic nouns, leaving out those most speeches of the corpus use).
The source's title is kept beside it (Speech.source_title).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

from retrieval.ingest.speeches import Speech
from retrieval.lexical.text import PLACEHOLDER, fold, fold_chars

# The meeting a speech's opening names: 召开全市质量强市工作推进会, 这次全国质量工作会议.
MEETING = re.compile(
    r"(?:召开|举行|收听收看了|这次|今天这次)(?:了|的)?\s*"
    r"(?P<name>[^，,。；;：:、!！“”()（）\s]{2,30}?(?:会议|大会|会(?!议)))"
)
OPENING_LINES = 4
# Numbering that makes otherwise equal titles differ: 篇七, (一), （二）.
NUMBERING = re.compile(r"(?:篇[一二三四五六七八九十百]+|\s*[(（][一二三四五六七八九十\d]+[)）])+")
# A place a speech speaks for, as jieba tags places, written out in full: 金华市, 商丘市, 江苏省.
PLACE_SUFFIX = re.compile(r"^[^全我本各该此].{1,6}[省市县区州]$")
# Nouns used by at least this share of the corpus's speeches describe none of them.
COMMON_SHARE = 0.3
SUBJECTS = 2
REGIONAL = re.compile(r"^[全我本各该][省市县区国]")  # 全省, 我市: where every speech speaks, not what about


def describe(speeches: Sequence[Speech]) -> list[Speech]:
    """The speeches, those with a title shared but for its numbering titled from their own text."""
    stems = Counter(_stem(s.title) for s in speeches)
    generic = [s for s in speeches if stems[_stem(s.title)] > 1]
    if not generic:
        return list(speeches)
    import jieba.analyse
    import jieba.posseg

    nouns = {s.id: _nouns(s, jieba.analyse) for s in speeches}
    used_by = Counter(w for words in nouns.values() for w in set(words))
    common = {w for w, n in used_by.items() if n >= COMMON_SHARE * len(speeches)}
    titled = {}
    for speech in generic:
        text = "\n".join(speech.lines)
        searchable = fold_chars(text)  # folded character by character: offsets match the text
        meeting = _meeting(speech)
        place = _place(searchable, jieba.posseg)
        subjects = [
            w
            for w in nouns[speech.id]
            if w not in common and w not in meeting and w not in place and not REGIONAL.match(w)
        ]
        # every part in the speech's own script
        meeting, place, *subjects = (_as_written(text, searchable, w) for w in (meeting, place, *subjects[:SUBJECTS]))
        title = _title(meeting, place, subjects)
        if title:
            titled[speech.id] = replace(speech, title=title, source_title=speech.title)
    return [titled.get(s.id, s) for s in speeches]


def _as_written(text: str, searchable: str, folded: str) -> str:
    """A folded phrase as the speech writes it (Traditional in a Traditional speech)."""
    at = searchable.find(folded) if folded else -1
    return text[at : at + len(folded)] if at >= 0 else folded


def _stem(title: str) -> str:
    return NUMBERING.sub("", fold(title)).strip()


def _nouns(speech: Speech, analyse) -> list[str]:  # noqa: ANN001 - jieba.analyse, imported when needed
    text = fold("\n".join(speech.lines))
    return [w for w in analyse.extract_tags(text, topK=12, allowPOS=("n", "nz", "vn")) if len(w) > 1]


def _meeting(speech: Speech) -> str:
    opening = "\n".join(fold_chars(line) for line in speech.lines[:OPENING_LINES])
    m = MEETING.search(opening)
    if not m:
        return ""
    name = PLACEHOLDER.sub("", m.group("name"))
    return re.sub(r"^[\d\s]*年?(?:度)?", "", name).strip()


def _place(text: str, posseg) -> str:  # noqa: ANN001 - jieba.posseg, imported when needed
    places = Counter(w for w, flag in posseg.cut(text) if flag == "ns" and PLACE_SUFFIX.match(w))
    return places.most_common(1)[0][0] if places else ""


def _title(meeting: str, place: str, subjects: list[str]) -> str:
    """商丘市：全省质量工作大会讲话（品牌、…）; a title with nothing to say is none."""
    if not (meeting or place or subjects):
        return ""
    head = f"{meeting}讲话" if meeting else "讲话"
    if place:
        head = f"{place}：{head}"
    return f"{head}（{'、'.join(subjects)}）" if subjects else head
