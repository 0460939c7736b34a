"""Inline keyboards under the bot's messages; every button's data goes through bot.view.callbacks.

Labels are the bot's own words, written in the reader's script.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.view.callbacks import (
    Around,
    Button,
    Cite,
    Example,
    Feedback,
    ListPage,
    MorePage,
    ReadAt,
    SourceText,
    SpeechPage,
    encode,
)
from bot.view.script import SIMPLIFIED, Writer
from retrieval.results import Hit


def _button(text: str, data: Button, writer: Writer = SIMPLIFIED) -> InlineKeyboardButton:
    return InlineKeyboardButton(writer.words(text), callback_data=encode(data))


def _keyed(make: type[Around] | type[ReadAt], chunk_id: str, key: str) -> Around | ReadAt:
    """The button with the question's key when its data fits, else without (the passage still opens)."""
    try:
        encode(make(chunk_id, key))
        return make(chunk_id, key)
    except ValueError:
        return make(chunk_id)


def answer_keyboard(
    key: str, hits: list[Hit], first_number: int, page: int, has_more: bool, writer: Writer = SIMPLIFIED
) -> InlineKeyboardMarkup:
    """Per passage: its context (the whole passage with those around it), its whole speech (opened at its
    page) and a citation to paste; then paging and 👍/👎."""
    numbered = list(enumerate(hits, start=first_number))
    rows = [
        [_button(f"📖 {n} 上下文", _keyed(Around, h.chunk_id, key), writer) for n, h in numbered],
        [_button(f"📄 {n} 全文", _keyed(ReadAt, h.chunk_id, key), writer) for n, h in numbered],
        [_button(f"📋 {n} 引用", Cite(h.chunk_id), writer) for n, h in numbered],
    ]
    paging = []
    if page > 0:
        paging.append(_button("◀ 上一页", MorePage(key, page - 1), writer))
    if has_more:
        paging.append(_button("更多结果 ▶", MorePage(key, page + 1), writer))
    if paging:
        rows.append(paging)
    rows.append([_button("👍 有用", Feedback(key, True), writer), _button("👎 没用", Feedback(key, False), writer)])
    return InlineKeyboardMarkup(rows)


def pager(
    page_button: Callable[[int], SpeechPage | ListPage], page: int, count: int, writer: Writer = SIMPLIFIED
) -> list[InlineKeyboardButton]:
    """◀ and ▶ to the pages either side of `page`, where there are such pages."""
    buttons = []
    if page > 0:
        buttons.append(_button("◀ 上一页", page_button(page - 1), writer))
    if page + 1 < count:
        buttons.append(_button("下一页 ▶", page_button(page + 1), writer))
    return buttons


def speech_keyboard(speech_id: str, page: int, count: int, writer: Writer = SIMPLIFIED) -> InlineKeyboardMarkup | None:
    buttons = pager(partial(SpeechPage, speech_id), page, count, writer)
    return InlineKeyboardMarkup([buttons]) if buttons else None


def speeches_keyboard(page: int, count: int, writer: Writer = SIMPLIFIED) -> InlineKeyboardMarkup | None:
    buttons = pager(ListPage, page, count, writer)
    return InlineKeyboardMarkup([buttons]) if buttons else None


def context_keyboard(chunk_id: str, key: str, writer: Writer = SIMPLIFIED) -> InlineKeyboardMarkup:
    """Under a context view: the whole speech at this passage, and the passage as its source has it."""
    return InlineKeyboardMarkup(
        [
            [
                _button("📄 阅读全文", _keyed(ReadAt, chunk_id, key), writer),
                _button("📜 原文", SourceText(chunk_id), writer),
            ]
        ]
    )


def examples_keyboard(examples: list[str], writer: Writer = SIMPLIFIED) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[_button(q, Example(i), writer)] for i, q in enumerate(examples)])
