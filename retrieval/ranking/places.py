"""Where a question asks about, and how each candidate passage stands to it.

A question names places (广州, 洪泽县) with the same recogniser the build uses on the speeches
(retrieval/ingest/places.py), plus every form of the places the corpus's speeches speak for (a corpus
that speaks for 洪泽县 knows 洪泽). For each candidate it is then known whether its speech speaks for the
place asked, lies inside it or holds it (攸县 and 湖南), only mentions it, or speaks for somewhere else
(the question names 广州, the speech speaks for 金华), and whether the passage itself names it (深圳's
building accident is there for a question about that accident).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from retrieval.ingest.places import Gazetteer, gazetteer
from retrieval.lexical.index import Index
from retrieval.lexical.text import fold_chars

# Passages each speech that speaks for the asked place adds to the candidates: its best by the words, and
# by meaning, so a question naming 洪泽 always sees 洪泽's passages.
POOL_BY_WORDS = 6
POOL_BY_MEANING = 4
# How many of the speeches speaking for one place add theirs: those whose best passage scores highest. A
# bound on cost, not a weight: an archive holds hundreds of one city's speeches (a 在全市质量工作会议上的讲话
# a year), and all of them made thousands of candidates and a second a question; the bundled corpus has at
# most two speeches for a place, so its candidates (and the ranker's figures) are as without the bound.
SPEECHES_A_PLACE = 8

PLACE_FEATURES = (
    "place_asked",
    "place_spoken_for",
    "place_related",
    "place_in_passage",
    "place_in_speech",
    "place_elsewhere",
)


@dataclass(frozen=True)
class AskedPlaces:
    """The places a question names: keys, as the question writes them, and whether any speech speaks for each."""

    keys: tuple[str, ...] = ()
    written: tuple[str, ...] = ()
    covered: tuple[bool, ...] = ()

    @property
    def uncovered(self) -> list[int]:
        return [i for i, c in enumerate(self.covered) if not c]


@dataclass
class CorpusPlaces:
    """The places of one index's speeches, worked out once per index."""

    gazetteer: Gazetteer
    speaks_for: dict[str, frozenset[str]]  # speech id → places it speaks for
    named: dict[str, frozenset[str]]  # speech id → places it speaks for or mentions
    speeches_for: dict[str, list[str]]  # place → speeches speaking for it
    chunks_of: dict[str, np.ndarray] = field(default_factory=dict)  # speech id → its passages' indices
    _passages_for: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def passages_for(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """The passages of the speeches speaking for a place, one speech after another, and where each
        speech's run starts (speeches without passages left out); made once per place."""
        found = self._passages_for.get(key)
        if found is None:
            runs = [
                ids
                for sid in self.speeches_for.get(key, ())
                if (ids := self.chunks_of.get(sid)) is not None and len(ids)
            ]
            lengths = np.array([len(ids) for ids in runs], dtype=np.int64)
            starts = np.cumsum(lengths) - lengths
            found = self._passages_for[key] = (np.concatenate(runs) if runs else np.zeros(0, np.int64), starts)
        return found

    def asked(self, text: str, index: Index) -> AskedPlaces:
        """The places the question names, in order, each once."""
        searchable = fold_chars(text)  # offsets match the question as written
        found = self.gazetteer.in_tokens(index.segmenter.cut(searchable))
        keys: dict[str, str] = {}
        for place in found:
            keys.setdefault(place.key, text[place.start : place.end])
        return AskedPlaces(tuple(keys), tuple(keys.values()), tuple(k in self.speeches_for for k in keys))


_corpus_places: weakref.WeakKeyDictionary[Index, CorpusPlaces] = weakref.WeakKeyDictionary()


def corpus_places(index: Index) -> CorpusPlaces:
    found = _corpus_places.get(index)
    if found is None:
        speaks_for = {sid: frozenset(s.about.places) for sid, s in index.speeches.items()}
        named = {sid: frozenset((*s.about.places, *s.about.mentions)) for sid, s in index.speeches.items()}
        speeches_for: dict[str, list[str]] = {}
        for sid in index.speech_order:
            for key in index.speeches[sid].about.places:
                speeches_for.setdefault(key, []).append(sid)
        chunks: dict[str, list[int]] = {}
        for i, chunk in enumerate(index.chunks):
            chunks.setdefault(chunk.speech_id, []).append(i)
        found = CorpusPlaces(
            gazetteer().with_forms(speeches_for),
            speaks_for,
            named,
            speeches_for,
            {sid: np.array(ids, dtype=np.int64) for sid, ids in chunks.items()},
        )
        _corpus_places[index] = found
    return found


def place_candidates(
    places: CorpusPlaces,
    asked: AskedPlaces,
    fused: np.ndarray,
    passage_cos: Callable[[np.ndarray], np.ndarray] | None,
) -> set[int]:
    """The best passages of the speeches that speak for a place the question names (`passage_cos` gives the
    exact cosines of the passages asked for, NaN where unknown; None: no meaning vectors)."""
    picked = place_candidates_by_words(places, asked, fused)
    if passage_cos is not None:
        picked.update(place_candidates_by_meaning(places, asked, passage_cos))
    return picked


def place_candidates_by_words(places: CorpusPlaces, asked: AskedPlaces, fused: np.ndarray) -> set[int]:
    """The best passages by the words of the speeches that speak for a place the question names."""
    picked: set[int] = set()
    for key in asked.keys:
        ids, starts = places.passages_for(key)
        if len(ids):
            picked.update(_best_of_best_speeches(ids, starts, fused[ids], POOL_BY_WORDS))
    return picked


def place_candidates_by_meaning(
    places: CorpusPlaces, asked: AskedPlaces, passage_cos: Callable[[np.ndarray], np.ndarray]
) -> set[int]:
    """The best passages by meaning of the speeches that speak for a place the question names."""
    picked: set[int] = set()
    for key in asked.keys:
        ids, starts = places.passages_for(key)
        if len(ids):
            cos = np.nan_to_num(passage_cos(ids), nan=-np.inf)
            picked.update(_best_of_best_speeches(ids, starts, cos, POOL_BY_MEANING))
    return picked


def _best_of_best_speeches(ids: np.ndarray, starts: np.ndarray, scores: np.ndarray, count: int) -> list[int]:
    """The `count` best passages (ties in corpus order) of each of the SPEECHES_A_PLACE speeches whose best
    passage scores highest; a speech none of whose passages has a score (-inf) adds none."""
    ends = np.append(starts[1:], len(ids))
    best = np.maximum.reduceat(scores, starts)
    speeches = np.flatnonzero(np.isfinite(best))
    if len(speeches) > SPEECHES_A_PLACE:
        speeches = speeches[np.argsort(-best[speeches], kind="stable")[:SPEECHES_A_PLACE]]
    picked: list[int] = []
    for s in speeches.tolist():
        run = slice(int(starts[s]), int(ends[s]))
        picked.extend(ids[run][np.argsort(-scores[run], kind="stable")[:count]].tolist())
    return picked


def place_columns(places: CorpusPlaces, asked: AskedPlaces, index: Index, chunks: np.ndarray) -> dict[str, np.ndarray]:
    """Per candidate, shares of the asked places: its speech speaks for them, for a place inside or around
    them, mentions them, its passage names them; and whether its speech speaks for somewhere else only."""
    n = len(chunks)
    columns = {name: np.zeros(n) for name in PLACE_FEATURES}
    if not asked.keys:
        return columns
    columns["place_asked"][:] = 1.0
    share = 1.0 / len(asked.keys)
    related: dict[str, float] = {}
    for k, i in enumerate(chunks.tolist()):
        chunk = index.chunks[i]
        speech_id = chunk.speech_id
        own = places.speaks_for.get(speech_id, frozenset())
        if speech_id not in related:
            related[speech_id] = share * sum(
                1 for key in asked.keys if key not in own and any(places.gazetteer.related(key, o) for o in own)
            )
        in_passage = sum(1 for key in asked.keys if places.gazetteer.named_in(key, chunk.search_text))
        spoken = sum(1 for key in asked.keys if key in own)
        columns["place_spoken_for"][k] = share * spoken
        columns["place_related"][k] = related[speech_id]
        columns["place_in_passage"][k] = share * in_passage
        columns["place_in_speech"][k] = share * sum(1 for key in asked.keys if key in places.named.get(speech_id, ()))
        columns["place_elsewhere"][k] = float(bool(own) and not spoken and not in_passage and not related[speech_id])
    return columns
