"""The search index: an immutable snapshot of the corpus that answers questions.

Three BM25 fields over the same passages — jieba words, single characters,
character pairs — fused by a max-normalised weighted sum. The character
fields catch what word segmentation splits differently in a question and in
a passage (区长质量奖 vs 区长 质量奖); the word field keeps precision.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from retrieval.bm25 import BM25Field
from retrieval.chunking import Chunk, sentence_spans
from retrieval.duplicates import duplicate_groups
from retrieval.segmenter import Lexicon, Segmenter, full_segmenter
from retrieval.speeches import Speech
from retrieval.text import (
    char_bigrams,
    char_text,
    char_unigrams,
    fold_chars,
    query_word_tokens,
    segment_input,
    stopwords,
)
from retrieval.text import word_tokens as passage_word_tokens

# Past this a question is a pasted document; its start says what it is about.
MAX_QUERY_CHARS = 1000

WORD_WEIGHT = 1.0
UNIGRAM_WEIGHT = 0.5
BIGRAM_WEIGHT = 0.5

# "Nothing relevant" gate. A question is answerable when the words the
# corpus knows carry at least this share of the question's IDF mass (a word
# the corpus lacks counts as the rarest word). On the dev set answerable
# questions lie at 0.54 and above (most at 1.0), off-topic ones at 0.32 and
# below; the gate sits halfway. A gate on the top score did worse: BM25
# scores are not comparable across questions of different lengths.
MIN_KNOWN_MASS = 0.43

Progress = Callable[[int, int], None]  # (passages done, passages in all)


@dataclass(frozen=True)
class SpeechRef:
    speech_id: str
    speech_title: str
    position: int


@dataclass(frozen=True)
class Hit:
    rank: int
    score: float
    chunk_id: str
    speech_id: str
    speech_title: str
    source_file: str
    position: int
    section: str
    text: str
    best_sentence: str
    matched_terms: list[str]
    also_in: list[SpeechRef] = field(default_factory=list)
    best_span: tuple[int, int] = (0, 0)  # the best sentence's place in text
    term_spans: list[tuple[int, int]] = field(default_factory=list)  # matched terms in text, for bold


@dataclass(frozen=True)
class Query:
    text: str
    words: list[str]
    unigrams: list[str]
    bigrams: list[str]

    @property
    def is_empty(self) -> bool:
        return not (self.words or self.unigrams or self.bigrams)


def analyze_query(text: str, segmenter: Segmenter | None = None) -> Query:
    """Question terms; its character n-grams come from its content words only, not from 什么/怎么."""
    words = query_word_tokens(text, segmenter)
    pieces = [char_text(w) for w in _content_runs(words)]
    unigrams = [c for p in pieces for c in char_unigrams(p)]
    bigrams = [g for p in pieces for g in char_bigrams(p)]
    return Query(text, words, unigrams, bigrams)


def _content_runs(words: list[str]) -> list[str]:
    """Words without the sub-words jieba's search mode also emits (质量 inside 质量奖)."""
    return [w for w in words if not any(w != o and w in o for o in words)]


@dataclass(frozen=True)
class PassageTerms:
    """What the index keeps of a passage's text: its word tokens and its folded characters."""

    words: list[str]
    chars: str


def segmented_texts(chunk: Chunk) -> list[str]:
    """The texts of a passage that are cut into words: its search form, and its own words if it was spun."""
    spun = chunk.search_text != fold_chars(chunk.text)
    return [chunk.search_text, chunk.text] if spun else [chunk.search_text]


def passage_terms(chunk: Chunk, segmenter: Segmenter) -> PassageTerms:
    """Terms of the search form; a spun passage keeps its own words beside the read-back ones."""
    words: list[str] = []
    for text in segmented_texts(chunk):
        seen = set(words)
        words += [w for w in passage_word_tokens(text, segmenter) if w not in seen]
    return PassageTerms(words, char_text(chunk.search_text))


class Index:
    def __init__(
        self,
        speeches: Sequence[Speech],
        chunks: Sequence[Chunk],
        terms: Sequence[PassageTerms],
        duplicate_of: Sequence[int],
        lexicon: Lexicon,
    ) -> None:
        self.speeches = {s.id: s for s in speeches}
        self.speech_order = [s.id for s in speeches]
        self.chunks = list(chunks)
        self.terms = list(terms)
        self.lexicon = lexicon
        self.segmenter = Segmenter.from_lexicon(lexicon)
        self.chunk_position = {c.id: i for i, c in enumerate(self.chunks)}
        self.duplicate_of = np.asarray(duplicate_of, dtype=np.int64)  # index of the first copy
        self.words = BM25Field([t.words for t in terms])
        self.unigrams = BM25Field([char_unigrams(t.chars) for t in terms])
        self.bigrams = BM25Field([char_bigrams(t.chars) for t in terms])

    def __len__(self) -> int:
        return len(self.chunks)

    # --- searching -------------------------------------------------------

    def search(self, text: str, top_k: int = 10) -> list[Hit]:
        query = analyze_query(text[:MAX_QUERY_CHARS], self.segmenter)
        if query.is_empty or not self.chunks or self.known_mass(query) < MIN_KNOWN_MASS:
            return []
        scores = self.fused_scores(query)
        return self._collapse(query, scores, top_k)

    def known_mass(self, query: Query) -> float:
        """Share of the question's word IDF mass made of words the corpus holds."""
        if not query.words:
            return 1.0 if query.bigrams else 0.0
        total = sum(self.words.idf(w) for w in query.words)
        known = sum(self.words.idf(w) for w in query.words if w in self.words.vocab)
        return known / total if total else 0.0

    def fused_scores(self, query: Query) -> np.ndarray:
        fused = np.zeros(len(self.chunks))
        for weight, field_, terms in (
            (WORD_WEIGHT, self.words, query.words),
            (UNIGRAM_WEIGHT, self.unigrams, query.unigrams),
            (BIGRAM_WEIGHT, self.bigrams, query.bigrams),
        ):
            scores = field_.match_scores(terms)
            top = scores.max(initial=0.0)
            if top > 0:
                fused += weight * scores / top
        return fused

    def _collapse(self, query: Query, scores: np.ndarray, top_k: int) -> list[Hit]:
        """Best passages first; copies of a passage already shown join it as also_in."""
        candidates = np.flatnonzero(scores > 0)
        order = candidates[np.argsort(-scores[candidates], kind="stable")]
        groups_shown: set[int] = set()
        picked: list[int] = []
        for i in order:
            group = int(self.duplicate_of[i])
            if group in groups_shown:
                continue
            groups_shown.add(group)
            picked.append(int(i))
            if len(picked) == top_k:
                break
        return [self._hit(rank, i, float(scores[i]), query) for rank, i in enumerate(picked, start=1)]

    def _hit(self, rank: int, i: int, score: float, query: Query) -> Hit:
        chunk = self.chunks[i]
        speech = self.speeches[chunk.speech_id]
        matched = [w for w in dict.fromkeys(query.words) if w in chunk.search_text]
        best_start, best_end = self.best_sentence_span(chunk, query)
        return Hit(
            rank=rank,
            score=round(score, 6),
            chunk_id=chunk.id,
            speech_id=speech.id,
            speech_title=speech.title,
            source_file=speech.source_file,
            position=chunk.paragraph,
            section=chunk.section,
            text=chunk.text,
            best_sentence=chunk.text[best_start:best_end],
            matched_terms=matched,
            also_in=self.copies_of(i),
            best_span=(best_start, best_end),
            term_spans=term_spans(chunk.search_text, [w for w in matched if len(w) > 1]),
        )

    def best_sentence_span(self, chunk: Chunk, query: Query) -> tuple[int, int]:
        """The sentence holding the most question weight: words by IDF, then character pairs."""
        spans = sentence_spans(chunk.text) or [(0, len(chunk.text))]
        stop = stopwords()

        def weight(span: tuple[int, int]) -> tuple[float, int]:
            folded = chunk.search_text[span[0] : span[1]]
            words = sum(self.words.idf(w) for w in set(query.words) if w not in stop and w in folded)
            pairs = sum(1 for g in set(query.bigrams) if g in folded)
            return words, pairs

        return max(spans, key=weight)

    def copies_of(self, i: int) -> list[SpeechRef]:
        """Other speeches holding the same passage (or a near copy), one entry per speech."""
        group = self.duplicate_of[i]
        own = self.chunks[i].speech_id
        refs: dict[str, SpeechRef] = {}
        for j in np.flatnonzero(self.duplicate_of == group):
            other = self.chunks[int(j)]
            if other.speech_id != own and other.speech_id not in refs:
                refs[other.speech_id] = SpeechRef(
                    other.speech_id, self.speeches[other.speech_id].title, other.paragraph
                )
        return list(refs.values())

    # --- reading ---------------------------------------------------------

    def chunk(self, chunk_id: str) -> Chunk | None:
        i = self.chunk_position.get(chunk_id)
        return None if i is None else self.chunks[i]

    def speech_chunks(self, speech_id: str) -> list[Chunk]:
        return [c for c in self.chunks if c.speech_id == speech_id]

    def neighbours(self, chunk_id: str, before: int = 1, after: int = 1) -> list[Chunk]:
        """The passage with those around it in its speech, in reading order."""
        chunk = self.chunk(chunk_id)
        if chunk is None:
            return []
        own = self.speech_chunks(chunk.speech_id)
        k = chunk.ordinal - 1
        return own[max(k - before, 0) : k + after + 1]



def term_spans(search_text: str, terms: Sequence[str]) -> list[tuple[int, int]]:
    """Where the terms stand in a passage (its search form aligns with the text), overlaps merged."""
    marks = [False] * len(search_text)
    for term in terms:
        start = search_text.find(term)
        while start != -1:
            marks[start : start + len(term)] = [True] * len(term)
            start = search_text.find(term, start + 1)
    spans: list[tuple[int, int]] = []
    for k, marked in enumerate(marks):
        if not marked:
            continue
        if spans and spans[-1][1] == k:
            spans[-1] = (spans[-1][0], k + 1)
        else:
            spans.append((k, k + 1))
    return spans


def build_index(speeches: Sequence[Speech], chunks: Sequence[Chunk], progress: Progress | None = None) -> Index:
    """Tokenize every passage and find copies: the work a stored index lets start-up skip."""
    segmenter = full_segmenter()
    terms = []
    for i, chunk in enumerate(chunks, start=1):
        terms.append(passage_terms(chunk, segmenter))
        if progress and (i % 50 == 0 or i == len(chunks)):
            progress(i, len(chunks))
    lexicon = segmenter.lexicon_of(segment_input(t) for c in chunks for t in segmented_texts(c))
    return Index(speeches, chunks, terms, duplicate_groups([t.chars for t in terms]), lexicon)
