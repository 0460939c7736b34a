"""Reply helpers shared by the handlers."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Message
from telegram.error import BadRequest

STALE_BUTTON = "这个按钮已失效，请重新提问。"


async def edit_in_place(message: object, text: str, markup: InlineKeyboardMarkup | None) -> None:
    """Show new content in the message a button sits under; pressing the same page twice is no error."""
    if not isinstance(message, Message):  # an inline message, or one too old for Telegram to return
        return
    try:
        await message.edit_text(text, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():
            raise
