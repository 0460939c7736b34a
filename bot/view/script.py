"""The reader's script: which one a question is written in, and the reply shown in it, in their region's forms.

The corpus mixes Simplified and Traditional files; a reader preparing a paper
wants the whole reply in the script they asked in, not a mix to convert by
hand. Detection counts only characters that belong to one script
(hanzidentifier's CC-CEDICT character sets): 台, 才, 里 are written in both,
so 台北今天會下雨嗎 is Traditional by 會 and 嗎 alone. Traditional readers get
their region's standard forms (OpenCC's s2tw or s2hk: 為, not the 爲 of the
bare s2t), chosen from the forms the reader writes, else their Telegram
language, else the deployment's TRADITIONAL_VARIANT (s2tw by default).
Conversion keeps HTML tags in place by converting only the text between
them, so bold and underline stay on the same words whatever length OpenCC's
phrase conversion gives the pieces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from functools import cache
from html import escape, unescape

import hanzidentifier
import opencc

# The Traditional variants a deployment may choose (TRADITIONAL_VARIANT): OpenCC's configurations.
TRADITIONAL_VARIANTS = ("s2tw", "s2hk", "s2twp", "s2t")
DEFAULT_VARIANT = "s2tw"
# Telegram languages that name a region, and its OpenCC configuration.
REGION_VARIANTS = {"zh-tw": "s2tw", "zh-hk": "s2hk", "zh-mo": "s2hk"}
# A region's standard forms of a Traditional text (the reverse check: which standard leaves it as typed).
REGION_CHECKS = {"s2tw": "t2tw", "s2hk": "t2hk"}
# In a mixed question the script with this many times the other's marks still wins.
DOMINANCE = 3

_TAG = re.compile(r"(<[^>]*>)")


class Script(Enum):
    SIMPLIFIED = "simplified"
    TRADITIONAL = "traditional"


@cache
def _converter(config: str) -> opencc.OpenCC:
    return opencc.OpenCC(config)


@cache
def _kind(ch: str) -> int:
    return hanzidentifier.identify(ch)


def detect(text: str, dominance: int = DOMINANCE) -> Script | None:
    """The script a text is written in; None when no character tells (numbers, Latin, only shared
    characters) or both scripts are there in earnest (neither has `dominance` times the other's marks)."""
    traditional = simplified = 0
    for ch in text:
        kind = _kind(ch)
        traditional += kind == hanzidentifier.TRADITIONAL
        simplified += kind == hanzidentifier.SIMPLIFIED
    if traditional > dominance * simplified:
        return Script.TRADITIONAL
    if simplified > dominance * traditional:
        return Script.SIMPLIFIED
    return None


def regional_variant(text: str) -> str | None:
    """The region whose standard forms a Traditional text is written in (裏/羣: Hong Kong, 裡/群: Taiwan):
    the one whose standard changes fewer of its characters; None when they change as many."""
    changed = {
        variant: sum(a != b for a, b in zip(text, _converter(check).convert(text), strict=False))
        for variant, check in REGION_CHECKS.items()
    }
    tw, hk = changed["s2tw"], changed["s2hk"]
    return None if tw == hk else "s2tw" if tw < hk else "s2hk"


@dataclass(frozen=True)
class Writer:
    """Writes text in one script; `source=True` leaves corpus text as the source has it."""

    script: Script = Script.SIMPLIFIED
    variant: str = DEFAULT_VARIANT
    source: bool = False

    def text(self, text: str) -> str:
        """Plain text in the reader's script."""
        if self.source:
            return text
        config = "t2s" if self.script is Script.SIMPLIFIED else self.variant
        return _converter(config).convert(text)

    def words(self, text: str) -> str:
        """The bot's own words (written in Simplified): converted even when corpus text is shown as is."""
        return text if self.script is Script.SIMPLIFIED else _converter(self.variant).convert(text)

    def html(self, html: str) -> str:
        """Telegram HTML in the reader's script: the text between tags converted piece by piece."""
        if self.source:
            return html
        return "".join(
            piece if piece.startswith("<") else escape(self.text(unescape(piece)), quote=False)
            for piece in _TAG.split(html)
            if piece
        )


SIMPLIFIED = Writer()


def writer_for(question: str, last: Script | None = None, variant: str | None = None) -> Writer:
    """The writer for a reply: the question's script (else the reader's last one, else Simplified), in the
    question's regional forms, else `variant`, else the default (s2tw)."""
    script = detect(question) or last or Script.SIMPLIFIED
    return Writer(script, regional_variant(question) or variant or DEFAULT_VARIANT)


def source_script(text: str) -> Writer:
    """A writer that puts a corpus text (a derived title: the speech's own words, and 讲话) wholly in the script
    most of it is written in, keeping its own forms."""
    script = detect(text, dominance=1)
    if script is Script.TRADITIONAL:
        return Writer(Script.TRADITIONAL, "s2t")
    return Writer(Script.SIMPLIFIED) if script is Script.SIMPLIFIED else Writer(source=True)
