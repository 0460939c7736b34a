"""Reading: the speech list, a whole speech page by page, the context around a passage."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ContextTypes

from bot.callbacks import Context, ListPage, OpenSpeech, SpeechPage, decode
from bot.context import services
from bot.handlers.replies import STALE_BUTTON, edit_in_place
from bot.keyboards import context_keyboard, speech_keyboard, speeches_keyboard
from bot.render import SPEECHES_PER_PAGE, context_html, speech_page_html, speech_pages, speeches_html
from retrieval.index import Index

NO_SUCH_SPEECH = "没有编号为 {speech_id} 的讲话。发送 /speeches 查看全部编号。"


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("speeches", list_speeches),
        CommandHandler("speech", read_speech),
        CallbackQueryHandler(list_page_button, pattern=lambda d: isinstance(decode(d), ListPage)),
        CallbackQueryHandler(open_speech_button, pattern=lambda d: isinstance(decode(d), OpenSpeech)),
        CallbackQueryHandler(speech_page_button, pattern=lambda d: isinstance(decode(d), SpeechPage)),
        CallbackQueryHandler(context_button, pattern=lambda d: isinstance(decode(d), Context)),
    ]


async def list_speeches(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    text, markup = _speech_list(services(context).search.index, 0)
    await update.effective_message.reply_text(text, reply_markup=markup)


async def list_page_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    page = decode(update.callback_query.data).page
    text, markup = _speech_list(services(context).search.index, page)
    await update.callback_query.answer()
    await edit_in_place(update.callback_query.message, text, markup)


def _speech_list(index: Index, page: int):
    rows = [(s, index.speeches[s].title, index.speeches[s].source_file, _paragraphs(index, s))
            for s in index.speech_order]
    count = max(1, -(-len(rows) // SPEECHES_PER_PAGE))
    page = min(page, count - 1)
    return speeches_html(rows, page), speeches_keyboard(page, count)


def _paragraphs(index: Index, speech_id: str) -> int:
    chunks = index.speech_chunks(speech_id)
    return chunks[-1].paragraph if chunks else 0


async def read_speech(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    speech_id = (context.args or [""])[0]
    if not speech_id:
        await update.effective_message.reply_text("请写上讲话编号，例如：/speech 000-1。发送 /speeches 查看全部编号。")
        return
    page = _speech_page(services(context).search.index, speech_id, 0)
    if page is None:
        await update.effective_message.reply_text(NO_SUCH_SPEECH.format(speech_id=speech_id[:40]), parse_mode=None)
        return
    await update.effective_message.reply_text(page[0], reply_markup=page[1])


async def open_speech_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The whole speech as a new message, so the answer it was opened from stays."""
    await _show_speech_page(update, context, new_message=True)


async def speech_page_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _show_speech_page(update, context, new_message=False)


async def _show_speech_page(update: Update, context: ContextTypes.DEFAULT_TYPE, new_message: bool) -> None:
    query = update.callback_query
    read: OpenSpeech | SpeechPage = decode(query.data)
    page = _speech_page(services(context).search.index, read.speech_id, read.page)
    if page is None:
        await query.answer(STALE_BUTTON)
        return
    await query.answer()
    if new_message:
        await context.bot.send_message(update.effective_chat.id, page[0], reply_markup=page[1])
    else:
        await edit_in_place(query.message, page[0], page[1])


def _speech_page(index: Index, speech_id: str, number: int):
    speech = index.speeches.get(speech_id)
    if speech is None:
        return None
    pages = speech_pages(index.speech_chunks(speech_id))
    if not pages or number >= len(pages):
        return None
    html = speech_page_html(speech.title, speech.source_file, pages[number], number + 1, len(pages))
    return html, speech_keyboard(speech_id, number, len(pages))


async def context_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The paragraphs around a passage, as a new message with a way on to the whole speech."""
    chunk_id = decode(update.callback_query.data).chunk_id
    index = services(context).search.index
    chunk = index.chunk(chunk_id)
    if chunk is None:
        await update.callback_query.answer(STALE_BUTTON)
        return
    await update.callback_query.answer()
    speech = index.speeches[chunk.speech_id]
    pages = speech_pages(index.speech_chunks(chunk.speech_id))
    page = next(i for i, p in enumerate(pages) if any(c.id == chunk_id for c in p))
    html = context_html(speech.title, index.neighbours(chunk_id), chunk_id)
    await context.bot.send_message(update.effective_chat.id, html, reply_markup=context_keyboard(chunk.speech_id, page))
