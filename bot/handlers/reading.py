"""Reading: the speech list, a whole speech page by page, the context around a passage, a passage's source."""

from __future__ import annotations

from html import escape
from typing import cast

from telegram import CallbackQuery, Chat, InlineKeyboardMarkup, Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import BotContext, services
from bot.handlers.replies import STALE_BUTTON, edit_in_place, reader_writer
from bot.view.callbacks import (
    Around,
    Cite,
    ListPage,
    OpenSpeech,
    ReadAt,
    SourceText,
    SpeechPage,
    decode,
    matches,
    read_as,
)
from bot.view.keyboards import context_keyboard, speech_keyboard, speeches_keyboard
from bot.view.render import (
    SPEECHES_PER_PAGE,
    Marks,
    SpeechRow,
    cite_html,
    context_html,
    source_html,
    speech_page_html,
    speech_pages,
    speeches_html,
)
from bot.view.script import Writer
from bot.view.shown import page_texts
from retrieval.ingest.chunking import Chunk
from retrieval.lexical.index import Index
from retrieval.shown import file_label, reader_text, text_note

NO_SUCH_SPEECH = "没有编号为 {speech_id} 的讲话。发送 /speeches 查看全部编号。"
NO_ID = "请写上讲话编号，例如：/speech 000-1（开头几位即可）。发送 /speeches 查看全部编号。"
MATCHES = "📚 <b>编号以 {prefix} 开头的讲话</b>（{count} 篇）"
SOURCE_NOTE = "按原文件显示：原字体、原用词。"
SOURCE_REPAIRED_NOTE = "按原文件显示：原字体、原用词（原文的编码错误处显示修复后的文字）。"


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("speeches", list_speeches),
        CommandHandler("speech", read_speech),
        CallbackQueryHandler(list_page_button, pattern=matches(ListPage)),
        CallbackQueryHandler(open_speech_button, pattern=matches(OpenSpeech)),
        CallbackQueryHandler(read_at_button, pattern=matches(ReadAt)),
        CallbackQueryHandler(speech_page_button, pattern=matches(SpeechPage)),
        CallbackQueryHandler(context_button, pattern=matches(Around)),
        CallbackQueryHandler(source_button, pattern=matches(SourceText)),
        CallbackQueryHandler(cite_button, pattern=matches(Cite)),
    ]


async def list_speeches(update: Update, context: BotContext) -> None:
    message = cast(Message, update.effective_message)
    text, markup = _speech_list(services(context).search.index, 0, reader_writer(update, context))
    await message.reply_text(text, reply_markup=markup)


async def list_page_button(update: Update, context: BotContext) -> None:
    query = cast(CallbackQuery, update.callback_query)
    page = read_as(ListPage, query.data).page
    text, markup = _speech_list(services(context).search.index, page, reader_writer(update, context))
    await query.answer()
    await edit_in_place(query.message, text, markup)


def _rows(index: Index, speech_ids: list[str]) -> list[SpeechRow]:
    copies = index.speech_copy_of
    return [
        SpeechRow(
            s,
            index.speeches[s].title,
            index.speeches[s].source_title,
            file_label(index.speeches[s].source_file),
            index.paragraph_count(s),
            copies.get(s, ""),
        )
        for s in speech_ids
    ]


def _speech_list(index: Index, page: int, writer: Writer) -> tuple[str, InlineKeyboardMarkup | None]:
    rows = _rows(index, index.speech_order)
    count = max(1, -(-len(rows) // SPEECHES_PER_PAGE))
    page = min(page, count - 1)
    return speeches_html(rows, page, writer), speeches_keyboard(page, count, writer)


def matching_speeches(index: Index, wanted: str) -> list[str]:
    """The speech with that id, else those whose ids start with it (001-7 → 001-7.1, 001-7.2, …)."""
    wanted = wanted.strip().lower()
    exact = [s for s in index.speech_order if s.lower() == wanted]
    return exact or [s for s in index.speech_order if s.lower().startswith(wanted)]


async def read_speech(update: Update, context: BotContext) -> None:
    writer = reader_writer(update, context)
    message = cast(Message, update.effective_message)
    wanted = (context.args or [""])[0]
    if not wanted:
        await message.reply_text(writer.words(NO_ID))
        return
    index = services(context).search.index
    found = matching_speeches(index, wanted)
    if len(found) > 1:
        heading = MATCHES.format(prefix=escape(wanted[:40], quote=False), count=len(found))
        await message.reply_text(speeches_html(_rows(index, found), 0, writer, heading=heading))
        return
    page = _speech_page(index, found[0], 0, writer) if found else None
    if page is None:
        await message.reply_text(writer.words(NO_SUCH_SPEECH.format(speech_id=wanted[:40])), parse_mode=None)
        return
    await message.reply_text(page[0], reply_markup=page[1])


async def open_speech_button(update: Update, context: BotContext) -> None:
    """The whole speech as a new message, so the answer it was opened from stays."""
    await _show_speech_page(update, context, new_message=True)


async def speech_page_button(update: Update, context: BotContext) -> None:
    await _show_speech_page(update, context, new_message=False)


async def _show_speech_page(update: Update, context: BotContext, new_message: bool) -> None:
    chat = cast(Chat, update.effective_chat)
    query = cast(CallbackQuery, update.callback_query)
    read = decode(query.data)
    if not isinstance(read, OpenSpeech | SpeechPage):  # the handler's pattern lets only these through
        raise ValueError(f"not a speech page button: {query.data!r}")
    page = _speech_page(services(context).search.index, read.speech_id, read.page, reader_writer(update, context))
    if page is None:
        await query.answer(STALE_BUTTON)
        return
    await query.answer()
    if new_message:
        await context.bot.send_message(chat.id, page[0], reply_markup=page[1])
    else:
        await edit_in_place(query.message, page[0], page[1])


def _speech_page(
    index: Index, speech_id: str, number: int, writer: Writer, focus: tuple[str, Marks] | None = None
) -> tuple[str, InlineKeyboardMarkup | None] | None:
    speech = index.speeches.get(speech_id)
    if speech is None:
        return None
    pages = speech_pages(index.speech_chunks(speech_id))
    if not pages or number >= len(pages):
        return None
    texts, note = page_texts(pages[number])
    html = speech_page_html(
        speech.title,
        file_label(speech.source_file),
        pages[number],
        number + 1,
        len(pages),
        writer,
        focus=focus,
        texts=texts,
        note=note,
        paragraphs={c.id: index.paragraphs_of(c.id) for c in pages[number]},
    )
    return html, speech_keyboard(speech_id, number, len(pages), writer)


async def _marks(context: BotContext, index: Index, chunk: Chunk, key: str) -> Marks | None:
    """The answer to mark in a passage opened from a reply: by the question behind the reply's key (the
    question is cut off the event loop)."""
    question = await services(context).records.question_for(key) if key else None
    if not question:
        return None
    best, terms = await services(context).search.passage_marks(index, chunk, question)
    return Marks(best, terms)


async def read_at_button(update: Update, context: BotContext) -> None:
    """The whole speech as a new message, opened at the page holding the passage, the passage marked."""
    chat = cast(Chat, update.effective_chat)
    query = cast(CallbackQuery, update.callback_query)
    read = read_as(ReadAt, query.data)
    index = services(context).search.index
    chunk = index.chunk(read.chunk_id)
    if chunk is None:
        await query.answer(STALE_BUTTON)
        return
    pages = speech_pages(index.speech_chunks(chunk.speech_id))
    number = next(i for i, p in enumerate(pages) if any(c.id == chunk.id for c in p))
    marks = await _marks(context, index, chunk, read.key) or Marks((0, len(chunk.text)))
    page = _speech_page(index, chunk.speech_id, number, reader_writer(update, context), (chunk.id, marks))
    if page is None:
        await query.answer(STALE_BUTTON)
        return
    await query.answer()
    await context.bot.send_message(chat.id, page[0], reply_markup=page[1])


async def context_button(update: Update, context: BotContext) -> None:
    """The paragraphs around a passage, as a new message with a way on to the whole speech and the source."""
    query = cast(CallbackQuery, update.callback_query)
    chat = cast(Chat, update.effective_chat)
    read = read_as(Around, query.data)
    index = services(context).search.index
    chunk = index.chunk(read.chunk_id)
    if chunk is None:
        await query.answer(STALE_BUTTON)
        return
    await query.answer()
    writer = reader_writer(update, context)
    around = index.neighbours(chunk.id)
    texts, note = page_texts(around)
    html = context_html(
        index.speeches[chunk.speech_id].title,
        around,
        chunk.id,
        writer,
        marks=await _marks(context, index, chunk, read.key),
        texts=texts,
        note=note,
        paragraphs={c.id: index.paragraphs_of(c.id) for c in around},
    )
    await context.bot.send_message(chat.id, html, reply_markup=context_keyboard(chunk.id, read.key, writer))


async def source_button(update: Update, context: BotContext) -> None:
    """The passage as the source file has it: not converted to the reader's script, words not read back."""
    query = cast(CallbackQuery, update.callback_query)
    chat = cast(Chat, update.effective_chat)
    chunk_id = read_as(SourceText, query.data).chunk_id
    index = services(context).search.index
    chunk = index.chunk(chunk_id)
    if chunk is None:
        await query.answer(STALE_BUTTON)
        return
    await query.answer()
    writer = reader_writer(update, context)
    note = SOURCE_REPAIRED_NOTE if chunk.repaired else SOURCE_NOTE
    title = writer.text(index.speeches[chunk.speech_id].title)
    html = source_html(title, chunk, writer, note, index.paragraphs_of(chunk.id))
    await context.bot.send_message(chat.id, html)


async def cite_button(update: Update, context: BotContext) -> None:
    """The passage whole, in the reader's script and the speaker's words, with title and paragraph to paste."""
    query = cast(CallbackQuery, update.callback_query)
    chat = cast(Chat, update.effective_chat)
    cite = decode(query.data)
    index = services(context).search.index
    chunk = index.chunk(cite.chunk_id) if isinstance(cite, Cite) else None
    if chunk is None or chat is None:
        await query.answer(STALE_BUTTON)
        return
    await query.answer()
    speech = index.speeches[chunk.speech_id]
    html = cite_html(
        speech.title,
        speech.source_title,
        index.paragraphs_of(chunk.id),
        reader_text(chunk),
        text_note(chunk),
        reader_writer(update, context),
    )
    await context.bot.send_message(chat.id, html)
