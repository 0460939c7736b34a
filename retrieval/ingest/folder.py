"""The corpus folder as admins change it: check a document, stage it, move files in and out of `removed/`.

A change never overwrites a file and never deletes one: removed files go to `removed/` inside the data
folder. The folder changes only after the store has committed (retrieval/changes.py): new files wait under
a hidden staged name (written, fsynced), and every rename the change makes is a `Move`, recorded in the
store in the same transaction as the index, then carried out; a change that died between the two is
finished by the next one (`finish_moves`).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from retrieval.ingest.chunking import chunk_speech
from retrieval.ingest.corpus import corpus_files, file_tag
from retrieval.ingest.gate import (
    Refusal,
    RefusedChange,
    checked_name,
    is_speech_like,
    same_name,
    speeches_of_document,
)
from retrieval.ingest.sources import NotRegularFile, SourceError, TooLarge, read_regular_file
from retrieval.ingest.speeches import Speech
from retrieval.lexical.index import Index

__all__ = [
    "REMOVED_DIR",
    "CheckedDocument",
    "Move",
    "Refusal",
    "RefusedChange",
    "check_document",
    "checked_name",
    "is_speech_like",
    "read_candidate",
]

REMOVED_DIR = "removed"
# New documents wait under such names until the store has committed them; a name that does not end in a
# corpus file's suffix is never read as part of the corpus.
STAGED_PREFIX = ".speechbot-"
STAGED_SUFFIX = ".staged"


@dataclass(frozen=True)
class CheckedDocument:
    name: str
    data: bytes
    speeches: list[Speech]


@dataclass(frozen=True)
class Move:
    """One rename a change makes in the data folder, as paths relative to it."""

    source: str
    target: str


def check_document(name: str, data: bytes, data_dir: Path, index: Index | None, max_bytes: int) -> CheckedDocument:
    """Everything that must hold before a document joins the corpus; raises RefusedChange otherwise."""
    if len(data) > max_bytes:
        raise RefusedChange(Refusal.TOO_LARGE, f"{name}: {len(data)} bytes, over the {max_bytes}-byte limit")
    safe = checked_name(name)
    if find_name(data_dir, safe) or find_name(data_dir / REMOVED_DIR, safe):
        raise RefusedChange(Refusal.EXISTS, f"{safe}: a file of that name is already in the corpus")
    speeches = speeches_of_document(data, safe, file_tag(safe))
    if index is not None:
        held = index.speech_copied_by([c for s in speeches for c in chunk_speech(s)])
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


def find_name(folder: Path, name: str) -> str | None:
    """The name of the entry of `folder` that is `name` as people see it (NFC or NFD alike), if any."""
    if (folder / name).exists() or (folder / name).is_symlink():
        return name
    if not folder.is_dir():
        return None
    return next((entry for entry in os.listdir(folder) if same_name(entry, name)), None)


# --- the folder's side of a change ------------------------------------------


def stage(data_dir: Path, name: str, data: bytes) -> Move:
    """Write a new document under a hidden staged name, fsynced; on any error (a full disk) nothing is left.

    Returns the move that puts it in place as `name`, to be made once the store has committed. The staged
    name is short whatever the document's name, so a name's length never fails here.
    """
    fd, staged = tempfile.mkstemp(prefix=STAGED_PREFIX, suffix=STAGED_SUFFIX, dir=data_dir)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(staged)
        raise
    os.close(fd)
    return Move(Path(staged).name, name)


def removal(data_dir: Path, source_file: str) -> Move:
    """The move that takes a corpus file into removed/ (never over an earlier removed file of that name)."""
    if not any(p.name == source_file for p in corpus_files(data_dir)):
        raise RefusedChange(Refusal.NOT_FOUND, f"{source_file}: not in the corpus")
    if find_name(data_dir / REMOVED_DIR, source_file):
        raise RefusedChange(Refusal.EXISTS, f"{source_file}: removed/ already holds a file of that name")
    (data_dir / REMOVED_DIR).mkdir(exist_ok=True)
    return Move(source_file, f"{REMOVED_DIR}/{source_file}")


def restoration(data_dir: Path, source_file: str) -> Move:
    """The move that brings a removed file back; the name may be given in NFC or NFD, as it was listed."""
    found = find_name(data_dir / REMOVED_DIR, checked_name(source_file))
    if found is None or not (data_dir / REMOVED_DIR / found).is_file():
        raise RefusedChange(Refusal.NOT_FOUND, f"{source_file}: not among the removed files")
    if find_name(data_dir, found):
        raise RefusedChange(Refusal.EXISTS, f"{source_file}: the corpus holds a file of that name again")
    return Move(f"{REMOVED_DIR}/{found}", found)


def finish_moves(data_dir: Path, moves: list[Move]) -> None:
    """Carry out moves the store has committed: each source renamed to its target, unless that is done.

    Safe to repeat after a crash at any point: a move whose source is gone and whose target is there was
    made. The folder is fsynced so that the renames outlive a power cut as the store's commit does.
    """
    folders = set()
    for move in moves:
        source, target = data_dir / move.source, data_dir / move.target
        if source.exists() and not target.exists():
            os.rename(source, target)
            folders.update({source.parent, target.parent})
    for folder in folders:
        _fsync_folder(folder)


def discard_staged(data_dir: Path, keep: list[Move]) -> None:
    """Remove staged documents no committed change names: left by a change that failed or died before
    committing. Called with the change lock held, so no change is staging meanwhile."""
    wanted = {m.source for m in keep}
    for entry in os.listdir(data_dir) if data_dir.is_dir() else []:
        if entry.startswith(STAGED_PREFIX) and entry.endswith(STAGED_SUFFIX) and entry not in wanted:
            (data_dir / entry).unlink(missing_ok=True)


def unstage(data_dir: Path, moves: list[Move]) -> None:
    """Remove the staged documents of a change that did not commit."""
    for move in moves:
        if move.source.startswith(STAGED_PREFIX):
            (data_dir / move.source).unlink(missing_ok=True)


def corpus_after(data_dir: Path, moves: list[Move]) -> list[tuple[Path, str]]:
    """The corpus files as these moves will leave the folder: where to read each, and its name."""
    gone = {m.source for m in moves}
    entries = [(p, p.name) for p in corpus_files(data_dir) if p.name not in gone]
    entries += [(data_dir / m.source, m.target) for m in moves if "/" not in m.target]
    return sorted(entries, key=lambda entry: entry[1])


def removed_files(data_dir: Path) -> list[str]:
    folder = data_dir / REMOVED_DIR
    return sorted(p.name for p in corpus_files(folder)) if folder.is_dir() else []


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
