"""The results contract: what a search gives its callers (the bot, the command line, the evaluation).

Handlers and printers show what a Hit carries and nothing else; they never reach back into an index.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Confidence(StrEnum):
    HIGH = "high"  # the first passage answers, as far as the gate can tell
    LOW = "low"  # the closest passages, shown as such
    NONE = "none"  # the corpus does not speak about this


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
    speech_places: tuple[str, ...] = ()  # the places its speech speaks for (短名: 金华, 洪泽), strongest first


@dataclass(frozen=True)
class Answer:
    """A ranked reply: hits best first (empty when the gate rejects) and how sure the gate is."""

    hits: list[Hit]
    confidence: Confidence
    probability: float = 0.0
    # Places the question names that no speech speaks for and the first passage does not name, as the
    # question writes them: the reply says the speeches do not cover them ("这些讲话没有谈到广州").
    uncovered_places: tuple[str, ...] = ()
    # When the question is refused for such a place: the closest passages, which are about other places
    # (each Hit's speech_places says which), for a reply to offer as what elsewhere did, labelled so.
    elsewhere: list[Hit] = field(default_factory=list)
