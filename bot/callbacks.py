"""Button data: what a button asks for, packed into Telegram's 64 bytes and checked on the way back in.

Buttons outlive the process that drew them, so each carries ids that the
store can resolve after a restart (a question key, a chunk id, a speech id),
never a pointer into memory. Anything that does not parse is a Stale button.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

MAX_BYTES = 64
_ID = r"[0-9A-Za-z][0-9A-Za-z.\-]{0,40}"
_KEY = r"[0-9a-f]{12}"


@dataclass(frozen=True)
class MorePage:
    """Another page of results for a question asked before."""

    key: str
    page: int


@dataclass(frozen=True)
class Context:
    """The paragraphs before and after a passage; `key` names the question whose answer to mark in it."""

    chunk_id: str
    key: str = ""


@dataclass(frozen=True)
class ReadAt:
    """A whole speech opened at the page holding a passage, the passage marked (by `key`'s question)."""

    chunk_id: str
    key: str = ""


@dataclass(frozen=True)
class SourceText:
    """A passage exactly as its source file has it: its script, its words."""

    chunk_id: str


@dataclass(frozen=True)
class OpenSpeech:
    """A whole speech opened at a page, as a new message (the answer it came from stays)."""

    speech_id: str
    page: int


@dataclass(frozen=True)
class SpeechPage:
    """Another page of the speech shown in this message."""

    speech_id: str
    page: int


@dataclass(frozen=True)
class ListPage:
    """A page of the speech list."""

    page: int


@dataclass(frozen=True)
class Feedback:
    key: str
    useful: bool


@dataclass(frozen=True)
class Example:
    """One of the example questions under /start."""

    number: int


@dataclass(frozen=True)
class ConfirmRemove:
    """An admin confirms moving aside a file that holds several speeches."""

    speech_id: str


@dataclass(frozen=True)
class Restore:
    """An admin brings back a removed file, named by a short hash of its name."""

    name_key: str


@dataclass(frozen=True)
class Stale:
    """Data that is not ours, or from a version we no longer read."""

    raw: str


Button = (
    MorePage | Context | ReadAt | SourceText | OpenSpeech | SpeechPage | ListPage | Feedback | Example | ConfirmRemove
    | Restore
)

# Each kind: the pattern its data must match, and how the matched groups make the button.
_PARSERS: list[tuple[re.Pattern[str], Callable[[tuple[str, ...]], Button]]] = [
    (re.compile(rf"^p:({_KEY}):(\d{{1,3}})$"), lambda g: MorePage(g[0], int(g[1]))),
    (re.compile(rf"^c:({_ID}:\d{{1,5}})(?::({_KEY}))?$"), lambda g: Context(g[0], g[1] or "")),
    (re.compile(rf"^a:({_ID}:\d{{1,5}})(?::({_KEY}))?$"), lambda g: ReadAt(g[0], g[1] or "")),
    (re.compile(rf"^r:({_ID}:\d{{1,5}})$"), lambda g: SourceText(g[0])),
    (re.compile(rf"^o:({_ID}):(\d{{1,4}})$"), lambda g: OpenSpeech(g[0], int(g[1]))),
    (re.compile(rf"^s:({_ID}):(\d{{1,4}})$"), lambda g: SpeechPage(g[0], int(g[1]))),
    (re.compile(r"^l:(\d{1,4})$"), lambda g: ListPage(int(g[0]))),
    (re.compile(rf"^f:({_KEY}):([+-])$"), lambda g: Feedback(g[0], g[1] == "+")),
    (re.compile(r"^x:(\d)$"), lambda g: Example(int(g[0]))),
    (re.compile(rf"^rm:({_ID})$"), lambda g: ConfirmRemove(g[0])),
    (re.compile(r"^rs:([0-9a-f]{10})$"), lambda g: Restore(g[0])),
]


def encode(button: Button) -> str:
    match button:
        case MorePage(key, page):
            data = f"p:{key}:{page}"
        case Context(chunk_id, key):
            data = f"c:{chunk_id}:{key}" if key else f"c:{chunk_id}"
        case ReadAt(chunk_id, key):
            data = f"a:{chunk_id}:{key}" if key else f"a:{chunk_id}"
        case SourceText(chunk_id):
            data = f"r:{chunk_id}"
        case OpenSpeech(speech_id, page):
            data = f"o:{speech_id}:{page}"
        case SpeechPage(speech_id, page):
            data = f"s:{speech_id}:{page}"
        case ListPage(page):
            data = f"l:{page}"
        case Feedback(key, useful):
            data = f"f:{key}:{'+' if useful else '-'}"
        case Example(number):
            data = f"x:{number}"
        case ConfirmRemove(speech_id):
            data = f"rm:{speech_id}"
        case Restore(name_key):
            data = f"rs:{name_key}"
    if len(data.encode()) > MAX_BYTES or isinstance(decode(data), Stale):
        raise ValueError(f"button data does not fit Telegram's rules: {data!r}")
    return data


def name_key(name: str) -> str:
    """A file name in 10 hex characters, for button data (names can outgrow 64 bytes)."""
    return hashlib.sha1(name.encode("utf-8")).hexdigest()[:10]


def decode(data: str | None) -> Button | Stale:
    if not data or len(data.encode()) > MAX_BYTES:
        return Stale(data or "")
    for pattern, make in _PARSERS:
        m = pattern.match(data)
        if m:
            return make(m.groups())
    return Stale(data)
