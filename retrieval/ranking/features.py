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

from dataclasses import dataclass

import numpy as np

from retrieval.lexical.index import Index, Query, analyze_query
from retrieval.ranking.places import PLACE_FEATURES, AskedPlaces, corpus_places, place_candidates, place_columns
from retrieval.semantic.vectors import CorpusVectors

# How many candidates each retriever contributes (together they hold nearly every answer on dev).
POOL = {"fused": 30, "words": 20, "bigrams": 20, "passage_vector": 30, "sentence_vector": 20}

FEATURES = (
    "fused",
    "fused_rel",
    "fused_rank",
    "words_rel",
    "words_rank",
    "unigrams_rel",
    "unigrams_rank",
    "bigrams_rel",
    "bigrams_rank",
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
    index: Index, vectors: CorpusVectors | None, question_vector: np.ndarray | None, text: str
) -> Candidates:
    """Gather candidates from every retriever and compute their features."""
    query = analyze_query(text, index.segmenter)
    n = len(index.chunks)
    group = index.duplicate_of

    field_scores = index.field_scores(query)
    fused = index.fused_scores(query, field_scores)

    places = corpus_places(index)
    asked = places.asked(text, index)
    pool: set[int] = set()
    for name, scores in (("fused", fused), ("words", field_scores["words"]), ("bigrams", field_scores["bigrams"])):
        pool.update(_best_groups(scores, group, POOL[name]))
    semantic = vectors is not None and question_vector is not None
    if vectors is not None and question_vector is not None:
        qv = question_vector

        def cosines(ids: np.ndarray) -> np.ndarray:
            return vectors.passage_cosines_at(qv, ids)

        # Copies share a text, so a group's passages come back together: fetch enough for POOL groups.
        near, _ = vectors.nearest_passages(qv, POOL["passage_vector"] * 3)
        pool.update(_first_groups(near, group, POOL["passage_vector"]))
        pool.update(
            _first_groups(vectors.nearest_sentences(qv, POOL["sentence_vector"] * 8), group, POOL["sentence_vector"])
        )
        pool.update(place_candidates(places, asked, fused, cosines))
    else:
        pool.update(place_candidates(places, asked, fused, None))
    chunks = np.array(sorted(pool), dtype=np.int64)
    if vectors is not None and question_vector is not None:
        passage_cos = vectors.passage_cosines_at(question_vector, chunks)
        sentence_cos, sentence_choice = vectors.best_sentences_at(question_vector, chunks)
        around = _neighbours_of(index, chunks)
        around_cos, _ = vectors.best_sentences_at(question_vector, around)
        neighbour_best = _neighbour_best(index, chunks, around, around_cos)
    else:
        passage_cos = np.full(len(chunks), np.nan)
        sentence_cos = np.full(len(chunks), np.nan)
        sentence_choice = np.full(len(chunks), -1, dtype=np.int64)
        neighbour_best = np.full(len(chunks), np.nan)

    idfs = index.word_idfs(query)
    known = index.known_mass(query, idfs)
    max_idf = index.words.max_idf
    total_mass = sum(max_idf if (idf := idfs[w]) is None else idf for w in query.words) or 1.0
    unknown_mass = sum(max_idf for w in query.words if idfs[w] is None) / total_mass

    columns: dict[str, np.ndarray] = {}
    columns["fused"] = fused[chunks]
    columns["fused_rel"], columns["fused_rank"] = _relative(fused, group, chunks)
    for name in ("words", "unigrams", "bigrams"):
        columns[f"{name}_rel"], columns[f"{name}_rank"] = _relative(field_scores[name], group, chunks)
    for name, cos in (("passage_cos", passage_cos), ("sentence_cos", sentence_cos)):
        gap, z, rank = _cosine_features(cos, group[chunks])
        columns[f"{name}_gap"], columns[f"{name}_z"], columns[f"{name}_rank"] = gap, z, rank

    coverage, sentence_coverage, bigram_coverage = _coverages(index, query, idfs, total_mass, chunks)
    columns["speech_idf_coverage"] = _speech_coverage(index, query, idfs, total_mass, chunks)
    columns["neighbour_sentence_cos_gap"] = neighbour_best - (
        np.nanmax(sentence_cos) if np.isfinite(sentence_cos).any() else np.nan
    )
    columns["idf_coverage"] = coverage
    columns["idf_coverage_gap"] = coverage - (coverage.max() if len(coverage) else 0.0)
    columns["best_sentence_coverage"] = sentence_coverage
    columns["bigram_coverage"] = bigram_coverage
    columns["log_length"] = np.log1p([len(index.chunks[i].text) for i in chunks])
    sizes = np.bincount(group, minlength=n)
    columns["copies"] = sizes[group[chunks]].astype(np.float64)
    columns["spun"] = np.array([index.chunks[i].spun for i in chunks], dtype=np.float64)
    best_sentence_cos = _best_known(sentence_cos, chunks, fused, group) if semantic else np.nan
    columns.update(place_columns(places, asked, index, chunks))
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
    return Candidates(query, chunks, features, sentence_choice, known, unknown_mass, best_sentence_cos, asked)


def _best_known(sentence_cos: np.ndarray, chunks: np.ndarray, fused: np.ndarray, group: np.ndarray) -> float:
    """The best sentence cosine among the candidates, or NaN (unknown) while a passage the words rank first
    has no vector yet: then the best answer may be a new passage the model has not read, and its cosine would
    mislead. (The candidates hold the sentence neighbours' passages, so this is the corpus's best.)"""
    known = np.isfinite(sentence_cos)
    top = np.asarray(_best_groups(fused, group, 3), dtype=np.int64)
    if not known.any() or not known[np.searchsorted(chunks, top)].all():
        return float("nan")
    return float(sentence_cos[known].max())


def _group_best(scores: np.ndarray, group: np.ndarray) -> np.ndarray:
    """The best score of each copy group, at its first passage (NaN counts as -inf); -inf elsewhere."""
    values = np.nan_to_num(scores, nan=-np.inf)
    best = np.where(group == np.arange(len(group)), values, -np.inf)
    copies = np.flatnonzero(group != np.arange(len(group)))  # few: most passages have no copy
    np.maximum.at(best, group[copies], values[copies])
    return best


def _best_groups(scores: np.ndarray, group: np.ndarray, count: int) -> list[int]:
    """The best passage of each of the `count` best copy groups; unknown (NaN) and zero scores are no vote."""
    usable = np.flatnonzero(np.isfinite(scores) & (scores != 0))
    if len(usable) > count * 8:  # copies rarely run deeper than this; spares a full sort of a large corpus
        usable = usable[np.argpartition(-scores[usable], count * 8)[: count * 8]]
    return _first_groups(usable[np.argsort(-scores[usable], kind="stable")], group, count)


def _first_groups(ordered: np.ndarray, group: np.ndarray, count: int) -> list[int]:
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


def _group_ranks(best: np.ndarray, group: np.ndarray, chunks: np.ndarray) -> np.ndarray:
    """Rank of each candidate's copy group among all groups, by the group's best score (`_group_best`; 1 for
    the best, equal scores in group order, as a stable sort lists them). One plain sort of the corpus's
    scores and a search per candidate: a stable argsort of every group cost ~10 ms a field at 100k passages."""
    present = np.flatnonzero(group == np.arange(len(group)))
    values = best[present]
    ordered = np.sort(values)
    mine = best[group[chunks]]
    above = np.searchsorted(ordered, mine, side="right")
    ranks = (len(values) - above + 1).astype(np.float64)
    tied = np.flatnonzero(above - np.searchsorted(ordered, mine, side="left") > 1)
    if len(tied):  # equal scores, mostly the ones of passages without the words
        ranks[tied] += _earlier_equals(values, mine[tied], np.searchsorted(present, group[chunks[tied]]))
    return ranks


def _earlier_equals(values: np.ndarray, tied: np.ndarray, at: np.ndarray) -> np.ndarray:
    """For each tied value and its place in `values`: how many places before it hold the same value. A few
    distinct values are scanned for one by one; many (an archive's recombined passages tie by the hundred)
    are found at once from one argsort, whose equal runs are put in place order."""
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


def _relative(scores: np.ndarray, group: np.ndarray, chunks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Score over the question's best score, and log rank among copy groups (0 when nothing scored)."""
    top = float(scores.max(initial=0.0))
    best = _group_best(scores, group)
    rel = best[group[chunks]] / top if top > 0 else np.zeros(len(chunks))
    rank = np.log1p(_group_ranks(best, group, chunks))
    if top <= 0:
        rank = np.full(len(chunks), np.log1p(len(scores)))
    return rel, rank


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
            by_speech[speech_id] = sum(v for w, v in weights.items() if w in text) / total_mass
        out[k] = by_speech[speech_id]
    return out


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


def _coverages(
    index: Index, query: Query, idfs: dict[str, float | None], total_mass: float, chunks: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Share of the question's word IDF mass in each passage, in its best sentence, and of its bigrams."""
    from retrieval.ingest.chunking import sentence_spans

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
        for start, end in (sentence_spans(chunk.text) or [(0, len(text))]) if present else ():
            part = text[start:end]
            best = max(best, sum(weights[w] for w in present if w in part))
        sentence[k] = best / total_mass
        pairs[k] = sum(1 for g in bigrams if g in text) / len(bigrams) if bigrams else 0.0
    return coverage, sentence, pairs
