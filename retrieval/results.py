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


@dataclass(frozen=True)
class Answer:
    """A ranked reply: hits best first (empty when the gate rejects) and how sure the gate is."""

    hits: list[Hit]
    confidence: Confidence
    probability: float = 0.0
