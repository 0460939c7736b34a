"""The candidates' features the words decide, worked out while the question is still being embedded.

A question's vector takes ~25 ms on another thread (the engine releases the GIL). Nothing here needs it:
`WordEvidence.of` does the corpus-wide part once per question (field and fused scores, each field's copy
group bests, the places asked, the word IDFs) and `WordEvidence.columns` the per-candidate part. Every
column is the candidate's own (no value depends on which other passages are candidates), so
`features.candidates` computes them for the lexical candidates before the vector arrives, then only for
the few passages the vectors add, and merges the two.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from retrieval.ingest.chunking import sentence_spans
from retrieval.lexical.index import Index, Query
from retrieval.ranking.places import AskedPlaces, CorpusPlaces, corpus_places, place_columns

# The lexical scores, relative to the question's best and as ranks: the first of features.FEATURES.
SCORE_COLUMNS = (
    "fused",
    "fused_rel",
    "fused_rank",
    "words_rel",
    "words_rank",
    "unigrams_rel",
    "unigrams_rank",
    "bigrams_rel",
    "bigrams_rank",
)
# The word-side columns, as features.FEATURES names them.
WORD_COLUMNS = (
    *SCORE_COLUMNS,
    "idf_coverage",
    "best_sentence_coverage",
    "bigram_coverage",
    "speech_idf_coverage",
    "log_length",
    "copies",
    "spun",
)


@dataclass(frozen=True)
class CopyGroups:
    """One index's copy groups (`Index.duplicate_of`), worked out once per index rather than per question."""

    group: np.ndarray  # each passage's group: the index of its first copy
    first: np.ndarray  # the passages that head a group, ascending
    copies: np.ndarray  # the others (few: most passages have no copy)
    slot: np.ndarray  # each passage's group as a place in `first`
    sizes: np.ndarray  # per passage: how many passages its group holds (at the group's first passage)


_copy_groups: weakref.WeakKeyDictionary[Index, CopyGroups] = weakref.WeakKeyDictionary()
# Sentence spans of the passages seen as candidates so far, per index.
_sentences: weakref.WeakKeyDictionary[Index, dict[int, list[tuple[int, int]]]] = weakref.WeakKeyDictionary()


def copy_groups(index: Index) -> CopyGroups:
    found = _copy_groups.get(index)
    if found is None:
        group = index.duplicate_of
        heads = group == np.arange(len(group))
        first = np.flatnonzero(heads)
        sizes = np.bincount(group, minlength=len(group))
        found = CopyGroups(group, first, np.flatnonzero(~heads), np.searchsorted(first, group), sizes)
        _copy_groups[index] = found
    return found


@dataclass(frozen=True)
class RankedGroups:
    """One score per passage as copy groups see it: each group's best, and the groups' bests sorted, so a
    candidate's relative score and rank are a look-up and a search however many candidate sets ask."""

    groups: CopyGroups
    count: int  # passages scored
    top: float  # the best score (0 when nothing scored)
    values: np.ndarray  # each group's best score (NaN counts as -inf), in group order (`CopyGroups.first`)
    ordered: np.ndarray  # values, sorted

    @classmethod
    def of(cls, scores: np.ndarray, groups: CopyGroups) -> RankedGroups:
        values = np.nan_to_num(scores[groups.first], nan=-np.inf)
        copies = np.nan_to_num(scores[groups.copies], nan=-np.inf)
        np.maximum.at(values, groups.slot[groups.copies], copies)
        return cls(groups, len(scores), float(scores.max(initial=0.0)), values, np.sort(values))

    def relative(self, chunks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Score over the question's best score, and log rank among copy groups (0 when nothing scored)."""
        if self.top <= 0:
            return np.zeros(len(chunks)), np.full(len(chunks), np.log1p(self.count))
        at = self.groups.slot[chunks]
        mine = self.values[at]
        return mine / self.top, np.log1p(self._ranks(at, mine))

    def _ranks(self, at: np.ndarray, mine: np.ndarray) -> np.ndarray:
        """Rank of each candidate's copy group among all groups by its best score (1 for the best, equal
        scores in group order, as a stable sort lists them). A search per candidate in the sorted bests: a
        stable argsort of every group cost ~10 ms a field at 100k passages."""
        above = np.searchsorted(self.ordered, mine, side="right")
        ranks = (len(self.values) - above + 1).astype(np.float64)
        tied = np.flatnonzero(above - np.searchsorted(self.ordered, mine, side="left") > 1)
        if len(tied):  # equal scores, mostly the ones of passages without the words
            ranks[tied] += self._earlier_equals(mine[tied], at[tied])
        return ranks

    def _earlier_equals(self, tied: np.ndarray, at: np.ndarray) -> np.ndarray:
        """For each tied value and its place in `values`: how many places before it hold the same value. A
        few distinct values are scanned for one by one; many (an archive's recombined passages tie by the
        hundred) are found at once from one argsort, whose equal runs are put in place order."""
        values = self.values
        distinct = np.unique(tied)
        if len(distinct) <= 32:
            out = np.zeros(len(tied), dtype=np.int64)
            for value in distinct:
                which = np.flatnonzero(tied == value)
                out[which] = np.searchsorted(np.flatnonzero(values == value), at[which])
            return out
        order = np.argsort(values)
        low = np.searchsorted(values[order], distinct, side="left")
        lengths = np.searchsorted(values[order], distinct, side="right") - low
        runs = np.repeat(low - np.cumsum(lengths) + lengths, lengths) + np.arange(int(lengths.sum()))
        size = len(values)
        places = np.sort(np.repeat(np.arange(len(distinct)), lengths) * size + order[runs])
        run_of = np.searchsorted(distinct, tied) * size
        return np.searchsorted(places, run_of + at) - np.searchsorted(places, run_of)


@dataclass(frozen=True)
class WordEvidence:
    """What the words say about one question over the whole corpus; `columns` reads it per candidate."""

    index: Index
    query: Query
    groups: CopyGroups
    field_scores: dict[str, np.ndarray]
    fused: np.ndarray
    ranked: dict[str, RankedGroups]  # "fused" and each field
    places: CorpusPlaces
    asked: AskedPlaces
    idfs: dict[str, float | None]
    total_mass: float  # the question's word IDF mass (a word the corpus lacks counts as the rarest)

    @classmethod
    def of(cls, index: Index, query: Query) -> WordEvidence:
        field_scores = index.field_scores(query)
        fused = index.fused_scores(query, field_scores)
        groups = copy_groups(index)
        ranked = {"fused": RankedGroups.of(fused, groups)}
        ranked.update((name, RankedGroups.of(field_scores[name], groups)) for name in ("words", "unigrams", "bigrams"))
        places = corpus_places(index)
        idfs = index.word_idfs(query)
        max_idf = index.words.max_idf
        total_mass = sum(max_idf if (idf := idfs[w]) is None else idf for w in query.words) or 1.0
        return cls(
            index, query, groups, field_scores, fused, ranked, places, places.asked(query.text, index), idfs, total_mass
        )

    def columns(self, chunks: np.ndarray) -> dict[str, np.ndarray]:
        """The word-side columns (WORD_COLUMNS and the place columns) of the passages `chunks`."""
        index, group = self.index, self.groups.group
        columns: dict[str, np.ndarray] = {"fused": self.fused[chunks]}
        for name in ("fused", "words", "unigrams", "bigrams"):
            columns[f"{name}_rel"], columns[f"{name}_rank"] = self.ranked[name].relative(chunks)
        coverage, sentence_coverage, bigram_coverage = _coverages(index, self.query, self.idfs, self.total_mass, chunks)
        columns["idf_coverage"] = coverage
        columns["best_sentence_coverage"] = sentence_coverage
        columns["bigram_coverage"] = bigram_coverage
        columns["speech_idf_coverage"] = _speech_coverage(index, self.query, self.idfs, self.total_mass, chunks)
        columns["log_length"] = np.log1p([len(index.chunks[i].text) for i in chunks])
        columns["copies"] = self.groups.sizes[group[chunks]].astype(np.float64)
        columns["spun"] = np.array([index.chunks[i].spun for i in chunks], dtype=np.float64)
        columns.update(place_columns(self.places, self.asked, index, chunks))
        return columns


def best_groups(scores: np.ndarray, group: np.ndarray, count: int) -> list[int]:
    """The best passage of each of the `count` best copy groups; unknown (NaN) and zero scores are no vote."""
    usable = np.flatnonzero(np.isfinite(scores) & (scores != 0))
    if len(usable) > count * 8:  # copies rarely run deeper than this; spares a full sort of a large corpus
        usable = usable[np.argpartition(-scores[usable], count * 8)[: count * 8]]
    return first_groups(usable[np.argsort(-scores[usable], kind="stable")], group, count)


def first_groups(ordered: np.ndarray, group: np.ndarray, count: int) -> list[int]:
    """The first passage of each of the first `count` copy groups in an ordered list (best first)."""
    picked: list[int] = []
    seen: set[int] = set()
    for i in ordered.tolist():
        g = int(group[i])
        if g not in seen:
            seen.add(g)
            picked.append(i)
            if len(picked) == count:
                break
    return picked


def _speech_coverage(
    index: Index, query: Query, idfs: dict[str, float | None], total_mass: float, chunks: np.ndarray
) -> np.ndarray:
    """Share of the question's word IDF mass found anywhere in the passage's speech: a question naming a
    place or meeting is answered by a passage of that speech even when the passage itself does not name it."""
    weights = {w: (idfs[w] or 0.0) for w in set(query.words)}
    by_speech: dict[str, float] = {}
    out = np.zeros(len(chunks))
    for k, i in enumerate(chunks.tolist()):
        speech_id = index.chunks[i].speech_id
        if speech_id not in by_speech:
            text = index.speech_search_text(speech_id)
            own = index.chunks[i].search_text  # part of its speech's text, and a short read before a long one
            by_speech[speech_id] = sum(v for w, v in weights.items() if w in own or w in text) / total_mass
        out[k] = by_speech[speech_id]
    return out


def _coverages(
    index: Index, query: Query, idfs: dict[str, float | None], total_mass: float, chunks: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Share of the question's word IDF mass in each passage, in its best sentence, and of its bigrams."""
    weights = {w: (idfs[w] or 0.0) for w in set(query.words)}
    bigrams = set(query.bigrams)
    coverage = np.zeros(len(chunks))
    sentence = np.zeros(len(chunks))
    pairs = np.zeros(len(chunks))
    for k, i in enumerate(chunks):
        chunk = index.chunks[int(i)]
        text = chunk.search_text
        present = [w for w in weights if w in text]
        coverage[k] = sum(weights[w] for w in present) / total_mass
        best = 0.0
        for start, end in (_sentence_spans(index, int(i)) or [(0, len(text))]) if present else ():
            part = text[start:end]
            best = max(best, sum(weights[w] for w in present if w in part))
        sentence[k] = best / total_mass
        pairs[k] = sum(1 for g in bigrams if g in text) / len(bigrams) if bigrams else 0.0
    return coverage, sentence, pairs


def _sentence_spans(index: Index, i: int) -> list[tuple[int, int]]:
    """Passage i's sentence spans, kept: the regular expression cost ~1/8 of a question's time, and the
    same passages come back as candidates question after question."""
    kept = _sentences.get(index)
    if kept is None:
        kept = _sentences[index] = {}
    spans = kept.get(i)
    if spans is None:
        spans = kept[i] = sentence_spans(index.chunks[i].text)
    return spans
