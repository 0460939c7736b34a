"""Reply helpers shared by the handlers."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest
from telegram.ext import ApplicationHandlerStop

from bot.context import BotContext, services
from bot.view.script import REGION_VARIANTS, Script, Writer, regional_variant, writer_for

STALE_BUTTON = "这个按钮已失效，请重新提问。"
LAST_SCRIPT = "script"  # user_data key: the script the reader last wrote in
LAST_VARIANT = "variant"  # user_data key: the regional Traditional forms the reader last wrote in
TRADITIONAL_LANGUAGES = {"zh-hant", "zh-tw", "zh-hk", "zh-mo"}


async def edit_in_place(message: object, text: str, markup: InlineKeyboardMarkup | None) -> None:
    """Show new content in the message a button sits under; pressing the same page twice is no error."""
    if not isinstance(message, Message):  # an inline message, or one too old for Telegram to return
        return
    try:
        await message.edit_text(text, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():
            raise


def reader_writer(update: Update, context: BotContext, question: str | None = None) -> Writer:
    """The reader's script for this reply: the question's own, else the one they last wrote in (kept per user),
    else their Telegram language's (zh-hant, zh-tw, zh-hk), else Simplified. Traditional in their region's
    forms: the question's, else their Telegram language's region, else the ones they wrote last, else the
    deployment's. A question that tells either sets it for what follows."""
    default = services(context).settings.traditional_variant
    user = update.effective_user
    user_data = context.user_data if user is not None else None
    last = user_data.get(LAST_SCRIPT) if user_data is not None else None
    language = (user.language_code or "").lower() if user is not None else ""
    if last is None and language in TRADITIONAL_LANGUAGES:
        last = Script.TRADITIONAL
    variant = REGION_VARIANTS.get(language) or (user_data.get(LAST_VARIANT) if user_data is not None else None)
    if question is None:
        writer = Writer(last or Script.SIMPLIFIED, variant or default)
    else:
        writer = writer_for(question, last, regional_variant(question) or variant or default)
    if user_data is not None:
        user_data[LAST_SCRIPT] = writer.script
        if question is not None and regional_variant(question):
            user_data[LAST_VARIANT] = writer.variant
    return writer


async def refuse_dataless_buttons(update: object, context: object) -> None:
    """A callback query without data (forged, or a game button) gets the stale-button answer, and no handler.

    python-telegram-bot hands such a query to the first CallbackQueryHandler with any pattern, which here
    was the admin's confirm-remove; this runs first (group -1) and stops the update there.
    """
    query = update.callback_query if isinstance(update, Update) else None
    if query is not None and not query.data:
        await query.answer(STALE_BUTTON)
        raise ApplicationHandlerStop
