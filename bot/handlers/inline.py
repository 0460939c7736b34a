"""Inline mode: @bot 问题 in any chat offers passages to share."""

from __future__ import annotations

from telegram import InlineQueryResultArticle, InlineQueryResultsButton, InputTextMessageContent, Update
from telegram.ext import BaseHandler, ContextTypes, InlineQueryHandler

from bot.context import services
from bot.input import prepare_question
from bot.ratelimit import Verdict
from bot.render import passage_html

MAX_RESULTS = 10
HINT = InlineQueryResultsButton(text="输入问题，例如：区长质量奖的奖金是多少", start_parameter="inline")
NOTHING = InlineQueryResultsButton(text="没有找到相关段落，换个说法试试", start_parameter="inline")


def handlers() -> list[BaseHandler]:
    return [InlineQueryHandler(inline_query)]


async def inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.inline_query
    question, _ = prepare_question(query.query)
    if not question:
        await query.answer([], button=HINT, cache_time=300)
        return
    bot_services = services(context)
    if bot_services.inline_limiter.check(update.effective_user.id) is not Verdict.ALLOW:
        await query.answer([], cache_time=5, is_personal=True)
        return
    hits = (await bot_services.search.search(question, MAX_RESULTS)).hits
    results = [
        InlineQueryResultArticle(
            id=hit.chunk_id,
            title=hit.speech_title,
            description=f"第{hit.position}段 · {hit.best_sentence[:120]}",
            input_message_content=InputTextMessageContent(passage_html(hit, hit.rank)),
        )
        for hit in hits
    ]
    await query.answer(results, button=None if results else NOTHING, cache_time=60)
