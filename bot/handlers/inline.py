"""Inline mode: @bot 问题 in any chat offers passages to share, in the asker's script; each query is logged."""

from __future__ import annotations

import time
from typing import cast

from telegram import (
    InlineQuery,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    Update,
    User,
)
from telegram.ext import BaseHandler, InlineQueryHandler

from bot.context import BotContext, services
from bot.handlers.replies import reader_writer
from bot.ratelimit import Verdict
from bot.records import hash_user, question_key
from bot.view.render import passage_html, reply_titles
from retrieval.results import Hit

MAX_RESULTS = 10
HINT = "输入问题，例如：区长质量奖的奖金是多少"
NOTHING = "没有找到相关段落，换个说法试试"


def _answer(hit: Hit) -> str:
    a, b = hit.answer_span if hit.answer_span[1] > hit.answer_span[0] else hit.best_span
    return hit.shown_text[a:b][:120]


def handlers() -> list[BaseHandler]:
    return [InlineQueryHandler(inline_query)]


async def inline_query(update: Update, context: BotContext) -> None:
    user = cast(User, update.effective_user)
    query = cast(InlineQuery, update.inline_query)
    if not query.query.strip():  # the bot's name typed, no question yet
        hint = reader_writer(update, context).words(HINT)
        await query.answer([], button=InlineQueryResultsButton(text=hint, start_parameter="inline"), cache_time=300)
        return
    bot_services = services(context)
    if bot_services.inline_limiter.check(user.id) is not Verdict.ALLOW:
        await query.answer([], cache_time=5, is_personal=True)
        return
    started = time.perf_counter()
    answer = await bot_services.search.search(query.query, MAX_RESULTS)
    latency_ms = (time.perf_counter() - started) * 1000
    question, found = answer.question.text, answer.hits
    writer = reader_writer(update, context, question)
    titles = reply_titles(found)
    results = [
        InlineQueryResultArticle(
            id=hit.chunk_id,
            title=writer.text(titles[hit.speech_id]),
            description=writer.text(f"第{hit.answer_paragraph}段 · {_answer(hit)}"),
            input_message_content=InputTextMessageContent(passage_html(hit, hit.rank, writer, titles)),
        )
        for hit in found
    ]
    nothing = InlineQueryResultsButton(text=writer.words(NOTHING), start_parameter="inline")
    # The answer is per reader's script, so Telegram must not hand one reader's cached answer to another.
    await query.answer(results, button=None if results else nothing, cache_time=60, is_personal=True)
    # Awaited after the answer went out, so a stop (bot/shutdown.py) waits for the log row.
    await bot_services.records.log_inline(
        hash_user(user.id, bot_services.settings.user_hash_salt),
        question_key(question),
        question,
        [h.chunk_id for h in found],
        latency_ms,
    )
