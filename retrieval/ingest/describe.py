"""What a speech is about, from its own text: the places it speaks for, those it only mentions, its
organisation and meeting, and, made of these, a title that tells it apart.

Worked out one file at a time, in the build's worker processes, from the words the build cuts anyway,
the speech's first lines, and general static resources (the places of retrieval/ingest/places.py, jieba's
dictionary tags and its IDF table). Nothing here looks at other files, so a speech's facts and derived
title stay as they are whatever other file is added, removed or restored; the store keeps them with the
file's analysis.

- *Places it speaks for*: those named in its title, its meeting or its opening lines (an opening place
  only when the speech names it again: 永康市 reporting at 金华's meeting is a guest), and the place its
  我市/全县/本区 points at: of the places of that kind it names (a 市 for 我市), the one named most.
  Every other place it names, it only mentions (深圳 in a building accident).
- *Organisation*: a company or group its opening names and its text names again (中铁某局集团), where it
  has one.
- *Derived title* (`商丘市：全省质量工作大会讲话（品牌、省长）`): its place, its meeting, and its two most
  characteristic nouns — high in it by jieba's IDF, and higher than in the other speeches of its file, so
  a collection's speeches are told apart where their texts differ. All in the speech's own script.

Speeches whose source titles are the same but for their numbering (质量工作会议讲话稿篇一…篇十三) are
shown under the derived title (`titled`), the source's kept beside it (Speech.source_title).
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace

import opencc

from retrieval.ingest.chunking import Chunk
from retrieval.ingest.places import Gazetteer, gazetteer
from retrieval.ingest.speeches import Speech, SpeechFacts
from retrieval.lexical.segmenter import Segmenter, dictionary_tags, fast_segmenter, general_idf
from retrieval.lexical.text import PLACEHOLDER, fold, fold_chars

# The meeting a speech's opening names: 召开全市质量强市工作推进会, 这次全国质量工作会议.
MEETING = re.compile(
    r"(?:召开|举行|收听收看了|这次|今天这次)(?:了|的)?\s*"
    r"(?P<name>[^，,。；;：:、!！“”()（）\s]{2,30}?(?:会议|大会|会(?!议)))"
)
OPENING_LINES = 4
OPENING_CHARS = 200
SCRIPT_SAMPLE = 2000  # characters read to tell a Traditional speech from a Simplified one
# An opening's place counts when the speech names it at least this often.
OPENING_REPEATS = 2
# 我市, 全县, 本区: where the speaker speaks from; the kind named most often is the speaker's own.
SELF_REFERENCE = re.compile(r"([我全本])([省市县区])")  # 我/本 say whose; 全 only where neither is used
SELF_REFERENCES_NEEDED = 2
# Numbering that makes otherwise equal titles differ: 篇七, (一), （二）.
NUMBERING = re.compile(r"(?:篇[一二三四五六七八九十百]+|\s*[(（][一二三四五六七八九十\d]+[)）])+")
SUBJECTS = 2
SUBJECT_TAGS = frozenset({"n", "nz", "vn"})  # nouns, as jieba.analyse's allowPOS default for titles
REGIONAL = re.compile(r"^[全我本各该][省市县区国]")  # 全省, 我市: where every speech speaks, not what about
ORGANISATION_ENDS = ("集团公司", "公司", "集团")
ORGANISATION_TOKENS = 3  # words before 集团/公司 that may make up the name
ORGANISATION_REPEATS = 2
PROPER_TAGS = frozenset({"nr", "ns", "nt", "nz"})  # jieba's names of people, places, organisations, others


def describe_file(speeches: Sequence[Speech], chunks: Sequence[Chunk], words: Sequence[Sequence[str]]) -> list[Speech]:
    """One file's speeches with their facts; `words` holds each passage's word terms, as the build cut them."""
    places = gazetteer()
    counts: dict[str, Counter[str]] = {s.id: Counter() for s in speeches}
    for chunk, passage_words in zip(chunks, words, strict=True):
        counts[chunk.speech_id].update(passage_words)
    weights = {s.id: _weights(counts[s.id], places) for s in speeches}
    described = []
    for speech in speeches:
        others = [weights[o.id] for o in speeches if o.id != speech.id]
        described.append(replace(speech, about=_facts(speech, counts[speech.id], weights[speech.id], others, places)))
    return described


def titled(speeches: Sequence[Speech]) -> list[Speech]:
    """The speeches, those whose source titles are the same but for their numbering under their derived titles.

    Cheap (titles only): run wherever an index is put together, so a change shows what a rebuild would.
    """
    source = [s.source_title or s.title for s in speeches]
    stems = Counter(_stem(t) for t in source)
    out = []
    for speech, title in zip(speeches, source, strict=True):
        if stems[_stem(title)] > 1 and speech.about.title:
            out.append(replace(speech, title=speech.about.title, source_title=title))
        elif speech.source_title:
            out.append(replace(speech, title=title, source_title=""))
        else:
            out.append(speech)
    return out


def _facts(
    speech: Speech,
    counts: Counter[str],
    weights: Mapping[str, float],
    others: Sequence[Mapping[str, float]],
    places: Gazetteer,
) -> SpeechFacts:
    text = "\n".join(speech.lines)
    searchable = fold_chars(text)  # folded character by character: offsets match the text
    cutter = fast_segmenter()
    named = _times_named(counts, places)
    meeting = _meeting(speech)
    own = _self_place(searchable, named, counts, places)
    opening = [k for line in _opening(speech) for k in _places_in(fold(line), cutter, places)]
    spoken_for = [
        *_places_in(fold(speech.source_title or speech.title), cutter, places),
        *_places_in(meeting, cutter, places),
        *own,
        *([] if own else [k for k in opening if named[k] >= OPENING_REPEATS]),
    ]
    spoken_for = list(dict.fromkeys(spoken_for))
    mentions = [k for k, _ in named.most_common() if k not in spoken_for]
    organisation = _organisation(speech, searchable, cutter)
    subjects = _subjects(speech, weights, others, meeting, [*spoken_for, organisation], places)
    place = _written_form(spoken_for[0], counts, places) if spoken_for else ""
    parts = [_as_written(text, searchable, p) for p in (meeting, place, organisation, *subjects)]
    title = _title(parts[0], parts[1] or parts[2], parts[3:], _is_traditional(text, searchable))
    return SpeechFacts(tuple(spoken_for), tuple(mentions), parts[2], parts[0], title)


def _opening(speech: Speech) -> list[str]:
    """Its first lines, each up to OPENING_CHARS: who speaks, where, at what, is said at the start."""
    return [line[:OPENING_CHARS] for line in speech.lines[:OPENING_LINES]]


def _places_in(folded: str, cutter: Segmenter, places: Gazetteer) -> list[str]:
    return [found.key for found in places.in_tokens(cutter.cut(folded))] if folded else []


def _times_named(counts: Counter[str], places: Gazetteer) -> Counter[str]:
    """How often the speech names each place: its most used form's count (search-mode words list 金华 inside
    金华市 as well, so forms are not added up)."""
    named: Counter[str] = Counter()
    for word, n in counts.items():
        key = places.forms.get(word)
        if key is not None and n > named[key]:
            named[key] = n
    return named


def _self_place(searchable: str, named: Counter[str], counts: Counter[str], places: Gazetteer) -> list[str]:
    """The place 我市/全县/本区 points at: of the kind of self-reference used most, the place of that kind
    (a form the speech writes ends in it: 雨花台区; or its name does and the speech names it more than once)
    that the speech names most."""
    found = SELF_REFERENCE.findall(searchable)
    kinds = Counter(kind for who, kind in found if who != "全") or Counter(kind for _, kind in found)
    if not kinds:
        return []
    kind, times = kinds.most_common(1)[0]
    if times < SELF_REFERENCES_NEEDED:
        return []
    for key, n in named.most_common():
        written = [f for f in places.forms_of.get(key, ()) if counts[f]]
        if any(f.endswith(kind) for f in written) or (
            places.places[key].name.endswith(kind) and n >= SELF_REFERENCES_NEEDED
        ):
            return [key]
    return []


def _written_form(key: str, counts: Counter[str], places: Gazetteer) -> str:
    """The place as this speech writes it in full (金华市 rather than 金华, which search-mode words also list
    inside 金华市), folded; the short form only when the speech never writes it in full."""
    forms = [f for f in places.forms_of.get(key, ()) if counts[f]]
    return max(forms, key=lambda f: (len(f) > len(key), counts[f], len(f))) if forms else places.places[key].name


def _organisation(speech: Speech, searchable: str, cutter: Segmenter) -> str:
    """A company or group named in the title or opening lines (the words before its 集团/公司 that name it:
    华光电子集团) and named again in the text; not a bare 集团公司 or 有限公司."""
    tags = dictionary_tags()
    for line in (speech.source_title or speech.title, *_opening(speech)):
        tokens = cutter.cut(fold(line))
        for end, token in enumerate(tokens):
            if not token.endswith(ORGANISATION_ENDS):
                continue
            start = end
            while start > 0 and end - start < ORGANISATION_TOKENS and _names_part(tokens[start - 1], tags):
                start -= 1
            words = tokens[start:end]
            proper = any(tags.get(w, "nz")[:2] in PROPER_TAGS for w in words)
            name = "".join(tokens[start : end + 1])
            if proper and searchable.count(name) >= ORGANISATION_REPEATS:
                return name
    return ""


def _names_part(token: str, tags: Mapping[str, str]) -> bool:
    """A token that can be part of an organisation's name: a noun or a word jieba does not know."""
    tag = tags.get(token)
    return len(token) > 1 and (tag is None or tag[0] == "n")


def _weights(counts: Counter[str], places: Gazetteer) -> dict[str, float]:
    """Each noun's share of the speech's words times its IDF: what the speech talks about more than most text."""
    idf, median = general_idf()
    tags = dictionary_tags()
    total = sum(counts.values()) or 1
    inside = _only_inside_longer(counts)
    return {
        w: n / total * idf.get(w, median)
        for w, n in counts.items()
        if len(w) > 1
        and tags.get(w) in SUBJECT_TAGS
        and w not in inside
        and w not in places.forms
        and not REGIONAL.match(w)
    }


def _only_inside_longer(counts: Counter[str]) -> set[str]:
    """Words search mode lists only as pieces of a longer word (区政 of 区政府): as often as that word."""
    pieces = set()
    for word, n in counts.items():
        for size in range(2, len(word)):
            for start in range(len(word) - size + 1):
                piece = word[start : start + size]
                if piece in counts and counts[piece] <= n:
                    pieces.add(piece)
    return pieces


def _subjects(
    speech: Speech,
    weights: Mapping[str, float],
    others: Sequence[Mapping[str, float]],
    meeting: str,
    named: Sequence[str],
    places: Gazetteer,
) -> list[str]:
    """Its most characteristic nouns: weighted higher in it than, on average, in the other speeches of its file
    (copies of one text get the same), leaving out what the title, meeting or place already say."""
    said = fold(speech.source_title or speech.title) + meeting + "".join(named)

    def lead(word: str) -> float:
        return weights[word] - (statistics.fmean(o.get(word, 0.0) for o in others) if others else 0.0)

    def whole(word: str) -> str:
        """The word as a whole: 畜牧业 for 畜牧 where the speech weighs the longer word nearly as much."""
        longer = [w for w in weights if len(w) > len(word) and word in w and weights[w] >= weights[word] / 2]
        return max(longer, key=lambda w: (weights[w], w)) if longer else word

    chosen: list[str] = []
    for piece in sorted(weights, key=lambda w: (-lead(w), w)):
        if lead(piece) <= 0 or len(chosen) == SUBJECTS:
            break
        word = whole(piece)
        if word in said or any(word in c or c in word for c in chosen):
            continue
        chosen.append(word)
    return chosen


def _meeting(speech: Speech) -> str:
    opening = "\n".join(fold_chars(line) for line in speech.lines[:OPENING_LINES])
    m = MEETING.search(opening)
    if not m:
        return ""
    name = PLACEHOLDER.sub("", m.group("name"))
    return re.sub(r"^[\d\s]*年?(?:度)?", "", name).strip()


def _as_written(text: str, searchable: str, folded: str) -> str:
    """A folded phrase as the speech writes it (Traditional in a Traditional speech)."""
    at = searchable.find(folded) if folded else -1
    return text[at : at + len(folded)] if at >= 0 else folded


_S2T = opencc.OpenCC("s2t")


def _is_traditional(text: str, searchable: str) -> bool:
    """More than one in a hundred of its first Chinese characters fold to another (Simplified) character."""
    chinese = changed = 0
    for a, b in zip(text[:SCRIPT_SAMPLE], searchable[:SCRIPT_SAMPLE], strict=True):
        if "\u4e00" <= a <= "\u9fff":
            chinese += 1
            changed += a != b
    return changed * 100 > chinese


def _title(meeting: str, place: str, subjects: Sequence[str], traditional: bool) -> str:
    """商丘市：全省质量工作大会讲话（品牌、省长）, in the speech's script; a title with nothing to say is none."""
    if not (meeting or place or subjects):
        return ""
    speech = _S2T.convert("讲话") if traditional else "讲话"
    head = f"{meeting}{speech}"
    if place:
        head = f"{place}：{head}"
    return f"{head}（{'、'.join(subjects)}）" if subjects else head


def _stem(title: str) -> str:
    return NUMBERING.sub("", fold(title)).strip()
