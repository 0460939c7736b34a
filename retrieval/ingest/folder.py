"""The corpus folder as admins change it: add a document, move one aside, bring it back.

Every change is checked before anything is written, never overwrites a file,
and never deletes one: removed files go to `removed/` inside the data folder.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from enum import Enum
from pathlib import Path, PurePosixPath, PureWindowsPath

from retrieval.ingest.corpus import corpus_files, file_tag, speeches_of_text
from retrieval.ingest.sources import (
    SUPPORTED_SUFFIXES,
    NotRegularFile,
    SourceError,
    TooLarge,
    document_text,
    read_regular_file,
)
from retrieval.ingest.speeches import Speech
from retrieval.lexical.build import content_key
from retrieval.lexical.index import Index
from retrieval.lexical.text import char_text

REMOVED_DIR = "removed"
NAME_MAX = 100
# A document whose passages the index already holds at least this share of is a copy.
DUPLICATE_SHARE = 0.8
# What a speech minimally holds: a sentence or two of Chinese prose besides its title and greeting, and
# Chinese as the main script. A password file, a list of numbers or a bare "同志们：" is not one.
MIN_SPEECH_HAN = 20
MIN_HAN_SHARE = 0.5
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_WORD_CHAR = re.compile(r"\w")


class Refusal(Enum):
    TOO_LARGE = "too_large"
    NOT_A_FILE = "not_a_file"
    UNSAFE_NAME = "unsafe_name"
    UNSUPPORTED = "unsupported"
    EXISTS = "exists"
    NOT_TEXT = "not_text"
    NO_SPEECH = "no_speech"
    DUPLICATE = "duplicate"
    NOT_FOUND = "not_found"


class RefusedChange(ValueError):
    """A change to the corpus that was not made; `reason` says why in a way callers can word themselves."""

    def __init__(self, reason: Refusal, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class CheckedDocument:
    name: str
    data: bytes
    speeches: list[Speech]


def check_document(name: str, data: bytes, data_dir: Path, index: Index | None, max_bytes: int) -> CheckedDocument:
    """Everything that must hold before a document joins the corpus; raises RefusedChange otherwise."""
    if len(data) > max_bytes:
        raise RefusedChange(Refusal.TOO_LARGE, f"{name}: {len(data)} bytes, over the {max_bytes}-byte limit")
    safe = checked_name(name)
    if (data_dir / safe).exists() or (data_dir / REMOVED_DIR / safe).exists():
        raise RefusedChange(Refusal.EXISTS, f"{safe}: a file of that name is already in the corpus")
    try:
        text = document_text(data, safe)
    except SourceError as exc:
        raise RefusedChange(Refusal.NOT_TEXT, str(exc)) from exc
    speeches = speeches_of_text(text, safe, file_tag(safe))
    if not speeches:
        raise RefusedChange(Refusal.NO_SPEECH, f"{safe}: no speech text left after cleaning")
    if not is_speech_like(speeches):
        raise RefusedChange(
            Refusal.NO_SPEECH, f"{safe}: not speech text (under {MIN_SPEECH_HAN} Chinese characters of prose)"
        )
    if index is not None:
        held = _held_copy(speeches, index)
        if held is not None:
            raise RefusedChange(Refusal.DUPLICATE, f"{safe}: the corpus already holds this text as {held}")
    return CheckedDocument(safe, data, speeches)


def read_candidate(path: Path, max_bytes: int) -> bytes:
    """A file offered from a shell (`speechbot add`): a regular file within the upload limit, or a refusal.

    A symlink is refused whatever it points at (/etc/passwd, /dev/zero), a FIFO or device is never opened
    for reading, and the size is checked before reading.
    """
    try:
        return read_regular_file(path, max_bytes)
    except TooLarge as exc:
        raise RefusedChange(Refusal.TOO_LARGE, str(exc)) from exc
    except NotRegularFile as exc:
        raise RefusedChange(Refusal.NOT_A_FILE, str(exc)) from exc
    except SourceError as exc:
        raise RefusedChange(Refusal.NOT_FOUND, str(exc)) from exc


def is_speech_like(speeches: list[Speech]) -> bool:
    """Enough Chinese prose beyond titles and greetings, and Chinese the main script of the text."""
    body = [line for s in speeches for line in s.lines if line.strip() and not line.rstrip().endswith(("：", ":"))]
    text = "".join(body)
    han = len(_HAN.findall(text))
    words = len(_WORD_CHAR.findall(text))
    return han >= MIN_SPEECH_HAN and han >= MIN_HAN_SHARE * words


def checked_name(name: str) -> str:
    """The name as given, if it is a plain file name of a supported kind; no path, no hidden file."""
    name = unicodedata.normalize("NFC", name.strip())
    plain = PureWindowsPath(PurePosixPath(name).name).name
    if (
        not name
        or plain != name
        or ".." in name
        or name.startswith(".")
        or len(name) > NAME_MAX
        or any(unicodedata.category(ch).startswith("C") for ch in name)
        or re.search(r'[<>:"|?*]', name)
    ):
        raise RefusedChange(Refusal.UNSAFE_NAME, f"{name[:NAME_MAX]!r}: not a plain file name")
    if Path(name).suffix.lower() not in SUPPORTED_SUFFIXES:
        raise RefusedChange(Refusal.UNSUPPORTED, f"{name}: not a supported file type ({', '.join(SUPPORTED_SUFFIXES)})")
    return name


def _held_copy(speeches: list[Speech], index: Index) -> str | None:
    """The id of a held speech this document copies, judged by its passages' text."""
    from retrieval.ingest.chunking import chunk_speech

    held = {key: c.speech_id for key, c in zip(index.content_keys, index.chunks, strict=True)}
    chunks = [c for s in speeches for c in chunk_speech(s)]
    found = [held[k] for k in (content_key(char_text(c.search_text)) for c in chunks) if k in held]
    if chunks and len(found) / len(chunks) >= DUPLICATE_SHARE:
        return max(set(found), key=found.count)
    return None


def write_new(data_dir: Path, document: CheckedDocument) -> Path:
    """Write the document under its name; fails rather than overwrite a file that appeared meanwhile."""
    path = data_dir / document.name
    with open(path, "xb") as out:
        out.write(document.data)
        out.flush()
        os.fsync(out.fileno())
    return path


def move_aside(data_dir: Path, source_file: str) -> Path:
    """Move a corpus file into removed/, never over an earlier removed file of that name."""
    source = data_dir / source_file
    if source not in corpus_files(data_dir):
        raise RefusedChange(Refusal.NOT_FOUND, f"{source_file}: not in the corpus")
    target = data_dir / REMOVED_DIR / source_file
    target.parent.mkdir(exist_ok=True)
    if target.exists():
        raise RefusedChange(Refusal.EXISTS, f"{source_file}: removed/ already holds a file of that name")
    source.rename(target)
    return target


def bring_back(data_dir: Path, source_file: str) -> Path:
    source = data_dir / REMOVED_DIR / checked_name(source_file)
    if not source.is_file():
        raise RefusedChange(Refusal.NOT_FOUND, f"{source_file}: not among the removed files")
    target = data_dir / source.name
    if target.exists():
        raise RefusedChange(Refusal.EXISTS, f"{source_file}: the corpus holds a file of that name again")
    source.rename(target)
    return target


def removed_files(data_dir: Path) -> list[str]:
    folder = data_dir / REMOVED_DIR
    return sorted(p.name for p in corpus_files(folder)) if folder.is_dir() else []
