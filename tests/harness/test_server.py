"""The fake Telegram server, checked with the real python-telegram-bot so the bot's tests can trust it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Update,
)
from telegram.constants import FileSizeLimit, MessageLimit
from telegram.error import BadRequest, Forbidden, InvalidToken, RetryAfter
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, ContextTypes, MessageHandler, filters

from bot.harness.server import FakeTelegramServer
from bot.harness.telegram_html import TelegramHTMLError, fix_formatted_text, html_to_ansi, parse_html

TOKEN = "123456:TEST-token"


def _keyboard(data: str = "more") -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton("More", callback_data=data)]])


@pytest_asyncio.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(TOKEN) as fake:
        yield fake


@pytest_asyncio.fixture
async def bot(server: FakeTelegramServer) -> AsyncIterator[Bot]:
    client = Bot(TOKEN, base_url=f"{server.base_url}/bot", base_file_url=f"{server.base_url}/file/bot")
    async with client:
        yield client


# ---------------------------------------------------------------------- parse_html


def test_parse_html_counts_offsets_in_utf16_units() -> None:
    text, entities = parse_html("😀 <b>讲话</b> <i>🇨🇳</i>")
    assert text == "😀 讲话 🇨🇳"
    assert entities == [
        {"type": "bold", "offset": 3, "length": 2},
        {"type": "italic", "offset": 6, "length": 4},
    ]


def test_parse_html_nests_and_orders_entities_like_telegram() -> None:
    text, entities = parse_html('<b>a<i>b</i></b><a href="example.com/x">c</a>')
    assert text == "abc"
    assert entities == [
        {"type": "bold", "offset": 0, "length": 2},
        {"type": "italic", "offset": 1, "length": 1},
        {"type": "text_link", "offset": 2, "length": 1, "url": "http://example.com/x"},
    ]


def test_parse_html_reads_pre_code_language_blockquotes_and_references() -> None:
    html = (
        '<pre><code class="language-python">x&lt;1</code></pre><blockquote expandable>&#x4E2D;&amp;&nbsp;</blockquote>'
    )
    text, entities = parse_html(html)
    assert text == "x<1中&&nbsp;"
    assert entities == [
        {"type": "pre", "offset": 0, "length": 3, "language": "python"},
        {"type": "expandable_blockquote", "offset": 3, "length": 8},
    ]


@pytest.mark.parametrize(
    ("html", "detail"),
    [
        ("<div>x</div>", 'Unsupported start tag "div" at byte offset 0'),
        ("讲话 <br>", 'Unsupported start tag "br" at byte offset 7'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ('<a href="x>y</a>', "Unclosed start tag at byte offset 0"),
    ],
)
def test_parse_html_refuses_what_telegram_refuses(html: str, detail: str) -> None:
    with pytest.raises(TelegramHTMLError) as error:
        parse_html(html)
    assert error.value.detail == detail
    assert str(error.value) == f"Can't parse entities: {detail}"


def test_fix_formatted_text_trims_and_drops_whitespace_only_entities() -> None:
    text, entities = fix_formatted_text("  \t \nhi /start\r\n", [{"type": "bold", "offset": 3, "length": 1}])
    assert text == "hi /start"
    assert entities == [{"type": "bot_command", "offset": 3, "length": 6}]


def test_html_to_ansi_styles_text_and_shows_link_targets() -> None:
    rendered = html_to_ansi('<b>讲</b> <a href="https://x.cn">话</a> &lt;')
    assert rendered == "\x1b[1m讲\x1b[0m 话 (https://x.cn/) <"


# ---------------------------------------------------------------------- Bot API through python-telegram-bot


@pytest.mark.asyncio
async def test_get_me_describes_an_inline_capable_bot(bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot, me.supports_inline_queries) == (123456, "speech_test_bot", True, True)


@pytest.mark.asyncio
async def test_send_message_parses_html_and_keeps_the_keyboard(server: FakeTelegramServer, bot: Bot) -> None:
    chat = server.private_chat(42, "Ann")
    await server.send_text(chat, chat, "hi")
    sent = await bot.send_message(
        chat.id, "<b>习近平</b> 讲话 😀 <i>要点</i>", parse_mode="HTML", reply_markup=_keyboard()
    )
    assert sent.text == "习近平 讲话 😀 要点"
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [("bold", 0, 3), ("italic", 10, 2)]
    stored = server.bot_messages(chat.id)
    assert [m["message_id"] for m in stored] == [sent.message_id]
    assert stored[0]["reply_markup"] == {"inline_keyboard": [[{"text": "More", "callback_data": "more"}]]}
    assert server.errors == []


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("kwargs", "description"),
    [
        ({"text": "话" * 4097}, "Bad Request: message is too long"),
        (
            {"text": "<b>x", "parse_mode": "HTML"},
            "Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"b\"",
        ),
        (
            {"text": "<p>x</p>", "parse_mode": "HTML"},
            'Bad Request: can\'t parse entities: Unsupported start tag "p" at byte offset 0',
        ),
        ({"text": "<b> </b>", "parse_mode": "HTML"}, "Bad Request: message text is empty"),
        ({"text": "x", "reply_markup": _keyboard("d" * 65)}, "Bad Request: BUTTON_DATA_INVALID"),
    ],
)
async def test_send_message_refusals_use_telegrams_texts(
    server: FakeTelegramServer, bot: Bot, kwargs: dict, description: str
) -> None:
    chat = server.private_chat(42)
    await server.send_text(chat, chat, "hi")
    with pytest.raises(BadRequest) as error:
        await bot.send_message(chat.id, **kwargs)
    assert error.value.message == description.removeprefix("Bad Request: ").capitalize()
    assert [(e.method, e.description) for e in server.errors] == [("sendMessage", description)]
    assert server.bot_messages(chat.id) == []


@pytest.mark.asyncio
async def test_unknown_chat_and_unstarted_private_chat_are_refused(server: FakeTelegramServer, bot: Bot) -> None:
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(999, "x")
    server.private_chat(7)
    with pytest.raises(Forbidden, match="bot can't initiate conversation with a user"):
        await bot.send_message(7, "x")


@pytest.mark.asyncio
async def test_edit_refuses_identical_content_and_foreign_messages(server: FakeTelegramServer, bot: Bot) -> None:
    chat = server.private_chat(42)
    question = await server.send_text(chat, chat, "hi")
    sent = await bot.send_message(chat.id, "<b>answer</b>", parse_mode="HTML", reply_markup=_keyboard())
    with pytest.raises(BadRequest, match="^Message is not modified: specified new message content"):
        await bot.edit_message_text(
            "<b>answer</b>", chat.id, sent.message_id, parse_mode="HTML", reply_markup=_keyboard()
        )
    with pytest.raises(BadRequest, match="^Message to edit not found$"):
        await bot.edit_message_text("x", chat.id, question["message_id"])
    edited = await bot.edit_message_text("<b>answer</b>", chat.id, sent.message_id, parse_mode="HTML")
    assert edited.reply_markup is None and edited.edit_date is not None
    assert "reply_markup" not in server.bot_messages(chat.id)[0]


@pytest.mark.asyncio
async def test_unknown_method_is_404_and_wrong_token_is_401(server: FakeTelegramServer) -> None:
    url = f"{server.base_url}/bot{TOKEN}/sendTelepathy"
    async with aiohttp.ClientSession() as session, session.post(url, json={"chat_id": 1}) as response:
        assert response.status == 404
        assert await response.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    stranger = Bot("654321:WRONG", base_url=f"{server.base_url}/bot")
    with pytest.raises(InvalidToken):
        await stranger.get_me()
    await stranger.shutdown()
    assert server.errors[-1].description == "Unauthorized"


@pytest.mark.asyncio
async def test_get_updates_delivers_user_messages_and_honours_offset(server: FakeTelegramServer, bot: Bot) -> None:
    chat = server.private_chat(42, username="ann")
    await server.send_text(chat, chat, "/start@speech_test_bot")
    await server.send_text(chat, chat, "第二条")
    first, second = await bot.get_updates()
    assert first.message.text == "/start@speech_test_bot"
    assert [(e.type, e.offset, e.length) for e in first.message.entities] == [("bot_command", 0, 22)]
    assert [u.update_id for u in await bot.get_updates(offset=first.update_id + 1)] == [second.update_id]
    assert await bot.get_updates(offset=second.update_id + 1) == ()


@pytest.mark.asyncio
async def test_long_poll_waits_for_timeout_and_wakes_on_an_update(server: FakeTelegramServer, bot: Bot) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await bot.get_updates(timeout=1) == ()
    assert loop.time() - started >= 0.9
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await server.wait_for_call("getUpdates", 2)  # the poll reached the server before the user writes
    chat = server.private_chat(42)
    started = loop.time()
    await server.send_text(chat, chat, "hello")
    updates = await asyncio.wait_for(poll, 2)
    assert [u.message.text for u in updates] == ["hello"]
    assert loop.time() - started < 1.5


@pytest.mark.asyncio
async def test_group_privacy_hides_plain_messages(server: FakeTelegramServer, bot: Bot) -> None:
    group = server.group_chat(-100, "Study group")
    member = server.user(5, "Bo")
    await server.send_text(group, member, "just chatting")
    await server.send_text(group, member, "@speech_test_bot 什么是高质量发展？")
    assert [u.message.text for u in await bot.get_updates()] == ["@speech_test_bot 什么是高质量发展？"]


@pytest.mark.asyncio
async def test_callback_and_inline_queries_are_answered_once(server: FakeTelegramServer, bot: Bot) -> None:
    chat = server.private_chat(42)
    await server.send_text(chat, chat, "hi")
    sent = await bot.send_message(chat.id, "pick", reply_markup=_keyboard())
    query_id = await server.press_button(chat, chat, sent.message_id, "more")
    assert await bot.answer_callback_query(query_id, text="ok")
    assert (await server.wait_for_callback_answer(query_id))["text"] == "ok"
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(query_id)
    inline_id = await server.inline_query(chat, "质量")
    article = InlineQueryResultArticle("1", "Title", InputTextMessageContent("<b>x</b>", parse_mode="HTML"))
    too_many = [InlineQueryResultArticle(str(i), "t", InputTextMessageContent("x")) for i in range(51)]
    with pytest.raises(BadRequest, match="Results_too_much"):
        await bot.answer_inline_query(inline_id, too_many)
    assert await bot.answer_inline_query(inline_id, [article])
    answer = await server.wait_for_inline_answer(inline_id)
    assert [r["id"] for r in answer["results"]] == ["1"]


@pytest.mark.asyncio
async def test_commands_are_validated_and_stored_per_scope(server: FakeTelegramServer, bot: Bot) -> None:
    chat = server.private_chat(42)
    await bot.set_my_commands([BotCommand("start", "开始"), BotCommand("help", "帮助")])
    await bot.set_my_commands([BotCommand("ask", "Ask")], scope=BotCommandScopeChat(chat.id), language_code="en")
    assert [c["command"] for c in server.commands[("default", "")]] == ["start", "help"]
    assert [c["command"] for c in server.commands[(f"chat:{chat.id}", "en")]] == ["ask"]
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Start-Now", "x")])


@pytest.mark.asyncio
async def test_flood_limit_answers_429_with_retry_after(server: FakeTelegramServer, bot: Bot) -> None:
    chat = server.private_chat(42)
    await server.send_text(chat, chat, "hi")
    server.flood_limit_per_chat_per_second = 1
    await bot.send_message(chat.id, "one")
    with pytest.raises(RetryAfter):
        await bot.send_message(chat.id, "two")
    assert server.errors[-1].description == "Too Many Requests: retry after 1"


@pytest.mark.asyncio
async def test_documents_upload_and_download(server: FakeTelegramServer, bot: Bot) -> None:
    chat = server.private_chat(42)
    await server.send_document(chat, chat, "speech.txt", "高质量发展".encode(), "text/plain")
    (update,) = await bot.get_updates()
    document = update.message.document
    assert (document.file_name, document.file_size) == ("speech.txt", 15)
    downloaded = await (await bot.get_file(document.file_id)).download_as_bytearray()
    assert downloaded.decode() == "高质量发展"
    with pytest.raises(InvalidToken, match="Not Found"):  # methods the bot never calls are not served (404)
        await bot.send_document(chat.id, b"report", filename="answer.txt")


@pytest.mark.asyncio
async def test_limits_are_telegrams(server: FakeTelegramServer, bot: Bot) -> None:
    chat = server.private_chat(42)
    with pytest.raises(ValueError, match="4096"):
        await server.send_text(chat, chat, "问" * (MessageLimit.MAX_TEXT_LENGTH + 1))
    await server.send_document(chat, chat, "big.txt", b"x" * (FileSizeLimit.FILESIZE_DOWNLOAD + 1), "text/plain")
    (update,) = await bot.get_updates()
    with pytest.raises(BadRequest, match="too big"):
        await bot.get_file(update.message.document.file_id)


@pytest.mark.asyncio
async def test_a_real_application_polls_replies_and_answers_buttons(server: FakeTelegramServer) -> None:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_html(f"<b>{update.message.text}</b>", reply_markup=_keyboard())

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.callback_query.answer("收到")
        await update.callback_query.edit_message_text("done")

    app = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(f"{server.base_url}/bot")
        .base_file_url(f"{server.base_url}/file/bot")
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.add_handler(CallbackQueryHandler(pressed))
    chat = server.private_chat(42)
    async with app:
        await app.start()
        await app.updater.start_polling(poll_interval=0)
        try:
            reply = await server.ask(chat, chat, "什么是新质生产力？")
            query_id = await server.press_button(chat, chat, reply["message_id"], "more")
            edited = await server.wait_for_edit(chat.id, reply["message_id"])
            answer = await server.wait_for_callback_answer(query_id)
        finally:
            await app.updater.stop()
            await app.stop()
    assert reply["text"] == "什么是新质生产力？"
    assert reply["entities"] == [{"type": "bold", "offset": 0, "length": 9}]
    assert (edited["text"], answer["text"]) == ("done", "收到")
    assert server.errors == []
