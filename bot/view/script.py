"""The reader's script: which one a question is written in, and the reply shown in it.

The corpus mixes Simplified and Traditional files; a reader preparing a paper
wants the whole reply in the script they asked in, not a mix to convert by
hand. Detection is an OpenCC round trip: a text that t2s changes holds
Traditional forms, one that s2t changes where t2s does not holds Simplified
ones. Conversion keeps HTML tags in place by converting only the text
between them, so bold and underline stay on the same words whatever length
OpenCC's phrase conversion gives the pieces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from functools import cache
from html import escape, unescape

import opencc

# The Traditional variants a deployment may choose (TRADITIONAL_VARIANT): OpenCC's configurations.
TRADITIONAL_VARIANTS = ("s2t", "s2tw", "s2hk", "s2twp")
# In a mixed question the script with this many times the other's marks still wins (one stray shared
# character, such as 台 in a Taiwanese question, does not make it "mixed").
DOMINANCE = 3

_TAG = re.compile(r"(<[^>]*>)")


class Script(Enum):
    SIMPLIFIED = "simplified"
    TRADITIONAL = "traditional"


@cache
def _converter(config: str) -> opencc.OpenCC:
    return opencc.OpenCC(config)


def detect(text: str, variant: str = "s2t") -> Script | None:
    """The script a text is written in; None when it has no marks of either, or a real mix of both."""
    to_simplified = _converter("t2s").convert(text)
    to_traditional = _converter(variant).convert(text)
    traditional_marks = simplified_marks = 0
    if len(to_simplified) == len(text) == len(to_traditional):
        for ch, simp, trad in zip(text, to_simplified, to_traditional, strict=True):
            if simp != ch:
                traditional_marks += 1
            elif trad != ch:
                simplified_marks += 1
    else:  # phrase conversion changed the length: judge the whole text
        traditional_marks = int(to_simplified != text)
        simplified_marks = int(not traditional_marks and to_traditional != text)
    if traditional_marks > DOMINANCE * simplified_marks:
        return Script.TRADITIONAL
    if simplified_marks > DOMINANCE * traditional_marks:
        return Script.SIMPLIFIED
    return None


@dataclass(frozen=True)
class Writer:
    """Writes text in one script; `source=True` leaves corpus text as the source has it."""

    script: Script = Script.SIMPLIFIED
    variant: str = "s2t"
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


def writer_for(question: str, last: Script | None, variant: str = "s2t") -> Writer:
    """The writer for a reply: the question's script, else the reader's last one, else Simplified."""
    return Writer(detect(question, variant) or last or Script.SIMPLIFIED, variant)
