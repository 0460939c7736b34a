"""Folding and tokenizing: the one place where text becomes search terms.

Chunks and questions go through the same functions, so a Traditional
question finds a Simplified passage and a full-width digit finds a
half-width one.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import opencc
import stopwordsiso

from retrieval.lexical.segmenter import LEXICON_DIR, Segmenter, full_segmenter

_T2S = opencc.OpenCC("t2s")

# Template blanks in the speeches (20____年, xx区, 20**年, 【人名】): shown to the
# reader as they stand, but they are not words anyone searches for.
# The lookahead lets the engine pass over most characters at once instead of trying each alternative there.
PLACEHOLDER = re.compile(
    r"(?=[_＿xX×*【某])(?:_{2,}|＿{2,}|(?<![A-Za-z])[xX×]{2,}(?![A-Za-z])|\*{2,}|【[^】]{0,8}】|某某)"
)

# A number with its decimal part and unit stays one term: 50万, 90.6%, 3.5%.
NUMBER = re.compile(r"\d+(?:\.\d+)?(?:%|万|亿|千|百)?")

# Question prefixes glued to the word they ask about: 哪三大 -> 三大, 几类 -> 类.
QUESTION_PREFIX = re.compile(r"^(?:哪|几|多少)(?=.)")

_WORDLIKE = re.compile(r"[\w%]")
_NOT_ALNUM = re.compile(r"[\W_]+")  # \w is str.isalnum() and "_"


# Zero-width characters inside a word (pasted from web pages, or put there to dodge a filter) would hide it
# from search: the search form drops them.
ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u180e"))


def fold(text: str) -> str:
    """Search form of a text: zero-width characters out, NFKC (full-width → half-width), Simplified, lower case."""
    return _T2S.convert(unicodedata.normalize("NFKC", text.translate(ZERO_WIDTH))).lower()


def fold_chars(text: str) -> str:
    """Fold character by character so that offsets in the result match the input.

    Used to find matched terms inside display text (which may be Traditional)
    for highlighting; characters whose fold is not one character stay as they are.
    """
    return text.translate(_FOLDED_CHARS)


class _FoldedChars(dict[int, str]):
    """Code point → its fold, filled as characters are met (str.translate looks each up in C)."""

    def __missing__(self, point: int) -> str:
        ch = chr(point)
        folded = fold(ch)
        self[point] = folded = folded if len(folded) == 1 else ch
        return folded


_FOLDED_CHARS = _FoldedChars()


def strip_placeholders(text: str) -> str:
    return PLACEHOLDER.sub(" ", text)


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """stopwordsiso's Chinese list plus the project's question words (data/lexicon)."""
    extra = (LEXICON_DIR / "stopwords.txt").read_text(encoding="utf-8").splitlines()
    words = set(stopwordsiso.stopwords("zh"))
    words.update(w.strip() for w in extra if w.strip() and not w.startswith("#"))
    return frozenset(fold(w) for w in words)


def segment_input(text: str) -> str:
    """What jieba is given for a text: folded, template blanks out."""
    return strip_placeholders(fold(text))


def _segments(segmenter: Segmenter, folded: str) -> list[str]:
    """Split around numbers so that 50万 and 90.6% survive jieba as one term."""
    parts: list[str] = []
    pos = 0
    for m in NUMBER.finditer(folded):
        if m.start() > pos:
            parts.extend(segmenter.cut_for_search(folded[pos : m.start()]))
        parts.append(m.group())
        pos = m.end()
    if pos < len(folded):
        parts.extend(segmenter.cut_for_search(folded[pos:]))
    return parts


def word_tokens(text: str, segmenter: Segmenter | None = None) -> list[str]:
    """Word terms of a text: folded, placeholders out, jieba search mode, no stopwords or punctuation."""
    parts = _segments(segmenter or full_segmenter(), segment_input(text))
    return [t for t in map(_word_term, parts) if t]


@lru_cache(maxsize=1 << 18)
def _word_term(part: str) -> str:
    """A cut part as a term, or "" (stopword, punctuation): the same few thousand parts recur everywhere."""
    term = part.strip()
    return term if term and term not in stopwords() and _WORDLIKE.search(term) else ""


def query_word_tokens(text: str, segmenter: Segmenter | None = None) -> list[str]:
    """Word terms of a question: as for passages, then question prefixes peeled off (哪三大 → 三大)."""
    tokens = []
    for t in word_tokens(text, segmenter):
        bare = QUESTION_PREFIX.sub("", t)
        if bare and bare not in stopwords():
            tokens.append(bare)
    return tokens


def char_text(text: str) -> str:
    """The CJK and alphanumeric characters of a folded text, placeholders out: the input to char n-grams."""
    return _NOT_ALNUM.sub("", strip_placeholders(fold(text)))


def char_unigrams(chars: str) -> list[str]:
    stop = stopwords()
    return [c for c in chars if c not in stop]


def char_bigrams(chars: str) -> list[str]:
    return [chars[i : i + 2] for i in range(len(chars) - 1)]
