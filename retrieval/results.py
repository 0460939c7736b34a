"""The results contract: what a search gives its callers (the bot, the command line, the evaluation).

Handlers and printers show what a Hit carries and nothing else; they never reach back into an index.
Every search fact a reply needs travels here: the text as the reader is to see it (and why it differs
from the source), the answering sentence, the clause that answers, the excerpt to show, the words
worth bold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from retrieval.question import Question


class Confidence(StrEnum):
    HIGH = "high"  # the first passage answers, as far as the gate can tell
    LOW = "low"  # the closest passages, shown as such
    NONE = "none"  # the corpus does not speak about this


class TextNote(StrEnum):
    """Why the text a reader is shown differs from the source file's (the source is one button away)."""

    NONE = ""
    READ_BACK = "read_back"  # a synonym spinner's words read back (效劳 → 服务)
    REPAIRED = "repaired"  # encoding damage repaired (納入?yún)⒃u → 納入參評)
    BOTH = "both"


@dataclass(frozen=True)
class SpeechRef:
    """A speech named in a reply: what tells it apart from another of the same title comes with it."""

    speech_id: str
    speech_title: str
    paragraph: int
    source_title: str = ""  # the source's own title when speech_title was derived from the text
    source_file: str = ""


@dataclass(frozen=True)
class Hit:
    rank: int
    score: float
    chunk_id: str
    speech_id: str
    speech_title: str
    source_file: str
    paragraph: int  # the paragraph the passage starts at (第N段)
    section: str
    text: str  # as the source file has it
    best_sentence: str
    matched_terms: list[str]
    also_in: list[SpeechRef] = field(default_factory=list)
    best_span: tuple[int, int] = (0, 0)  # the best sentence's place in text
    term_spans: list[tuple[int, int]] = field(default_factory=list)  # the rare matched words in text, for bold
    speech_places: tuple[str, ...] = ()  # the places its speech speaks for (短名: 金华, 洪泽), strongest first
    source_title: str = ""  # the source's own title when speech_title was derived from the text
    reader_text: str = ""  # text as the reader is shown it (same length as text, so every span holds)
    note: TextNote = TextNote.NONE  # why reader_text differs from text
    answer_span: tuple[int, int] = (0, 0)  # the clause of the best sentence that answers (≤ 80 characters)
    excerpt: tuple[int, int] = (0, 0)  # the part to show in a reply (about 200 characters around the answer)
    last_paragraph: int = 0  # the paragraph the passage ends at (a passage may pack short paragraphs)
    answer_paragraph: int = 0  # the paragraph holding the answering clause: what a citation names

    @property
    def ref(self) -> SpeechRef:
        return SpeechRef(self.speech_id, self.speech_title, self.paragraph, self.source_title, self.source_file)

    @property
    def shown_text(self) -> str:
        return self.reader_text or self.text


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
    question: Question = Question("")  # the question as read at the service's door: what was searched
