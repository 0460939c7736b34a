"""The error handler: log the update and the traceback, tell the user in one line."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import ContextTypes

log = logging.getLogger(__name__)

SORRY = "抱歉，处理这条消息时出错了，请稍后再试。"


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    log.error("error while handling %r", update.to_dict() if isinstance(update, Update) else update,
              exc_info=context.error)
    if not isinstance(update, Update):
        return
    if update.callback_query is not None:
        await update.callback_query.answer(SORRY)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(SORRY)
