"""From a folder of raw files to speeches and passages: the ingestion path, end to end."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from retrieval.ingest.chunking import Chunk, chunk_speech
from retrieval.ingest.describe import describe
from retrieval.ingest.gate import RefusedChange, checked_name, read_source, speeches_of_document, speeches_of_text
from retrieval.ingest.sources import MAX_SOURCE_BYTES, SUPPORTED_SUFFIXES
from retrieval.ingest.speeches import Speech

__all__ = ["Corpus", "corpus_files", "file_tag", "file_tags", "load_corpus", "load_file", "speeches_of_text"]


@dataclass
class Corpus:
    speeches: list[Speech] = field(default_factory=list)
    chunks: list[Chunk] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)  # file name → tag, for every file found


# A file's tag: the stem of its speeches' ids (`{tag}-{n}`), so it must be short, typeable and unique.
TAG = re.compile(r"^[0-9a-z]{1,12}$")


class TagError(ValueError):
    """File tags that would give two speeches one id; raised before any work is done."""


def file_tag(name: str) -> str:
    """The tag a file's name asks for: the ASCII letters and digits before its first `_`, lower case, at most 12.

    Not empty: a name without any (a Chinese-only name) asks for `new`, as a placeholder; `file_tags` gives
    the tags actually used.
    """
    stem = Path(name).stem
    return re.sub(r"[^0-9A-Za-z]+", "", stem.split("_")[0])[:12].lower() or "new"


def file_tags(names: Iterable[str], known: Mapping[str, str] | None = None) -> dict[str, str]:
    """Each file's tag: the one it had (`known`, the store's name → tag table), else the one its name asks for,
    else the next free three-digit number.

    A name gets the tag it asks for only when no other name here asks for it and no file (present or
    removed) holds it, so the result does not depend on which file sorts first and a new file never
    takes over another's speech ids. Tags are never reused: a removed file's tag stays its own, and it
    comes back with it. Any names at all get distinct tags: thousands sharing a prefix, Chinese-only
    names, names differing only in case or extension.
    """
    known = dict(known or {})
    names = sorted(set(names))
    tags = {name: known[name] for name in names if name in known}
    taken = {tag.lower() for tag in known.values()}
    new = [name for name in names if name not in known]
    asked = {name: file_tag(name) for name in new}
    askers = Counter(asked.values())
    for name, tag in asked.items():
        if askers[tag] == 1 and tag not in taken and tag != "new":
            tags[name] = tag
            taken.add(tag)
    reserved = taken | set(askers)
    number = 0
    for name in new:
        if name in tags:
            continue
        while f"{number:03d}" in reserved:
            number += 1
        tags[name] = f"{number:03d}"
        reserved.add(tags[name])
    check_tags(tags)
    return tags


def check_tags(tags: Mapping[str, str]) -> None:
    """Raise TagError unless every tag is well formed and no two files share one (compared without case)."""
    bad = [f"{name}: {tag!r}" for name, tag in tags.items() if not TAG.match(tag)]
    if bad:
        raise TagError(f"file tags not of the form {TAG.pattern}: {', '.join(bad[:5])}")
    holders = Counter(tag.lower() for tag in tags.values())
    shared = sorted(name for name, tag in tags.items() if holders[tag.lower()] > 1)
    if shared:
        raise TagError(f"files sharing a tag: {', '.join(shared[:5])}")


def corpus_files(data_dir: Path) -> list[Path]:
    """The source files of a corpus: its top-level .txt, .md and .docx files (not data/removed/)."""
    return sorted(p for p in data_dir.iterdir() if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES)


def load_file(path: Path, tag: str, name: str | None = None) -> tuple[list[Speech], list[Chunk], str | None]:
    """One file's speeches and passages, or the one-line problem that kept it out (retrieval/ingest/gate.py).

    `name` is the file's name in the corpus when it is read from elsewhere (a change's staged copy).
    """
    name = name or path.name
    try:
        checked_name(name)
        speeches = speeches_of_document(read_source(path, MAX_SOURCE_BYTES), name, tag)
    except RefusedChange as exc:
        return [], [], str(exc)
    return speeches, [c for speech in speeches for c in chunk_speech(speech)], None


def load_corpus(data_dir: Path, known_tags: Mapping[str, str] | None = None) -> Corpus:
    """Read every corpus file in data_dir; a bad file is reported by name and skipped."""
    corpus = Corpus()
    files = corpus_files(data_dir)
    corpus.tags = file_tags([p.name for p in files], known_tags)
    for path in files:
        speeches, chunks, problem = load_file(path, corpus.tags[path.name])
        if problem:
            corpus.problems.append(problem)
        corpus.speeches.extend(speeches)
        corpus.chunks.extend(chunks)
    corpus.speeches = describe(corpus.speeches)  # titles that tell a collection's speeches apart
    return corpus
