"""The words that tell a reader the text shown is not the source's (the source is one button away).

Which text a reader sees, and why it differs, is decided in retrieval
(retrieval/shown.py) and carried by each Hit; this words it, and gathers the
texts of a reading view (a speech's page, a passage's context).
"""

from __future__ import annotations

from collections.abc import Sequence

from retrieval.ingest.chunking import Chunk
from retrieval.results import TextNote
from retrieval.shown import joint_note, reader_text, text_note

NOTES = {
    TextNote.NONE: "",
    TextNote.READ_BACK: "注：原文经同义词改写软件改动，这里显示还原后的用词。",
    TextNote.REPAIRED: "注：原文此处有编码错误，这里显示修复后的文字。",
    TextNote.BOTH: "注：原文有编码错误并经同义词改写，这里显示修复、还原后的文字。",
}
READ_BACK_NOTE, REPAIRED_NOTE = NOTES[TextNote.READ_BACK], NOTES[TextNote.REPAIRED]


def note_line(note: TextNote) -> str:
    return NOTES[note]


def page_texts(chunks: Sequence[Chunk]) -> tuple[dict[str, str], str]:
    """For a reading view: the reader text of each passage whose text differs, and one note for the view."""
    texts = {c.id: t for c in chunks if (t := reader_text(c)) != c.text}
    return texts, NOTES[joint_note(text_note(c) for c in chunks)]
