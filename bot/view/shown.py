"""What a reader is shown of a passage: clean words, and one short line when they differ from the source.

A spun document keeps its spinner's words in the store (that is the source);
search already reads them back, and so does the reader's view. Text whose
encoding damage was repaired at ingestion says so too. The source as it
stands stays one button away (render.source_html).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

from retrieval.ingest.chunking import Chunk
from retrieval.ingest.respelling import read_back
from retrieval.lexical.index import Index
from retrieval.results import Hit

READ_BACK_NOTE = "注：原文经同义词改写软件改动，这里显示还原后的用词。"
REPAIRED_NOTE = "注：原文此处有编码错误，这里显示修复后的文字。"
BOTH_NOTE = "注：原文有编码错误并经同义词改写，这里显示修复、还原后的文字。"

# A content hash in a file name (004_342c7815cd97eb2a.txt): it tells an admin nothing.
HASH_PART = re.compile(r"[_\-.]?[0-9a-f]{12,64}(?=[_\-.]|$)", re.I)


def reader_text(chunk: Chunk) -> str:
    """The passage in the speaker's words: a spinner's words read back (same length, so marks stay put)."""
    return read_back(chunk.text) if chunk.spun else chunk.text


def text_note(chunk: Chunk) -> str:
    """One line when the text shown is not the source's, else ''."""
    read = chunk.spun and read_back(chunk.text) != chunk.text
    repaired = chunk.repaired
    if read and repaired:
        return BOTH_NOTE
    return READ_BACK_NOTE if read else REPAIRED_NOTE if repaired else ""


def shown_hits(index: Index, hits: Sequence[Hit]) -> tuple[list[Hit], list[str]]:
    """Hits with their text as the reader sees it, and each one's note."""
    shown, notes = [], []
    for hit in hits:
        chunk = index.chunk(hit.chunk_id)
        if chunk is None:
            shown.append(hit)
            notes.append("")
            continue
        text = reader_text(chunk)
        a, b = hit.best_span
        shown.append(replace(hit, text=text, best_sentence=text[a:b]))
        notes.append(text_note(chunk))
    return shown, notes


def page_texts(chunks: Sequence[Chunk]) -> tuple[dict[str, str], str]:
    """For a reading view: the reader text of each passage whose text differs, and one note for the view."""
    texts = {c.id: t for c in chunks if (t := reader_text(c)) != c.text}
    notes = list(dict.fromkeys(n for c in chunks if (n := text_note(c))))
    return texts, BOTH_NOTE if len(notes) > 1 else notes[0] if notes else ""


def file_label(file_name: str) -> str:
    """A source file's name as an admin knows it: any content-hash part left out (004_342c…c2.txt → 004.txt)."""
    stem, dot, suffix = file_name.rpartition(".")
    if not dot:
        stem, suffix = file_name, ""
    bare = HASH_PART.sub("", stem) or stem
    return f"{bare}.{suffix}" if suffix else bare


def speech_copies(index: Index) -> dict[str, str]:
    """Speeches that repeat an earlier one: most of their passages are copies of that speech's."""
    first_of = index.duplicate_of.tolist()
    copies: dict[str, str] = {}
    for speech_id in index.speech_order:
        chunks = index.speech_chunks(speech_id)
        sources = Counter(index.chunks[first_of[index.chunk_position[c.id]]].speech_id for c in chunks)
        sources.pop(speech_id, None)
        if sources:
            other, shared = sources.most_common(1)[0]
            if shared * 2 >= len(chunks):
                copies[speech_id] = other
    return copies
