"""Read a speech file into text: .txt in whatever encoding a Chinese Windows or web copy used, .md, .docx."""

from __future__ import annotations

import codecs
import io
import os
import stat
import zipfile
from pathlib import Path

import docx
from markdown_it import MarkdownIt

SUPPORTED_SUFFIXES = (".txt", ".md", ".docx")

# A corpus file larger than this is not a speech (the bundled ones are under 100 KB); it bounds what
# reading the data folder may take in, as MAX_UPLOAD_BYTES bounds an upload.
MAX_SOURCE_BYTES = 20_000_000

# A .docx is a zip: these bound what unpacking one may cost, whatever its size on disk. The XML parts are
# what python-docx parses into a tree (about ten times their size in memory); a speech's document.xml is
# well under a megabyte. Other parts (images) are only held as bytes. python-docx takes ~20 µs an element
# to read text, so the element count of the body is bounded too (a formatted 50-page speech has ~30,000).
MAX_DOCX_XML_BYTES = 4_000_000
MAX_DOCX_ELEMENTS = 100_000
MAX_DOCX_TOTAL_BYTES = 64_000_000
MAX_DOCX_PARTS = 2_000
_READ_CHUNK = 1 << 16

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


class NotRegularFile(SourceError):
    """A path that is a symlink, a device, a FIFO or a folder: never read, whatever it points at."""


class TooLarge(SourceError):
    """A file over the size limit, found out before reading it whole."""


def read_regular_file(path: Path, max_bytes: int) -> bytes:
    """The bytes of a regular file of at most max_bytes; never follows a symlink, never blocks on a FIFO.

    lstat refuses what is not a regular file before opening; O_NOFOLLOW and fstat close the race where the
    path is swapped for a symlink or a FIFO between the check and the open; reading stops one byte past the
    limit, so a file that grows meanwhile cannot make it read more.
    """
    try:
        before = os.lstat(path)
    except OSError as exc:
        raise SourceError(f"{path.name}: cannot read ({exc.strerror})") from exc
    _check_regular(path, before, max_bytes)
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise NotRegularFile(f"{path.name}: cannot open as a plain file ({exc.strerror})") from exc
    with os.fdopen(fd, "rb") as handle:
        _check_regular(path, os.fstat(handle.fileno()), max_bytes)
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise TooLarge(f"{path.name}: over the {max_bytes}-byte limit")
    return data


def _check_regular(path: Path, status: os.stat_result, max_bytes: int) -> None:
    if not stat.S_ISREG(status.st_mode):
        kind = "a symbolic link" if stat.S_ISLNK(status.st_mode) else "not a regular file"
        raise NotRegularFile(f"{path.name}: {kind}; only plain files are read")
    if status.st_size > max_bytes:
        raise TooLarge(f"{path.name}: {status.st_size} bytes, over the {max_bytes}-byte limit")


def read_text(path: Path, max_bytes: int = MAX_SOURCE_BYTES) -> str:
    return document_text(read_regular_file(path, max_bytes), path.name)


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
    text = text.translate(_INVISIBLE_CONTROLS)
    if not text.strip():
        raise SourceError(f"{name}: the file holds no text")
    return text


def _invisible_controls() -> dict[int, str | None]:
    """Control characters out (an ESC reaches a terminal as an escape sequence), those that break lines as a
    line break, and the bidirectional controls that reorder what a reader sees (U+202E shows text backwards:
    display spoofing)."""
    controls = [p for p in (*range(0x20), *range(0x7F, 0xA0)) if chr(p) not in "\n\r\t"]  # Unicode's Cc
    bidi = [0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
    table: dict[int, str | None] = dict.fromkeys([*controls, *bidi])
    table.update(dict.fromkeys(map(ord, "\v\f\x1c\x1d\x1e\x85"), "\n"))  # str.splitlines breaks lines there
    return table


_INVISIBLE_CONTROLS = _invisible_controls()


def _docx_text(data: bytes, name: str) -> str:
    """The paragraphs of a .docx, once its unpacked size is known to be bounded; any failure is a SourceError."""
    try:
        _check_docx_parts(data, name)
        document = docx.Document(io.BytesIO(data))
        if sum(1 for _ in document.element.body.iter()) > MAX_DOCX_ELEMENTS:
            raise SourceError(f"{name}: the .docx holds too many elements (over {MAX_DOCX_ELEMENTS})")
        return "\n".join(p.text for p in document.paragraphs)
    except SourceError:
        raise
    except Exception as exc:  # zip, XML and python-docx errors alike: a file we cannot read, in one line
        raise SourceError(f"{name}: not a readable .docx file ({exc.__class__.__name__})") from exc


def _check_docx_parts(data: bytes, name: str) -> None:
    """Refuse a zip bomb: the sizes its headers declare, then the bytes each part really unpacks to, counted."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        parts = archive.infolist()
        if len(parts) > MAX_DOCX_PARTS:
            raise SourceError(f"{name}: {len(parts)} parts in the .docx, over {MAX_DOCX_PARTS}")
        xml_total = total = 0
        for part in parts:
            is_xml = part.filename.lower().endswith((".xml", ".rels"))
            declared = part.file_size
            if declared > MAX_DOCX_TOTAL_BYTES - total or (is_xml and declared > MAX_DOCX_XML_BYTES - xml_total):
                raise SourceError(f"{name}: the .docx unpacks to too much text (a zip bomb?)")
            # zipfile stops at the declared size and checks the CRC, but count what comes out all the same.
            unpacked = 0
            with archive.open(part) as stream:
                while chunk := stream.read(_READ_CHUNK):
                    unpacked += len(chunk)
                    if unpacked > declared:
                        raise SourceError(f"{name}: a .docx part unpacks past its declared size")
            total += unpacked
            xml_total += unpacked if is_xml else 0


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
    readable = sum(map(str.isprintable, text)) + sum(map(text.count, "\n\r\t\u3000"))  # none of them printable
    return readable / len(text)
