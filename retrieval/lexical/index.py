"""The search index: an immutable snapshot of the corpus that answers questions.

Three BM25 fields over the same passages — jieba words, single characters,
character pairs — fused by a max-normalised weighted sum. The character
fields catch what word segmentation splits differently in a question and in
a passage (区长质量奖 vs 区长 质量奖); the word field keeps precision.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse
from scipy.sparse.csgraph import connected_components

from retrieval.excerpts import answer_span, bold_spans, excerpt_span, rare_words
from retrieval.ingest.chunking import Chunk, is_heading, paragraph_at, sentence_spans
from retrieval.ingest.describe import titled
from retrieval.ingest.speeches import Speech
from retrieval.keys import text_key
from retrieval.lexical.bm25 import BM25Field, char_codes, pair_codes, word_code, word_codes
from retrieval.lexical.segmenter import Lexicon, Segmenter
from retrieval.lexical.text import char_bigrams, char_text, char_unigrams, query_word_tokens
from retrieval.results import Hit, SpeechRef
from retrieval.shown import reader_text, text_note

# What copies what, in one place. Passages: duplicates.py groups near-copies (most of the shorter one's
# 4-grams in the other). A speech repeats another when at least this share of its passages are copies of
# that one's (the speech list says so) ...
SPEECH_COPY_SHARE = 0.5
# ... and an upload is a re-upload when at least this share of its passages are exact copies of held ones.
UPLOAD_COPY_SHARE = 0.8

WORD_WEIGHT = 1.0
UNIGRAM_WEIGHT = 0.5
BIGRAM_WEIGHT = 0.5

# The lexical fallback's "nothing relevant" gate (without a fitted ranker; the ranker's own gate is in
# retrieval/ranking/ranker.py). A question is answerable when the words the
# corpus knows carry at least this share of the question's IDF mass (a word
# the corpus lacks counts as the rarest word). On the dev set answerable
# questions lie at 0.54 and above (most at 1.0), off-topic ones at 0.32 and
# below; the gate sits halfway. A gate on the top score did worse: BM25
# scores are not comparable across questions of different lengths.
MIN_KNOWN_MASS = 0.43

# Candidates ranked per round before copies are collapsed; grown fourfold while copies leave too few.
CANDIDATE_POOL = 64

FIELDS = ("words", "unigrams", "bigrams")
FIELD_WEIGHTS = {"words": WORD_WEIGHT, "unigrams": UNIGRAM_WEIGHT, "bigrams": BIGRAM_WEIGHT}


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


class Index:
    """Speeches, passages, their BM25 fields and copies: built by retrieval.lexical.build, or read from the store."""

    def __init__(
        self,
        speeches: Sequence[Speech],
        chunks: Sequence[Chunk],
        fields: Mapping[str, BM25Field],
        duplicate_of: Sequence[int],
        lexicon: Lexicon,
        content_keys: Sequence[int],
    ) -> None:
        speeches = titled(speeches)  # a change titles the corpus's speeches as a rebuild does
        self.speeches = {s.id: s for s in speeches}
        self.speech_order = [s.id for s in speeches]
        self.chunks = list(chunks)
        self.fields = dict(fields)
        self.words, self.unigrams, self.bigrams = (self.fields[name] for name in FIELDS)
        self.lexicon = lexicon
        self.segmenter = Segmenter.from_lexicon(lexicon)
        self.content_keys = list(content_keys)  # a hash of each passage's characters, to spot re-uploads
        self.chunk_position = {c.id: i for i, c in enumerate(self.chunks)}
        self.duplicate_of = np.asarray(duplicate_of, dtype=np.int64)  # index of the first copy
        self._copies = _groups_with_copies(self.duplicate_of)
        self.slot_of = reply_slots(self.chunks, self.duplicate_of)
        self._speech_texts: dict[str, str] = {}
        self._fullest: dict[int, int] = {}
        self._by_speech: dict[str, list[Chunk]] = {}
        for chunk in self.chunks:
            self._by_speech.setdefault(chunk.speech_id, []).append(chunk)
        self.last_paragraph = _last_paragraphs(self.chunks)
        self.speech_copy_of = self._speech_copies()

    def __len__(self) -> int:
        return len(self.chunks)

    # --- searching -------------------------------------------------------

    def search(self, text: str, top_k: int = 10) -> list[Hit]:
        query = analyze_query(text, self.segmenter)
        if top_k <= 0 or query.is_empty or not self.chunks:
            return []
        idfs = self.word_idfs(query)
        if self.known_mass(query, idfs) < MIN_KNOWN_MASS:
            return []
        return self._collapse(query, self.fused_scores(query), top_k, idfs)

    def word_idfs(self, query: Query) -> dict[str, float | None]:
        """Each question word's IDF, None for a word the corpus lacks."""
        return {w: self.words.idf(word_code(w)) for w in set(query.words)}

    def known_mass(self, query: Query, idfs: dict[str, float | None] | None = None) -> float:
        """Share of the question's word IDF mass made of words the corpus holds."""
        if not query.words:
            return 0.0
        idfs = idfs if idfs is not None else self.word_idfs(query)
        weights = [idfs[w] for w in query.words]
        total = sum(self.words.max_idf if idf is None else idf for idf in weights)
        known = sum(idf for idf in weights if idf is not None)
        return known / total if total else 0.0

    def rarity(self, words: Sequence[str]) -> dict[str, float]:
        """Each word's IDF; for a word the word field lacks (cut otherwise in the passages), its rarest
        character pair's, which it is at least as rare as (0 when the corpus has none of them)."""
        rarity = {}
        for word in set(words):
            idf = self.words.idf(word_code(word))
            if idf is None:
                pairs = [self.bigrams.idf(int(c)) for c in pair_codes(char_text(word))]
                idf = max((p for p in pairs if p is not None), default=0.0)
            rarity[word] = idf
        return rarity

    def field_scores(self, query: Query) -> dict[str, np.ndarray]:
        """Each field's BM25 match scores for the question, one per passage."""
        return {
            "words": self.words.match_scores(word_codes(query.words)),
            "unigrams": self.unigrams.match_scores(char_codes("".join(query.unigrams))),
            "bigrams": self.bigrams.match_scores(np.concatenate([pair_codes(g) for g in query.bigrams] or [_NO_CODES])),
        }

    def fused_scores(self, query: Query, field_scores: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """The fields' scores, each over its best, in a weighted sum."""
        fused = np.zeros(len(self.chunks))
        for name, scores in (field_scores or self.field_scores(query)).items():
            top = scores.max(initial=0.0)
            if top > 0:
                fused += FIELD_WEIGHTS[name] * scores / top
        return fused

    def _collapse(self, query: Query, scores: np.ndarray, top_k: int, idfs: dict[str, float | None]) -> list[Hit]:
        """The best passages as the ranker's replies show them: one per reply slot, as its fullest copy."""
        pool = CANDIDATE_POOL
        while True:
            order = _top(scores, pool)
            picked = self.reply_order(order, scores[order])[:top_k]
            if len(picked) == top_k or len(order) < pool:
                break
            pool *= 4
        return [self.hit(rank, i, score, query, idfs) for rank, (i, score) in enumerate(picked, start=1)]

    def reply_order(self, passages: np.ndarray, scores: np.ndarray) -> list[tuple[int, float]]:
        """Passages best first, one per reply slot (copies and pieces of one paragraph share a slot), each
        shown as its fullest copy, with the score it was ranked by."""
        order = np.argsort(-scores, kind="stable")
        seen: set[int] = set()
        picked = []
        for k in order.tolist():
            i = int(passages[k])
            slot = int(self.slot_of[i])
            if slot not in seen:
                seen.add(slot)
                picked.append((self.fullest_copy(i), float(scores[k])))
        return picked

    def hit(
        self,
        rank: int,
        i: int,
        score: float,
        query: Query,
        idfs: dict[str, float | None] | None = None,
        sentence_by_meaning: int = -1,
    ) -> Hit:
        """Passage i as a result: its speech, the text the reader sees, the answer and what to mark."""
        chunk = self.chunks[i]
        speech = self.speeches[chunk.speech_id]
        search_text = chunk.search_text
        weights = {w: idf or 0.0 for w, idf in (idfs if idfs is not None else self.word_idfs(query)).items()}
        matched = [w for w in dict.fromkeys(query.words) if w in search_text]
        best = best_sentence_span(chunk.text, search_text, query, weights, sentence_by_meaning)
        bold = bold_spans(term_spans(search_text, rare_words(matched, self.rarity(matched))), best)
        answer = answer_span(search_text, best, weights)
        shown = reader_text(chunk)
        return Hit(
            rank=rank,
            score=round(score, 6),
            chunk_id=chunk.id,
            speech_id=speech.id,
            speech_title=speech.title,
            source_file=speech.source_file,
            paragraph=chunk.paragraph,
            section=chunk.section,
            text=chunk.text,
            best_sentence=chunk.text[best[0] : best[1]],
            matched_terms=matched,
            also_in=self.copies_of(i),
            best_span=best,
            term_spans=bold,
            speech_places=speech.about.places,
            source_title=speech.source_title,
            reader_text=shown,
            note=text_note(chunk),
            answer_span=answer,
            excerpt=excerpt_span(chunk.text, best, bold),
            last_paragraph=self.last_paragraph[i],
            answer_paragraph=paragraph_at(chunk.text, chunk.paragraph, self.last_paragraph[i], answer[0]),
        )

    def fullest_copy(self, i: int) -> int:
        """The copy of passage i to show: the one holding all of its characters in order and the most besides.

        Web copies of a speech often drop its template blanks (在____的带动下 → 在带动下); the copy that
        kept them reads as the speaker wrote it. A copy that is not a superset of passage i is never chosen,
        so whatever made i an answer is still there.
        """
        if i not in self._fullest:
            copies = self._copies.get(int(self.duplicate_of[i]), ())
            own = char_text(self.chunks[i].text) if copies else ""  # most passages have no copy to compare
            best, best_len = i, len(self.chunks[i].text)
            for j in copies:
                text = self.chunks[j].text
                if len(text) > best_len and _is_subsequence(own, char_text(text)):
                    best, best_len = j, len(text)
            self._fullest[i] = best
        return self._fullest[i]

    def copies_of(self, i: int) -> list[SpeechRef]:
        """Other speeches holding the same passage (or a near copy), one entry per speech."""
        own = self.chunks[i].speech_id
        refs: dict[str, SpeechRef] = {}
        for j in self._copies.get(int(self.duplicate_of[i]), ()):
            other = self.chunks[j]
            if other.speech_id != own and other.speech_id not in refs:
                speech = self.speeches[other.speech_id]
                refs[other.speech_id] = SpeechRef(
                    other.speech_id, speech.title, other.paragraph, speech.source_title, speech.source_file
                )
        return list(refs.values())

    # --- reading ---------------------------------------------------------

    def chunk(self, chunk_id: str) -> Chunk | None:
        i = self.chunk_position.get(chunk_id)
        return None if i is None else self.chunks[i]

    def speech_chunks(self, speech_id: str) -> list[Chunk]:
        return self._by_speech.get(speech_id, [])

    def speech_search_text(self, speech_id: str) -> str:
        """A speech's passages in search form, joined (built on first use, then kept)."""
        text = self._speech_texts.get(speech_id)
        if text is None:
            text = self._speech_texts[speech_id] = "\n".join(c.search_text for c in self.speech_chunks(speech_id))
        return text

    def paragraphs_of(self, chunk_id: str) -> tuple[int, int]:
        """The paragraphs a passage spans, first and last (short paragraphs are packed into one passage)."""
        i = self.chunk_position[chunk_id]
        return self.chunks[i].paragraph, self.last_paragraph[i]

    def paragraph_count(self, speech_id: str) -> int:
        """How many paragraphs a speech has: the last its last passage holds (the one count every view shows)."""
        chunks = self.speech_chunks(speech_id)
        return self.paragraphs_of(chunks[-1].id)[1] if chunks else 0

    def speech_copied_by(self, chunks: Sequence[Chunk]) -> str | None:
        """The held speech a new document's passages copy (an upload refused as a re-upload), if any: the one
        holding most of them, when at least UPLOAD_COPY_SHARE of them are exact copies of held passages."""
        held = dict(zip(self.content_keys, (c.speech_id for c in self.chunks), strict=True))
        found = [held[k] for k in (text_key(char_text(c.search_text)) for c in chunks) if k in held]
        if chunks and len(found) / len(chunks) >= UPLOAD_COPY_SHARE:
            return max(set(found), key=found.count)
        return None

    def _speech_copies(self) -> dict[str, str]:
        """Speeches that repeat an earlier one (most of their passages are copies of that speech's): the one
        each repeats. Worked out once per index, off the event loop, for every speech list."""
        first_of = self.duplicate_of.tolist()
        copies: dict[str, str] = {}
        for speech_id, chunks in self._by_speech.items():
            sources = Counter(self.chunks[first_of[self.chunk_position[c.id]]].speech_id for c in chunks)
            sources.pop(speech_id, None)
            if sources:
                other, shared = sources.most_common(1)[0]
                if shared >= SPEECH_COPY_SHARE * len(chunks):
                    copies[speech_id] = other
        return copies

    def neighbours(self, chunk_id: str, before: int = 1, after: int = 1) -> list[Chunk]:
        """The passage with those around it in its speech, in reading order."""
        chunk = self.chunk(chunk_id)
        if chunk is None:
            return []
        own = self.speech_chunks(chunk.speech_id)
        k = chunk.ordinal - 1
        return own[max(k - before, 0) : k + after + 1]


def best_sentence_span(
    text: str, search_text: str, query: Query, idfs: dict[str, float], by_meaning: int = -1
) -> tuple[int, int]:
    """The sentence holding the most question weight: words by IDF (`idfs`), then character pairs.

    `by_meaning` is the sentence the semantic model found closest (its number, -1 if none): it is marked
    instead when it holds at least half the word weight of the best, since a question put in other
    words than the text's is answered by meaning, not by shared words.
    """
    spans = sentence_spans(text) or [(0, len(text))]
    present = {w: idf for w, idf in idfs.items() if w in search_text}
    pairs = {g for g in query.bigrams if g in search_text}

    def weight(span: tuple[int, int]) -> tuple[float, int]:
        folded = search_text[span[0] : span[1]]
        return sum(idf for w, idf in present.items() if w in folded), sum(1 for g in pairs if g in folded)

    best = max(spans, key=weight)
    if 0 <= by_meaning < len(spans) and weight(spans[by_meaning])[0] >= 0.5 * weight(best)[0]:
        return spans[by_meaning]
    return best


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


_NO_CODES = np.zeros(0, dtype=np.uint64)


def _is_subsequence(short: str, long: str) -> bool:
    rest = iter(long)
    return all(ch in rest for ch in short)


def reply_slots(chunks: Sequence[Chunk], duplicate_of: np.ndarray) -> np.ndarray:
    """One reply slot per family of passages: the copies of a passage, and the pieces of one long
    paragraph. A reply shows each slot once, so two halves of a paragraph never take two places."""
    n = len(chunks)
    first_piece: dict[tuple[str, int], int] = {}
    rows = np.arange(n)
    same_paragraph = np.array([first_piece.setdefault((c.speech_id, c.paragraph), i) for i, c in enumerate(chunks)])
    edges = scipy.sparse.coo_matrix(
        (np.ones(2 * n), (np.concatenate([rows, rows]), np.concatenate([same_paragraph, duplicate_of]))),
        shape=(n, n),
    )
    return connected_components(edges, directed=False)[1].astype(np.int64)


def _last_paragraphs(chunks: Sequence[Chunk]) -> list[int]:
    """The paragraph each passage ends at: the one before the next passage's, in its speech; the last
    passage of a speech counts its own body lines."""
    last = []
    for k, chunk in enumerate(chunks):
        after = chunks[k + 1] if k + 1 < len(chunks) else None
        if after is not None and after.speech_id == chunk.speech_id:
            last.append(max(chunk.paragraph, after.paragraph - 1))
        else:
            body = sum(1 for line in chunk.text.split("\n") if line and not is_heading(line))
            last.append(chunk.paragraph + max(body, 1) - 1)
    return last


def _top(scores: np.ndarray, count: int) -> np.ndarray:
    """Indices of the `count` best positive scores (more when tied), best first, ties in passage order."""
    positive = np.flatnonzero(scores > 0)
    if len(positive) > count:
        kth = -np.partition(-scores[positive], count - 1)[count - 1]
        positive = positive[scores[positive] >= kth]  # ties at the cut stay, so the order is a full sort's
    return positive[np.argsort(-scores[positive], kind="stable")]


def _groups_with_copies(duplicate_of: np.ndarray) -> dict[int, list[int]]:
    """For each group of copied passages, its members; groups of one are left out."""
    groups: dict[int, list[int]] = {}
    for i, group in enumerate(duplicate_of.tolist()):
        groups.setdefault(group, []).append(i)
    return {g: members for g, members in groups.items() if len(members) > 1}
