"""One gate for every file that joins the corpus: an upload, `speechbot add`, or a file a rebuild finds.

A file passes when its name is plain (compared in NFC, bounded in bytes as file systems bound it), it is a
regular file with a single link (not a link to a system file), it holds real text, and every speech it
splits into holds real prose. A rebuild reports and skips a file that fails; an upload is refused.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import replace
from enum import Enum
from pathlib import Path, PurePosixPath, PureWindowsPath

from retrieval.ingest.cleaning import clean_lines, repair_encoding
from retrieval.ingest.respelling import is_spun
from retrieval.ingest.sources import (
    SUPPORTED_SUFFIXES,
    NotRegularFile,
    SourceError,
    TooLarge,
    document_text,
    read_regular_file,
)
from retrieval.ingest.speeches import Speech, is_section_start, split_speeches

# File systems bound a name in bytes (255 on ext4, APFS, NTFS's UTF-16 units aside); a Chinese character is
# three bytes in UTF-8. Room is left for the `removed/` copy and a staged name's prefix.
NAME_MAX_BYTES = 200
# What a speech minimally holds: a sentence or two of Chinese prose besides its title and greeting, and
# Chinese as the main script. A password file, a list of numbers or a bare "同志们：" is not one.
MIN_SPEECH_HAN = 20
MIN_HAN_SHARE = 0.5
# The bundled files have at most 876 lines; cleaning and splitting cost about 70 µs a line, so this bounds
# what one file may cost before it is judged (100,000 lines of "同志们：" would take seconds).
MAX_LINES = 20_000
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
    SHIPPED = "shipped"  # the folder is the one that ships with the code


class RefusedChange(ValueError):
    """A change to the corpus that was not made; `reason` says why in a way callers can word themselves."""

    def __init__(self, reason: Refusal, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def checked_name(name: str) -> str:
    """The name in NFC, if it is a plain file name of a supported kind; no path, no hidden file."""
    name = unicodedata.normalize("NFC", name.strip())
    plain = PureWindowsPath(PurePosixPath(name).name).name
    if (
        not name
        or plain != name
        or ".." in name
        or name.startswith(".")
        or any(unicodedata.category(ch).startswith("C") for ch in name)
        or re.search(r'[<>:"|?*]', name)
    ):
        raise RefusedChange(Refusal.UNSAFE_NAME, f"{_shown(name)}: not a plain file name")
    if len(name.encode("utf-8")) > NAME_MAX_BYTES:
        raise RefusedChange(
            Refusal.UNSAFE_NAME, f"{_shown(name)}…: the name is over {NAME_MAX_BYTES} bytes; shorten it"
        )
    if Path(name).suffix.lower() not in SUPPORTED_SUFFIXES:
        raise RefusedChange(Refusal.UNSUPPORTED, f"{name}: not a supported file type ({', '.join(SUPPORTED_SUFFIXES)})")
    return name


def same_name(a: str, b: str) -> bool:
    """Names as people see them: NFC and NFD spellings of one name (macOS writes the latter) are one name."""
    return unicodedata.normalize("NFC", a) == unicodedata.normalize("NFC", b)


def read_source(path: Path, max_bytes: int) -> bytes:
    """A file's bytes if it is a regular file with one link and within max_bytes, else RefusedChange.

    A symlink is refused whatever it points at (/etc/passwd, /dev/zero), a FIFO or device is never opened,
    the size is checked before reading, and a hard link (a second name of some other file) is refused.
    """
    try:
        links = os.lstat(path).st_nlink
        if links > 1:
            raise NotRegularFile(f"{path.name}: a hard link ({links} names for one file); only plain files are read")
        return read_regular_file(path, max_bytes)
    except TooLarge as exc:
        raise RefusedChange(Refusal.TOO_LARGE, str(exc)) from exc
    except NotRegularFile as exc:
        raise RefusedChange(Refusal.NOT_A_FILE, str(exc)) from exc
    except SourceError as exc:
        raise RefusedChange(Refusal.NOT_FOUND, str(exc)) from exc
    except OSError as exc:
        raise RefusedChange(Refusal.NOT_FOUND, f"{path.name}: cannot read ({exc.strerror})") from exc


def speeches_of_document(data: bytes, name: str, tag: str) -> list[Speech]:
    """The speeches a document holds, if it is real text and every speech in it real prose; else RefusedChange."""
    try:
        text = document_text(data, name)
    except SourceError as exc:
        raise RefusedChange(Refusal.NOT_TEXT, str(exc)) from exc
    lines = text.count("\n") + 1
    if lines > MAX_LINES:
        raise RefusedChange(Refusal.NO_SPEECH, f"{name}: {lines} lines, over {MAX_LINES}: not a speech file")
    speeches = speeches_of_text(text, name, tag)
    if not speeches:
        raise RefusedChange(Refusal.NO_SPEECH, f"{name}: no speech text left after cleaning")
    if not is_speech_like(speeches):
        raise RefusedChange(
            Refusal.NO_SPEECH, f"{name}: not speech text (under {MIN_SPEECH_HAN} Chinese characters of prose)"
        )
    empty = [s.id for s in speeches if _prose_han(s) < MIN_SPEECH_HAN]
    if empty:
        raise RefusedChange(
            Refusal.NO_SPEECH,
            f"{name}: {len(empty)} of its {len(speeches)} speeches hold no prose (under {MIN_SPEECH_HAN} Chinese "
            f"characters), e.g. {', '.join(empty[:3])}",
        )
    return speeches


def speeches_of_text(text: str, source_file: str, tag: str) -> list[Speech]:
    repair = repair_encoding(text)
    speeches = split_speeches(source_file, tag, clean_lines(repair.text, is_section_start))
    spun = is_spun(text)
    return [replace(s, spun=spun, repaired=frozenset(repair.spots)) for s in speeches]


def is_speech_like(speeches: list[Speech]) -> bool:
    """Enough Chinese prose beyond titles and greetings, and Chinese the main script of the text."""
    text = "".join(line for s in speeches for line in _prose(s))
    han = len(_HAN.findall(text))
    words = len(_WORD_CHAR.findall(text))
    return han >= MIN_SPEECH_HAN and han >= MIN_HAN_SHARE * words


def _prose(speech: Speech) -> list[str]:
    return [line for line in speech.lines if line.strip() and not line.rstrip().endswith(("：", ":"))]


def _prose_han(speech: Speech) -> int:
    return sum(len(_HAN.findall(line)) for line in _prose(speech))


def _shown(name: str) -> str:
    """A name cut for a message, by characters."""
    return repr(name[:60])
