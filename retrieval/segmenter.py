"""Word segmentation with jieba, over the full dictionary or over the corpus's own lexicon.

Loading jieba's 350,000-word dictionary takes about a second, longer than
everything else at start-up together. A passage can only ever be cut into
dictionary words that occur in it, so the index keeps those — every
dictionary word jieba's word graph finds in the corpus, with its frequency
and the full dictionary's total — and the dictionary's most common words,
so that a question about something else (世界杯, 电影) is still cut into
whole words the corpus lacks. Segmenting with this lexicon gives the same
passage tokens as the full dictionary and loads in a fraction of the time;
the full dictionary is loaded only to build an index.
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

import jieba

from retrieval.resources import LEXICON_DIR  # shipped with the package (resources.py)

jieba.setLogLevel(60)

# How many of the dictionary's most frequent words the lexicon keeps beside the corpus's own.
COMMON_WORDS = 30_000

USER_DICT = LEXICON_DIR / "userdict.txt"


@dataclass(frozen=True)
class Lexicon:
    """The dictionary words a corpus holds, with their frequencies, and the full dictionary's total."""

    words: dict[str, int]
    total: int


class Segmenter:
    def __init__(self, tokenizer: jieba.Tokenizer) -> None:
        self._tokenizer = tokenizer

    @classmethod
    def from_lexicon(cls, lexicon: Lexicon) -> Segmenter:
        tokenizer = jieba.Tokenizer()
        freq: dict[str, int] = {}
        for word, count in lexicon.words.items():
            freq[word] = count
            for end in range(1, len(word)):
                freq.setdefault(word[:end], 0)  # jieba's prefix entries, for its word graph
        tokenizer.FREQ, tokenizer.total, tokenizer.initialized = freq, lexicon.total, True
        return cls(tokenizer)

    def cut_for_search(self, text: str) -> Iterator[str]:
        return self._tokenizer.cut_for_search(text)

    def lexicon_of(self, texts: Iterable[str], common: int = COMMON_WORDS) -> Lexicon:
        """The words of this dictionary that jieba's word graph finds in the texts, and its `common` most frequent."""
        tokenizer = self._tokenizer
        freq = tokenizer.FREQ
        words = dict(heapq.nlargest(common, ((w, f) for w, f in freq.items() if f), key=lambda item: item[1]))
        for text in texts:
            for start, ends in tokenizer.get_DAG(text).items():
                for end in ends:
                    word = text[start : end + 1]
                    if freq.get(word):
                        words[word] = freq[word]
        return Lexicon(words, tokenizer.total)


_full_lock = threading.Lock()


@lru_cache(maxsize=1)
def _full() -> Segmenter:
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    if USER_DICT.is_file():  # a deployment's own domain words, if it keeps any; none ship
        tokenizer.load_userdict(str(USER_DICT))
    return Segmenter(tokenizer)


def full_segmenter() -> Segmenter:
    """jieba's whole dictionary (plus data/lexicon/userdict.txt where a deployment adds one): for building."""
    with _full_lock:
        return _full()
