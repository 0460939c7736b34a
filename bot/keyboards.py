"""Inline keyboards under the bot's messages; every button's data goes through bot.callbacks."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import Button, Context, Example, Feedback, ListPage, MorePage, OpenSpeech, SpeechPage, encode
from retrieval.index import Hit


def _button(text: str, data: Button) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=encode(data))


def answer_keyboard(key: str, hits: list[Hit], first_number: int, page: int, has_more: bool) -> InlineKeyboardMarkup:
    """Per passage: its context and its whole speech; then paging and 👍/👎."""
    rows = [
        [_button(f"📖 {first_number + i} 上下文", Context(h.chunk_id)) for i, h in enumerate(hits)],
        [_button(f"📄 {first_number + i} 全文", OpenSpeech(h.speech_id, 0)) for i, h in enumerate(hits)],
    ]
    paging = []
    if page > 0:
        paging.append(_button("◀ 上一页", MorePage(key, page - 1)))
    if has_more:
        paging.append(_button("更多结果 ▶", MorePage(key, page + 1)))
    if paging:
        rows.append(paging)
    rows.append([_button("👍 有用", Feedback(key, True)), _button("👎 没用", Feedback(key, False))])
    return InlineKeyboardMarkup(rows)


def pager(make: type[SpeechPage] | type[ListPage], page: int, count: int, *args: str) -> list[InlineKeyboardButton]:
    buttons = []
    if page > 0:
        buttons.append(_button("◀ 上一页", make(*args, page - 1)))
    if page + 1 < count:
        buttons.append(_button("下一页 ▶", make(*args, page + 1)))
    return buttons


def speech_keyboard(speech_id: str, page: int, count: int) -> InlineKeyboardMarkup | None:
    buttons = pager(SpeechPage, page, count, speech_id)
    return InlineKeyboardMarkup([buttons]) if buttons else None


def speeches_keyboard(page: int, count: int) -> InlineKeyboardMarkup | None:
    buttons = pager(ListPage, page, count)
    return InlineKeyboardMarkup([buttons]) if buttons else None


def context_keyboard(speech_id: str, page: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[_button("📄 阅读全文", OpenSpeech(speech_id, page))]])


def examples_keyboard(examples: list[str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[_button(q, Example(i))] for i, q in enumerate(examples)])
