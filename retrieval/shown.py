"""What a reader is shown of a passage and of a file name, decided once in retrieval for every view.

A spun document keeps its spinner's words in the store (that is the source);
search already reads them back, and so does the reader's text. Text whose
encoding damage was repaired at ingestion is flagged too, so a view can say
so. Source files are named as an admin knows them, without a content hash.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from retrieval.ingest.chunking import Chunk
from retrieval.ingest.respelling import read_back
from retrieval.results import TextNote

# A content hash in a file name (004_342c7815cd97eb2a.txt): it tells an admin nothing.
HASH_PART = re.compile(r"[_\-.]?[0-9a-f]{12,64}(?=[_\-.]|$)", re.I)


def reader_text(chunk: Chunk) -> str:
    """The passage in the speaker's words: a spinner's words read back (same length, so marks stay put)."""
    return read_back(chunk.text) if chunk.spun else chunk.text


def text_note(chunk: Chunk) -> TextNote:
    """Why the text shown is not the source's, if it is not."""
    read = chunk.spun and read_back(chunk.text) != chunk.text
    if read and chunk.repaired:
        return TextNote.BOTH
    return TextNote.READ_BACK if read else TextNote.REPAIRED if chunk.repaired else TextNote.NONE


def joint_note(notes: Iterable[TextNote]) -> TextNote:
    """One note for a view of several passages."""
    kinds = {n for n in notes if n is not TextNote.NONE}
    if len(kinds) > 1:
        return TextNote.BOTH
    return kinds.pop() if kinds else TextNote.NONE


def file_label(file_name: str) -> str:
    """A source file's name as an admin knows it: any content-hash part left out (004_342c…c2.txt → 004.txt)."""
    stem, dot, suffix = file_name.rpartition(".")
    if not dot:
        stem, suffix = file_name, ""
    bare = HASH_PART.sub("", stem) or stem
    return f"{bare}.{suffix}" if suffix else bare


def unhashed(text: str) -> str:
    """A message naming files (a refusal, an error), each name as an admin knows it."""
    return HASH_TEXT.sub("", text)


# A content hash inside a file name within a message: between a name's stem and its extension.
HASH_TEXT = re.compile(r"[_\-][0-9a-f]{12,64}(?=\.[A-Za-z0-9]{1,8}\b)", re.I)
