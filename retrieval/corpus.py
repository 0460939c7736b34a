"""From a folder of raw files to speeches and passages: the ingestion path, end to end."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

from retrieval.chunking import Chunk, chunk_speech
from retrieval.cleaning import clean_lines, repair_encoding
from retrieval.describe import describe
from retrieval.respelling import is_spun
from retrieval.sources import SUPPORTED_SUFFIXES, SourceError, read_text
from retrieval.speeches import Speech, is_section_start, split_speeches


@dataclass
class Corpus:
    speeches: list[Speech] = field(default_factory=list)
    chunks: list[Chunk] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def file_tag(name: str) -> str:
    """A short id stem for a file's speeches: its leading ASCII name part, else a hash.

    It goes into chunk ids and button data (64 bytes at most), so it stays short.
    """
    stem = Path(name).stem
    ascii_part = re.sub(r"[^0-9A-Za-z]+", "", stem.split("_")[0])[:12]
    return ascii_part or hashlib.sha1(stem.encode()).hexdigest()[:6]


def file_tags(names: list[str]) -> dict[str, str]:
    """Each file's id stem. Files whose stems clash each add a hash of their own name, so the tags do not
    depend on which files sort first: a new file never takes over an existing file's speech ids (old
    buttons pointing at them go stale instead of opening the wrong speech)."""
    base = {name: file_tag(name) for name in names}
    clashes = Counter(base.values())
    return {
        name: tag if clashes[tag] == 1 else f"{tag}{hashlib.sha1(name.encode()).hexdigest()[:4]}"
        for name, tag in base.items()
    }


def speeches_of_text(text: str, source_file: str, tag: str) -> list[Speech]:
    repair = repair_encoding(text)
    speeches = split_speeches(source_file, tag, clean_lines(repair.text, is_section_start))
    spun = is_spun(text)
    return [replace(s, spun=spun, repaired=frozenset(repair.spots)) for s in speeches]


def corpus_files(data_dir: Path) -> list[Path]:
    """The source files of a corpus: its top-level .txt, .md and .docx files (not data/removed/)."""
    return sorted(p for p in data_dir.iterdir() if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES)


def load_corpus(data_dir: Path) -> Corpus:
    """Read every *.txt in data_dir; a bad file is reported by name and skipped."""
    corpus = Corpus()
    files = corpus_files(data_dir)
    tags = file_tags([p.name for p in files])
    for path in files:
        try:
            text = read_text(path)
        except SourceError as exc:
            corpus.problems.append(str(exc))
            continue
        speeches = speeches_of_text(text, path.name, tags[path.name])
        if not speeches:
            corpus.problems.append(f"{path.name}: no speech text left after cleaning")
            continue
        corpus.speeches.extend(speeches)
    corpus.speeches = describe(corpus.speeches)
    for speech in corpus.speeches:
        corpus.chunks.extend(chunk_speech(speech))
    return corpus
