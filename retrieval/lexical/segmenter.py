"""Word segmentation with jieba's algorithm, over the full dictionary or over the corpus's own lexicon.

Loading jieba's 350,000-word dictionary takes about a second, longer than
everything else at start-up together. A passage can only ever be cut into
dictionary words that occur in it, so the index keeps those — every
dictionary word jieba's word graph finds in the corpus, with its frequency
and the full dictionary's total — and the dictionary's most common words,
so that a question about something else (世界杯, 电影) is still cut into
whole words the corpus lacks. Segmenting with this lexicon gives the same
passage tokens as the full dictionary and loads in a fraction of the time;
the full dictionary is loaded only to build an index.

Building cuts passages with jieba-rs (the `rjieba` bindings), the same
algorithm, dictionary and HMM as jieba in Rust and about twenty times
faster; tests/lexical/test_segmenter.py holds its tokens to jieba's on every bundled
passage. jieba (Python) stays the reference, and cuts questions over the
lexicon. The word graph is read in the same pass that cuts (`GraphRecorder`),
not in a second one.

This module is the one place that reads jieba's resources: its dictionary
(words, frequencies, part-of-speech tags) and its general IDF table.
"""

from __future__ import annotations

import re
import tempfile
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from operator import itemgetter
from pathlib import Path

import jieba
import rjieba

from retrieval.resources import LEXICON_DIR  # shipped with the package (resources.py)

jieba.setLogLevel(60)

# How many of the dictionary's most frequent words the lexicon keeps beside the corpus's own.
COMMON_WORDS = 30_000

USER_DICT = LEXICON_DIR / "userdict.txt"
# The lexicon's entry for the rest of the full dictionary's mass (see Segmenter.from_lexicon).
_REST_OF_DICTIONARY = "\ue000"
_USER_LINE = re.compile(r"^(.+?)( [0-9]+)?( [a-z]+)?$")  # jieba's own pattern for a user-dictionary line


@dataclass(frozen=True)
class Lexicon:
    """The dictionary words a corpus holds, with their frequencies, and the full dictionary's total."""

    words: dict[str, int]
    total: int


class Segmenter:
    """Cuts text in jieba's search mode; the tokenizer is jieba's (Python) or jieba-rs's, both give the same cuts."""

    def __init__(self, tokenizer: jieba.Tokenizer | rjieba.Jieba) -> None:
        self._tokenizer = tokenizer

    @classmethod
    def from_lexicon(cls, lexicon: Lexicon) -> Segmenter:
        """jieba over the corpus's lexicon, loaded as jieba loads any dictionary file.

        One more entry carries the rest of the full dictionary's frequency mass, so jieba's total, and with
        it every word's probability, is the full dictionary's: the cuts are the full dictionary's cuts. Its
        word is a private-use character, which jieba's word graph never looks up (it is not in jieba's class
        of word characters). jieba's cache of the parsed file goes to a folder removed at once.
        """
        rest = max(lexicon.total - sum(lexicon.words.values()), 0)
        entries = [f"{word} {freq}" for word, freq in lexicon.words.items()] + [f"{_REST_OF_DICTIONARY} {rest}"]
        with tempfile.TemporaryDirectory(prefix="speechbot-lexicon-") as folder:
            path = Path(folder) / "lexicon.txt"
            path.write_text("\n".join(entries), encoding="utf-8")
            tokenizer = jieba.Tokenizer(str(path))
            tokenizer.tmp_dir = folder
            tokenizer.initialize()
        return cls(tokenizer)

    def cut_for_search(self, text: str) -> Iterator[str] | list[str]:
        return self._tokenizer.cut_for_search(text)

    def cut(self, text: str) -> list[str]:
        """Precise mode: each word once, no sub-words (for finding names, where 长治 in 长治久安 is none)."""
        return list(self._tokenizer.cut(text))


class GraphRecorder(Segmenter):
    """jieba-rs cutting that also notes every word of each text's word graph (for the lexicon).

    The graph's words are what jieba's full mode lists, plus the single characters; which of them are
    dictionary words with a frequency is decided later, once per corpus (`dictionary_freqs`).
    """

    def __init__(self, tokenizer: rjieba.Jieba) -> None:
        super().__init__(tokenizer)
        self.words: set[str] = set()

    def cut_for_search(self, text: str) -> list[str]:
        self.words.update(self._tokenizer.cut_all(text))
        self.words.update(text)
        return self._tokenizer.cut_for_search(text)


def _user_entries() -> list[tuple[str, int, str | None]]:
    """(word, frequency, tag) of each line of the user dictionary, if a deployment keeps one; a frequency
    is required (jieba would guess one, jieba-rs another)."""
    if not USER_DICT.is_file():
        return []
    entries = []
    for line in USER_DICT.read_text(encoding="utf-8").lstrip("\ufeff").splitlines():
        line = line.strip()
        if not line:
            continue
        word, freq, tag = _USER_LINE.match(line).groups()  # type: ignore[union-attr]
        if freq is None:
            raise ValueError(f"{USER_DICT.name}: {word!r} needs a frequency")
        entries.append((word, int(freq), tag.strip() if tag else None))
    return entries


_full_lock = threading.Lock()


@lru_cache(maxsize=1)
def _full() -> Segmenter:
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    if USER_DICT.is_file():  # a deployment's own domain words, if it keeps any; none ship
        tokenizer.load_userdict(str(USER_DICT))
    return Segmenter(tokenizer)


def full_segmenter() -> Segmenter:
    """jieba's whole dictionary (plus data/lexicon/userdict.txt where a deployment adds one): the reference."""
    with _full_lock:
        return _full()


@cache
def _fast_tokenizer() -> rjieba.Jieba:
    tokenizer = rjieba.Jieba()
    for word, freq, tag in _user_entries():
        tokenizer.add_word(word, freq, tag)
    return tokenizer


def fast_segmenter() -> Segmenter:
    """jieba-rs over the full dictionary (build time, in the worker processes)."""
    return Segmenter(_fast_tokenizer())


def graph_recorder() -> GraphRecorder:
    """A fresh jieba-rs cutter over the full dictionary and the domain words, noting word graphs."""
    return GraphRecorder(_fast_tokenizer())


@cache
def _dictionary() -> tuple[dict[str, int], int]:
    """jieba's dictionary then the user dictionary, read as jieba reads them: word → frequency, and the total.

    A word listed twice keeps its later frequency; the total counts both, as jieba's does.
    """
    freqs: dict[str, int] = {}
    total = 0
    with jieba.get_dict_file() as f:
        lines = f.read().decode("utf-8").splitlines()
    for line in lines:
        word, freq = line.strip().split(" ")[:2]
        freqs[word] = int(freq)
        total += int(freq)
    for word, freq, _ in _user_entries():
        freqs[word] = freq
        total += freq
    return freqs, total


@cache
def dictionary_tags() -> dict[str, str]:
    """jieba's part-of-speech tag of each word of its dictionary (ns: a place, nr: a person, n: a noun…)."""
    with jieba.get_dict_file() as f:
        fields = f.read().decode("utf-8").split()  # word, frequency, tag: three to a line, in C
    if len(fields) % 3:
        raise ValueError("jieba's dictionary has a line without a tag")
    return dict(zip(fields[0::3], fields[2::3], strict=True))


@cache
def general_idf() -> tuple[dict[str, float], float]:
    """jieba's IDF table (from a general corpus) and its median, for words it lacks."""
    import jieba.analyse  # loads its table on import: only where titles are derived

    table = jieba.analyse.default_tfidf
    return table.idf_freq, table.median_idf


def dictionary_words(words: set[str]) -> set[str]:
    """Those of the words that the full dictionary holds with a frequency above 0 (a word graph's real words)."""
    return words & _positive_words()


def is_dictionary_word(word: str) -> bool:
    """Whether the full dictionary holds the word with a frequency above 0."""
    return word in _positive_words()


@cache
def _positive_words() -> frozenset[str]:
    return frozenset(w for w, f in _dictionary()[0].items() if f)


def dictionary_freqs(words: Iterable[str]) -> dict[str, int]:
    """The full dictionary's frequency of each of these words that it holds with a frequency above 0."""
    freqs = _dictionary()[0]
    return {w: freqs[w] for w in words if freqs.get(w)}


@cache
def _common_words() -> tuple[tuple[str, int], ...]:
    """The dictionary's COMMON_WORDS most frequent words."""
    freqs = _dictionary()[0]
    # sorted(..., reverse=True)[:n] is what heapq.nlargest documents itself as, and faster here.
    return tuple(sorted(((w, f) for w, f in freqs.items() if f), key=itemgetter(1), reverse=True)[:COMMON_WORDS])


def lexicon_from(corpus_words: dict[str, int]) -> Lexicon:
    """The lexicon of a corpus whose graph words (with their frequencies) are given: those and the common words."""
    return Lexicon({**dict(_common_words()), **corpus_words}, _dictionary()[1])
