"""The error handler: log the update and the traceback, tell the user in one line."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError

from bot.context import BotContext

log = logging.getLogger(__name__)

SORRY = "抱歉，处理这条消息时出错了，请稍后再试。"


async def on_error(update: object, context: BotContext) -> None:
    if not isinstance(update, Update):
        log.error("error outside an update", exc_info=context.error)
        return
    # The update's id and kind, not its content: no names or usernames in the logs.
    chat_type = update.effective_chat.type if update.effective_chat else "-"
    kind = next((k for k in ("message", "edited_message", "callback_query", "inline_query") if getattr(update, k)), "?")
    log.error(
        "error while handling update %s (%s in a %s chat)", update.update_id, kind, chat_type, exc_info=context.error
    )
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(SORRY)
        elif update.effective_message is not None:
            await update.effective_message.reply_text(SORRY)
    except TelegramError:  # e.g. the button was answered already
        if update.effective_chat is not None:
            await context.bot.send_message(update.effective_chat.id, SORRY)
