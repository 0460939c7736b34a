"""Read a speech file into text: .txt in whatever encoding a Chinese Windows or web copy used, .md, .docx."""

from __future__ import annotations

import codecs
import io
import zipfile
from pathlib import Path

import docx
from markdown_it import MarkdownIt

SUPPORTED_SUFFIXES = (".txt", ".md", ".docx")

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
    if not text.strip():
        raise SourceError(f"{name}: the file is empty")
    if _text_share(text) < MIN_TEXT_SHARE:
        raise SourceError(f"{name}: does not look like text (too many control or unassigned characters)")
    return text


def read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"{path.name}: cannot read ({exc.strerror})") from exc
    return document_text(data, path.name)


def document_text(data: bytes, name: str) -> str:
    """The text of a document by its kind (file name suffix); SourceError says what is wrong with it."""
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise SourceError(f"{name}: not a supported file type (use {', '.join(SUPPORTED_SUFFIXES)})")
    if suffix == ".docx":
        text = _docx_text(data, name)
    else:
        text = decode(data, name)
        if suffix == ".md":
            text = _markdown_text(text)
    if not text.strip():
        raise SourceError(f"{name}: the file holds no text")
    return text


def _docx_text(data: bytes, name: str) -> str:
    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise SourceError(f"{name}: not a readable .docx file ({exc.__class__.__name__})") from exc
    return "\n".join(p.text for p in document.paragraphs)


def _markdown_text(text: str) -> str:
    """One line per Markdown block, markup removed (headings, emphasis, list markers, links)."""
    lines = []
    for token in MarkdownIt().parse(text):
        if token.type == "inline" and token.children is not None:
            parts = [c.content for c in token.children if c.type in ("text", "code_inline")]
            parts += ["\n" for c in token.children if c.type == "hardbreak"]
            lines.append("".join(parts))
    return "\n".join(lines)


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
