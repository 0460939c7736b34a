"""Read a speech file into text, whatever encoding a Chinese Windows or web copy used."""

from __future__ import annotations

import codecs
from pathlib import Path

# Share of characters that must be readable text; a binary file decoded as
# GB18030 (which accepts many byte sequences) ends up full of rare symbols
# and control characters.
MIN_TEXT_SHARE = 0.85


class SourceError(ValueError):
    """A file that is not readable speech text; the message names the file and why."""


def decode(data: bytes, name: str) -> str:
    """UTF-8 (with or without BOM), else GB18030; binary or neither raises SourceError."""
    if not data.strip():
        raise SourceError(f"{name}: the file is empty")
    if b"\x00" in data:
        raise SourceError(f"{name}: binary file (NUL bytes), not text")
    text = _try_decode(data)
    if text is None:
        raise SourceError(f"{name}: neither UTF-8 nor GB18030 text")
    if _text_share(text) < MIN_TEXT_SHARE:
        raise SourceError(f"{name}: does not look like text (too many control or unassigned characters)")
    return text


def read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"{path.name}: cannot read ({exc.strerror})") from exc
    return decode(data, path.name)


def _try_decode(data: bytes) -> str | None:
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def _text_share(text: str) -> float:
    readable = sum(1 for ch in text if ch.isprintable() or ch in "\n\r\t\u3000")
    return readable / len(text)
