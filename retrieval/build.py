"""From passages to an Index: cut into words, code the terms, weigh the three fields, find copies.

This is the work the store lets start-up skip; it runs on reindex only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from retrieval.bm25 import BM25Field, build_field, char_codes, pair_codes, word_code, word_codes
from retrieval.chunking import Chunk
from retrieval.duplicates import duplicate_groups
from retrieval.index import FIELDS, Index
from retrieval.segmenter import Segmenter, full_segmenter
from retrieval.speeches import Speech
from retrieval.text import char_text, char_unigrams, fold_chars, segment_input
from retrieval.text import word_tokens as passage_word_tokens

Progress = Callable[[int, int], None]  # (passages done, passages in all)

# The character fields are only ever compared within a question, so single precision does; the
# word field, held to rank-bm25's scores in the tests, keeps double.
FIELD_DTYPES = {"words": "float64", "unigrams": "float32", "bigrams": "float32"}


@dataclass(frozen=True)
class PassageTerms:
    """A passage's terms: its word tokens and its folded characters."""

    words: list[str]
    chars: str


def segmented_texts(chunk: Chunk) -> list[str]:
    """The texts of a passage that are cut into words: its search form, and its own words if it was spun."""
    search_text = chunk.search_text
    return [search_text, chunk.text] if search_text != fold_chars(chunk.text) else [search_text]


def passage_terms(chunk: Chunk, segmenter: Segmenter) -> PassageTerms:
    """Terms of the search form; a spun passage keeps its own words beside the read-back ones."""
    words: list[str] = []
    for text in segmented_texts(chunk):
        seen = set(words)
        words += [w for w in passage_word_tokens(text, segmenter) if w not in seen]
    return PassageTerms(words, char_text(chunk.search_text))


def content_key(chars: str) -> int:
    """A stable hash of a passage's characters, as a signed 64-bit number (an SQLite integer)."""
    code = word_code(chars)
    return code - (1 << 64) if code >= 1 << 63 else code


def build_index(speeches: Sequence[Speech], chunks: Sequence[Chunk], progress: Progress | None = None) -> Index:
    segmenter = full_segmenter()
    docs: dict[str, list] = {name: [] for name in FIELDS}
    all_chars: list[str] = []
    for i, chunk in enumerate(chunks, start=1):
        terms = passage_terms(chunk, segmenter)
        docs["words"].append(word_codes(terms.words))
        docs["unigrams"].append(char_codes("".join(char_unigrams(terms.chars))))
        docs["bigrams"].append(pair_codes(terms.chars))
        all_chars.append(terms.chars)
        if progress and (i % 200 == 0 or i == len(chunks)):
            progress(i, len(chunks))
    fields = {name: BM25Field(build_field(docs.pop(name), FIELD_DTYPES[name])) for name in FIELDS}
    lexicon = segmenter.lexicon_of(segment_input(t) for c in chunks for t in segmented_texts(c))
    keys = [content_key(chars) for chars in all_chars]
    return Index(speeches, chunks, fields, duplicate_groups(all_chars), lexicon, keys)
