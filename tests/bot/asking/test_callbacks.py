"""Button data: one table writes and reads every kind, within Telegram's 64 bytes; anything else is Stale."""

from __future__ import annotations

import pytest
from telegram.constants import InlineKeyboardButtonLimit

from bot.view.callbacks import (
    FORMATS,
    Around,
    Cite,
    ConfirmRemove,
    Example,
    Feedback,
    ListPage,
    MorePage,
    OpenSpeech,
    ReadAt,
    Restore,
    SourceText,
    SpeechPage,
    Stale,
    decode,
    encode,
    matches,
    name_key,
)

BUTTONS = [
    MorePage("0123456789ab", 2),
    Around("001-5:16"),
    Around("001-5:16", "0123456789ab"),
    ReadAt("001-5:16"),
    ReadAt("001-5:16", "0123456789ab"),
    SourceText("001-5:16"),
    Cite("001-5:16"),
    OpenSpeech("004-2", 0),
    SpeechPage("001-10", 3),
    ListPage(1),
    Feedback("0123456789ab", True),
    Feedback("0123456789ab", False),
    Example(2),
    ConfirmRemove("001-5", 7),
    Restore(name_key("计量讲话.txt")),
]


def test_every_kind_is_in_the_table_once() -> None:
    assert sorted(f.kind.__name__ for f in FORMATS) == sorted({type(b).__name__ for b in BUTTONS})
    assert len({f.prefix for f in FORMATS}) == len(FORMATS)


@pytest.mark.parametrize("button", BUTTONS, ids=repr)
def test_what_is_written_reads_back_and_matches_its_handler_pattern_only(button: object) -> None:
    data = encode(button)
    assert decode(data) == button
    assert len(data.encode()) <= InlineKeyboardButtonLimit.MAX_CALLBACK_DATA
    assert [f.kind for f in FORMATS if matches(f.kind).match(data)] == [type(button)]


@pytest.mark.parametrize(
    "data", ["", None, "p:0123456789ab", "x:12", "c:a" * 30, "rm:\ud800", "\udfff", "l:1\ud83d", "f:0123456789ab:*"]
)
def test_anything_else_is_stale_and_never_raises(data: str | None) -> None:
    assert isinstance(decode(data), Stale)


def test_data_that_would_not_fit_is_refused_when_written() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        encode(OpenSpeech("a" * 60, 1))
