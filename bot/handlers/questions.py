"""Questions and their answers: private messages, /ask and mentions in groups, example and paging buttons."""

from __future__ import annotations

import time
from html import escape
from typing import cast

from telegram import CallbackQuery, Message, MessageEntity, Update, User
from telegram.constants import ChatType
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.commands import ADMIN_COMMANDS, show_admin_commands
from bot.context import BotContext, services
from bot.handlers.replies import STALE_BUTTON, edit_in_place, reader_writer
from bot.ratelimit import Verdict
from bot.records import hash_user, question_key
from bot.view.callbacks import Example, Feedback, MorePage, matches, read_as
from bot.view.keyboards import answer_keyboard, examples_keyboard
from bot.view.render import answer_html, no_answer_html, places_note, shortened_note

EXAMPLES = ["区长质量奖的奖金是多少", "怎么抓食品安全", "质监部门要帮企业建立哪三大体系"]
# How many pages "more results" may turn; each page searches for just what it shows, plus one to
# know whether another page follows.
MAX_PAGES = 5

INTRO = (
    "👋 我可以在质量工作讲话稿中查找回答你问题的原文段落，并注明出自哪篇讲话。\n\n"
    "直接发送问题即可（简体、繁体都行），例如下面的问题。\n"
    "/speeches 查看全部讲话，/speech 编号 阅读全文；在群组里用 /ask 问题 或 @我。\n"
    "在任意聊天中输入 @{username} 问题，可以把段落分享出去。"
)
WHAT_I_DO = "我只能回答文字问题，比如“区长质量奖的奖金是多少”。发送 /help 查看用法。"
EMPTY = "请在命令后写上问题，例如：/ask 区长质量奖的奖金是多少"
SLOW_DOWN = "提问太快了，请 {seconds} 秒后再试。"
ADMIN_HELP = (
    "\n\n管理员命令：\n"
    + "\n".join(f"/{c.command} — {c.description}" for c in ADMIN_COMMANDS)
    + "\n发送 .txt、.docx 或 .md 文件即可加入讲话稿。"
)


def handlers() -> list[BaseHandler]:
    # New messages only: an edited question is not asked again.
    private_text = filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND
    group_address = (
        filters.UpdateType.MESSAGE
        & filters.ChatType.GROUPS
        & filters.TEXT
        & ~filters.COMMAND
        & (filters.Entity(MessageEntity.MENTION) | filters.REPLY)
    )
    return [
        CommandHandler(["start", "help"], start),
        CommandHandler("ask", ask_command),
        MessageHandler(private_text, private_question),
        MessageHandler(group_address, group_question),
        CallbackQueryHandler(example_button, pattern=matches(Example)),
        CallbackQueryHandler(more_button, pattern=matches(MorePage)),
        CallbackQueryHandler(feedback_button, pattern=matches(Feedback)),
        CallbackQueryHandler(stale_button),
        MessageHandler(
            filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE & ~filters.TEXT & ~filters.StatusUpdate.ALL,
            not_a_question,
        ),
        MessageHandler(filters.ChatType.PRIVATE & filters.COMMAND, unknown_command),
    ]


async def start(update: Update, context: BotContext) -> None:
    """/start and /help: what the bot does, three example questions; for an admin, the admin commands too."""
    message = cast(Message, update.effective_message)
    if message is None:
        return
    user = update.effective_user
    admin = user is not None and user.id in services(context).settings.admin_ids
    if admin and user is not None:
        await show_admin_commands(context.bot, user.id)
    writer = reader_writer(update, context)
    intro = INTRO + (ADMIN_HELP if admin else "")
    await message.reply_text(
        writer.words(intro).format(username=escape(context.bot.username or "bot")),
        reply_markup=examples_keyboard(EXAMPLES, writer),
    )


async def private_question(update: Update, context: BotContext) -> None:
    message = cast(Message, update.effective_message)
    await answer(update, context, message.text or "")


async def ask_command(update: Update, context: BotContext) -> None:
    await answer(update, context, " ".join(context.args or []))


async def group_question(update: Update, context: BotContext) -> None:
    """In groups only a mention of the bot or a reply to it is a question; other chatter is not ours."""
    message = cast(Message, update.effective_message)
    mention = f"@{context.bot.username}".lower()
    mentioned = any(
        entity.type == MessageEntity.MENTION and text.lower() == mention
        for entity, text in message.parse_entities([MessageEntity.MENTION]).items()
    )
    original = message.reply_to_message
    replied = original is not None and original.from_user is not None and original.from_user.id == context.bot.id
    if not (mentioned or replied):
        return
    text = message.text or ""
    for value in message.parse_entities([MessageEntity.MENTION]).values():
        if value.lower() == mention:
            text = text.replace(value, " ")
    await answer(update, context, text)


async def not_a_question(update: Update, context: BotContext) -> None:
    message = cast(Message, update.effective_message)
    await message.reply_text(reader_writer(update, context).words(WHAT_I_DO))


async def unknown_command(update: Update, context: BotContext) -> None:
    message = cast(Message, update.effective_message)
    await message.reply_text(reader_writer(update, context).words("没有这个命令。" + WHAT_I_DO))


async def answer(update: Update, context: BotContext, text: str) -> None:
    """Search, reply with the first page of passages and their buttons, then log the question."""
    user = cast(User, update.effective_user)
    bot_services = services(context)
    message = cast(Message, update.effective_message)
    user_id = user.id
    verdict = bot_services.limiter.check(user_id)
    if verdict is not Verdict.ALLOW:
        if verdict is Verdict.WARN:
            seconds = bot_services.limiter.seconds_until_free(user_id)
            await message.reply_text(reader_writer(update, context).words(SLOW_DOWN.format(seconds=seconds)))
        return
    started = time.perf_counter()
    per_page = bot_services.settings.results_per_page
    found = await bot_services.search.search(text, per_page + 1)
    latency_ms = (time.perf_counter() - started) * 1000
    question, hits = found.question.text, found.hits
    if not question:
        await message.reply_text(reader_writer(update, context).words(EMPTY))
        return
    note = shortened_note(found.question)
    writer = reader_writer(update, context, question)
    key = question_key(question)
    quote = message.chat.type != ChatType.PRIVATE
    if hits:
        page = hits[:per_page]
        note = "\n".join(filter(None, [note, places_note(found.uncovered_places)]))
        await message.reply_text(
            answer_html(question, page, note=note, confidence=found.confidence, writer=writer),
            reply_markup=answer_keyboard(
                key, page, 1, 0, has_more=len(hits) > per_page and MAX_PAGES > 1, writer=writer
            ),
            do_quote=quote,
        )
    else:
        await message.reply_text(
            no_answer_html(question, note, writer, found.uncovered_places, found.elsewhere), do_quote=quote
        )
    # Awaited (after the reply went out), so a stop waits for it: the log row and the question behind the
    # buttons are never lost to a shutdown.
    await bot_services.records.log_question(
        message.chat.type,
        hash_user(user_id, bot_services.settings.user_hash_salt),
        key,
        question,
        [h.chunk_id for h in hits],
        latency_ms,
    )


async def example_button(update: Update, context: BotContext) -> None:
    query = cast(CallbackQuery, update.callback_query)
    example = read_as(Example, query.data)
    if example.number >= len(EXAMPLES):
        await query.answer(STALE_BUTTON)
        return
    await query.answer()
    # asked in the reader's script, so an example does not switch it
    await answer(update, context, reader_writer(update, context).words(EXAMPLES[example.number]))


async def more_button(update: Update, context: BotContext) -> None:
    """Another page of a question's results, in place of the message that showed the last one."""
    query = cast(CallbackQuery, update.callback_query)
    more = read_as(MorePage, query.data)
    bot_services = services(context)
    question = await bot_services.records.question_for(more.key)
    per_page = bot_services.settings.results_per_page
    if question is None or more.page >= MAX_PAGES:
        await query.answer(STALE_BUTTON)
        return
    shown_after = (more.page + 1) * per_page
    found = await bot_services.search.search(question, shown_after + 1)
    hits = found.hits
    writer = reader_writer(update, context, question)
    page = hits[more.page * per_page : shown_after]
    if not page:
        await query.answer(writer.words("没有更多结果了。"))
        return
    await query.answer()
    first = more.page * per_page + 1
    await edit_in_place(
        query.message,
        answer_html(question, page, first_number=first, confidence=found.confidence, writer=writer),
        answer_keyboard(
            more.key,
            page,
            first,
            more.page,
            has_more=len(hits) > shown_after and more.page + 1 < MAX_PAGES,
            writer=writer,
        ),
    )


async def stale_button(update: Update, context: BotContext) -> None:
    """Button data we did not write, or from a version we no longer read: a short answer, no error."""
    query = cast(CallbackQuery, update.callback_query)
    await query.answer(STALE_BUTTON)


async def feedback_button(update: Update, context: BotContext) -> None:
    user = cast(User, update.effective_user)
    query = cast(CallbackQuery, update.callback_query)
    feedback = read_as(Feedback, query.data)
    bot_services = services(context)
    user_hash = hash_user(user.id, bot_services.settings.user_hash_salt)
    saved = await bot_services.records.set_feedback(feedback.key, user_hash, feedback.useful)
    await query.answer(reader_writer(update, context).words("谢谢反馈！" if saved else "这个按钮已失效。"))
