"""Button data: what a button asks for, packed into Telegram's 64 bytes and checked on the way back in.

Buttons outlive the process that drew them, so each carries ids that the
store can resolve after a restart (a question key, a chunk id, a speech id),
never a pointer into memory. Anything that does not parse is a Stale button.
"""

from __future__ import annotations

import hashlib
import re
import typing
from dataclasses import dataclass

from telegram.constants import InlineKeyboardButtonLimit

_ID = r"[0-9A-Za-z][0-9A-Za-z.\-]{0,40}"
_KEY = r"[0-9a-f]{12}"


@dataclass(frozen=True)
class MorePage:
    """Another page of results for a question asked before."""

    key: str
    page: int


@dataclass(frozen=True)
class Around:
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
class Cite:
    """A passage whole, with its title and paragraph, ready to paste into a paper."""

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
    """An admin confirms moving aside a file that holds several speeches, as the corpus stood then (its
    generation: after any change the button has expired)."""

    speech_id: str
    generation: int


@dataclass(frozen=True)
class Restore:
    """An admin brings back a removed file, named by a short hash of its name."""

    name_key: str


@dataclass(frozen=True)
class Stale:
    """Data that is not ours, or from a version we no longer read."""

    raw: str


Button = (
    MorePage
    | Around
    | ReadAt
    | SourceText
    | Cite
    | OpenSpeech
    | SpeechPage
    | ListPage
    | Feedback
    | Example
    | ConfirmRemove
    | Restore
)

B = typing.TypeVar("B", bound=Button)

# Telegram's limit on callback_data, in bytes.
MAX_BYTES = InlineKeyboardButtonLimit.MAX_CALLBACK_DATA


@dataclass(frozen=True)
class Field:
    """One field of a button's data: the attribute, the pattern of its text, and whether it may be left out
    (then it is written only when not empty, and read back as empty)."""

    name: str
    pattern: str
    optional: bool = False


@dataclass(frozen=True)
class Format:
    """How one kind of button is written: a prefix, then its fields, ':'-separated."""

    kind: type
    prefix: str
    fields: tuple[Field, ...]

    @property
    def pattern(self) -> re.Pattern[str]:
        return _PATTERNS[self.kind]

    def regex(self) -> str:
        parts = "".join(f"(?::({f.pattern}))?" if f.optional else f":({f.pattern})" for f in self.fields)
        return f"^{re.escape(self.prefix)}{parts}$"

    def write(self, button: Button) -> str:
        values = [(f, getattr(button, f.name)) for f in self.fields]
        return ":".join([self.prefix, *(_write(v) for f, v in values if not (f.optional and v == ""))])

    def read(self, match: re.Match[str]) -> Button:
        hints = typing.get_type_hints(self.kind)
        return self.kind(
            *(_read(hints[f.name], text or "") for f, text in zip(self.fields, match.groups(), strict=True))
        )


_PASSAGE = rf"{_ID}:\d{{1,5}}"

# The one definition of every button's data: encode, decode and the handlers' patterns all come from it.
FORMATS = (
    Format(MorePage, "p", (Field("key", _KEY), Field("page", r"\d{1,3}"))),
    Format(Around, "c", (Field("chunk_id", _PASSAGE), Field("key", _KEY, optional=True))),
    Format(ReadAt, "a", (Field("chunk_id", _PASSAGE), Field("key", _KEY, optional=True))),
    Format(SourceText, "r", (Field("chunk_id", _PASSAGE),)),
    Format(Cite, "q", (Field("chunk_id", _PASSAGE),)),
    Format(OpenSpeech, "o", (Field("speech_id", _ID), Field("page", r"\d{1,4}"))),
    Format(SpeechPage, "s", (Field("speech_id", _ID), Field("page", r"\d{1,4}"))),
    Format(ListPage, "l", (Field("page", r"\d{1,4}"),)),
    Format(Feedback, "f", (Field("key", _KEY), Field("useful", r"[+-]"))),
    Format(Example, "x", (Field("number", r"\d"),)),
    Format(ConfirmRemove, "rm", (Field("speech_id", _ID), Field("generation", r"\d{1,12}"))),
    Format(Restore, "rs", (Field("name_key", r"[0-9a-f]{10}"),)),
)
_BY_KIND = {f.kind: f for f in FORMATS}
_PATTERNS = {f.kind: re.compile(f.regex()) for f in FORMATS}


def _write(value: object) -> str:
    if isinstance(value, bool):
        return "+" if value else "-"
    return str(value)


def _read(kind: object, text: str) -> object:
    if kind is bool:
        return text == "+"
    return int(text) if kind is int else text


def encode(button: Button) -> str:
    data = _BY_KIND[type(button)].write(button)
    if _size(data) > MAX_BYTES or decode(data) != button:
        raise ValueError(f"button data does not fit Telegram's rules: {data!r}")
    return data


def matches(kind: type) -> re.Pattern[str]:
    """The handler pattern for one kind of button (a CallbackQueryHandler's `pattern`)."""
    return _PATTERNS[kind]


def name_key(name: str) -> str:
    """A file name in 10 hex characters, for button data (names can outgrow 64 bytes)."""
    return hashlib.sha1(name.encode("utf-8")).hexdigest()[:10]


def decode(data: str | None) -> Button | Stale:
    """The button behind callback data; anything else (empty, oversized, forged, lone surrogates) is Stale."""
    if not data or _size(data) > MAX_BYTES:
        return Stale(data or "")
    for format_ in FORMATS:
        m = format_.pattern.match(data)
        if m:
            return format_.read(m)
    return Stale(data)


def read_as(kind: type[B], data: str | None) -> B:
    """The button behind data its handler's pattern (`matches(kind)`) let through: of that kind, or ValueError."""
    button = decode(data)
    if not isinstance(button, kind):
        raise ValueError(f"not {kind.__name__} button data: {data!r}")
    return button


def _size(data: str) -> int:
    """Bytes as Telegram counts them; a lone surrogate (from forged JSON) counts without raising."""
    return len(data.encode("utf-8", "surrogatepass"))
