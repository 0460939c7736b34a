"""What the ranker and the gate see: candidates for a question and general features of each.

Candidates come from several retrievers (the fused lexical score, each BM25
field alone, the passage vectors and the sentence vectors), so an answer one
of them misses can still be ranked by the others. Every feature is general:
scores relative to the question's best, ranks, how much of the question's
word weight a passage covers, lengths and flags — nothing about particular
words. Copies of a passage are scored as one (their group's best), so a
passage copied into five speeches does not push five others down the ranks.
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass

import numpy as np

from retrieval.lexical.index import Index, Query, analyze_query
from retrieval.ranking.places import (
    PLACE_FEATURES,
    AskedPlaces,
    place_candidates_by_meaning,
    place_candidates_by_words,
)
from retrieval.ranking.words import SCORE_COLUMNS, WordEvidence, best_groups, first_groups
from retrieval.semantic.vectors import CorpusVectors

# How many candidates each retriever contributes (together they hold nearly every answer on dev).
POOL = {"fused": 30, "words": 20, "bigrams": 20, "passage_vector": 30, "sentence_vector": 20}

FEATURES = (
    *SCORE_COLUMNS,
    "passage_cos_gap",
    "passage_cos_z",
    "passage_cos_rank",
    "sentence_cos_gap",
    "sentence_cos_z",
    "sentence_cos_rank",
    "idf_coverage",
    "idf_coverage_gap",
    "speech_idf_coverage",
    "neighbour_sentence_cos_gap",
    "best_sentence_coverage",
    "bigram_coverage",
    "log_length",
    "copies",
    "spun",
    "query_words",
    "query_chars",
    "known_mass",
    "best_sentence_cos",
    *PLACE_FEATURES,
)

# The gate's inputs. The ranker's top score was tried too and made the gate worse (its features are all
# relative to the question's best, so an off-topic question's best passage looks as good as any).
QUESTION_FEATURES = (
    "known_mass",
    "best_idf_coverage",
    "unknown_idf_mass",
    "best_sentence_cos",
    "place_covered",
    "place_uncovered",
)


@dataclass(frozen=True)
class Candidates:
    """One question's candidate passages and their feature rows."""

    query: Query
    positions: np.ndarray  # int64: each candidate's position in index.chunks, ascending
    features: np.ndarray  # (len(positions), len(FEATURES)) float32, NaN where unknown
    sentence_choice: np.ndarray  # per candidate: number of its best sentence by meaning, -1 unknown
    known_mass: float
    unknown_idf_mass: float
    best_sentence_cos: float
    places: AskedPlaces = AskedPlaces()

    def column(self, name: str) -> np.ndarray:
        return self.features[:, FEATURES.index(name)]


def candidates(
    index: Index,
    vectors: CorpusVectors | None,
    question_vector: np.ndarray | Future[np.ndarray] | None,
    text: str,
) -> Candidates:
    """Gather candidates from every retriever and compute their features.

    `question_vector` may still be on its way (a Future: the question being embedded on another thread):
    what the words decide is worked out first, for the lexical candidates, and the vector is waited for
    only when the meaning retrievers need it; the features are the same either way."""
    query = analyze_query(text, index.segmenter)
    words = WordEvidence.of(index, query)
    group = words.groups.group

    pool: set[int] = set()
    for name, scores in (
        ("fused", words.fused),
        ("words", words.field_scores["words"]),
        ("bigrams", words.field_scores["bigrams"]),
    ):
        pool.update(best_groups(scores, group, POOL[name]))
    pool.update(place_candidates_by_words(words.places, words.asked, words.fused))
    lexical = np.array(sorted(pool), dtype=np.int64)
    columns = words.columns(lexical)

    qv = None  # the question's vector, waited for here (not at all without passage vectors)
    if vectors is not None:
        qv = question_vector.result() if isinstance(question_vector, Future) else question_vector
    chunks = lexical
    if vectors is not None and qv is not None:
        added = _by_meaning(vectors, qv, words) - pool
        if added:
            more = np.array(sorted(added), dtype=np.int64)
            chunks = np.concatenate([lexical, more])
            order = np.argsort(chunks)
            extra = words.columns(more)
            columns = {name: np.concatenate([column, extra[name]])[order] for name, column in columns.items()}
            chunks = chunks[order]
        passage_cos = vectors.passage_cosines_at(qv, chunks)
        sentence_cos, sentence_choice = vectors.best_sentences_at(qv, chunks)
        around = _neighbours_of(index, chunks)
        around_cos, _ = vectors.best_sentences_at(qv, around)
        neighbour_best = _neighbour_best(index, chunks, around, around_cos)
    else:
        passage_cos = np.full(len(chunks), np.nan)
        sentence_cos = np.full(len(chunks), np.nan)
        sentence_choice = np.full(len(chunks), -1, dtype=np.int64)
        neighbour_best = np.full(len(chunks), np.nan)

    known = index.known_mass(query, words.idfs)
    max_idf = index.words.max_idf
    unknown_mass = sum(max_idf for w in query.words if words.idfs[w] is None) / words.total_mass

    for name, cos in (("passage_cos", passage_cos), ("sentence_cos", sentence_cos)):
        gap, z, rank = _cosine_features(cos, group[chunks])
        columns[f"{name}_gap"], columns[f"{name}_z"], columns[f"{name}_rank"] = gap, z, rank
    columns["neighbour_sentence_cos_gap"] = neighbour_best - (
        np.nanmax(sentence_cos) if np.isfinite(sentence_cos).any() else np.nan
    )
    coverage = columns["idf_coverage"]
    columns["idf_coverage_gap"] = coverage - (coverage.max() if len(coverage) else 0.0)
    best_sentence_cos = _best_known(sentence_cos, chunks, words.fused, group) if qv is not None else np.nan
    for name, value in (
        ("query_words", len(query.words)),
        ("query_chars", len(query.text)),
        ("known_mass", known),
        ("best_sentence_cos", best_sentence_cos),
    ):
        columns[name] = np.full(len(chunks), value, dtype=np.float64)

    features = (
        np.column_stack([columns[name] for name in FEATURES]).astype(np.float32)
        if len(chunks)
        else np.zeros((0, len(FEATURES)), np.float32)
    )
    return Candidates(query, chunks, features, sentence_choice, known, unknown_mass, best_sentence_cos, words.asked)


def _by_meaning(vectors: CorpusVectors, qv: np.ndarray, words: WordEvidence) -> set[int]:
    """The candidates the meaning retrievers bring: nearest passages and sentences, and the best passages by
    meaning of the speeches speaking for a place asked."""
    group = words.groups.group
    pool: set[int] = set()
    # Copies share a text, so a group's passages come back together: fetch enough for POOL groups.
    near, _ = vectors.nearest_passages(qv, POOL["passage_vector"] * 3)
    pool.update(first_groups(near, group, POOL["passage_vector"]))
    pool.update(
        first_groups(vectors.nearest_sentences(qv, POOL["sentence_vector"] * 8), group, POOL["sentence_vector"])
    )

    def cosines(ids: np.ndarray) -> np.ndarray:
        return vectors.passage_cosines_at(qv, ids)

    pool.update(place_candidates_by_meaning(words.places, words.asked, cosines))
    return pool


def _best_known(sentence_cos: np.ndarray, chunks: np.ndarray, fused: np.ndarray, group: np.ndarray) -> float:
    """The best sentence cosine among the candidates, or NaN (unknown) while a passage the words rank first
    has no vector yet: then the best answer may be a new passage the model has not read, and its cosine would
    mislead. (The candidates hold the sentence neighbours' passages, so this is the corpus's best.)"""
    known = np.isfinite(sentence_cos)
    top = np.asarray(best_groups(fused, group, 3), dtype=np.int64)
    if not known.any() or not known[np.searchsorted(chunks, top)].all():
        return float("nan")
    return float(sentence_cos[known].max())


def _cosine_features(cos: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per candidate: gap to the candidates' best cosine, z-score among the candidates, log rank of its copy
    group among theirs (a copy group scores its best candidate); NaN where vectors are missing. Among the
    candidates, not the corpus: a question reads only its candidates' vectors."""
    known = np.isfinite(cos)
    if not known.any():
        nan = np.full(len(cos), np.nan)
        return nan, nan, nan
    values = np.nan_to_num(cos, nan=-np.inf)
    _, slot = np.unique(groups, return_inverse=True)
    best = np.full(int(slot.max()) + 1, -np.inf)
    np.maximum.at(best, slot, values)
    grouped = np.where(known, best[slot], np.nan)
    seen = cos[known]
    std = float(seen.std()) or 1.0
    gap = grouped - float(seen.max())
    z = (grouped - float(seen.mean())) / std
    ordered = np.sort(best)  # a group's rank: 1 + the groups scoring above it
    rank = len(best) - np.searchsorted(ordered, best[slot], side="right") + 1
    return gap, z, np.where(known, np.log1p(rank.astype(np.float64)), np.nan)


def _neighbours_of(index: Index, chunks: np.ndarray) -> np.ndarray:
    """The passages just before and after each candidate (sorted, each once)."""
    around = np.concatenate([chunks - 1, chunks + 1])
    return np.unique(around[(around >= 0) & (around < len(index.chunks))])


def _neighbour_best(index: Index, chunks: np.ndarray, around: np.ndarray, around_cos: np.ndarray) -> np.ndarray:
    """The best sentence cosine of the passages just before and after, in the same speech (NaN if none):
    an answer that runs over a passage boundary shows up as a strong neighbour."""
    out = np.full(len(chunks), np.nan)
    cos_of = dict(zip(around.tolist(), around_cos.tolist(), strict=True))
    for k, i in enumerate(chunks.tolist()):
        own = index.chunks[i].speech_id
        near = [
            cos_of[j]
            for j in (i - 1, i + 1)
            if j in cos_of and index.chunks[j].speech_id == own and np.isfinite(cos_of[j])
        ]
        if near:
            out[k] = max(near)
    return out
