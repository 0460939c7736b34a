"""What a user sees in a private chat with the real bot: answers, buttons, reading, odd input."""

from __future__ import annotations

import json

from bot.records import hash_user
from tests.bot.conftest import ADMIN_ID, USER_ID, Harness


def buttons(message: dict) -> list[tuple[str, str]]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [(b["text"], b.get("callback_data", "")) for row in rows for b in row]


def button(message: dict, label: str) -> str:
    return next(data for text, data in buttons(message) if label in text)


def styled(message: dict, kind: str) -> list[str]:
    """Texts of the message's entities of one kind (bold, underline...), as the user sees them marked."""
    text = message["text"].encode("utf-16-le")
    return [
        text[e["offset"] * 2 : (e["offset"] + e["length"]) * 2].decode("utf-16-le")
        for e in message.get("entities", [])
        if e["type"] == kind
    ]


async def logged_rows(bot: Harness) -> list[tuple]:
    """The query log once every update taken in has been handled (each is logged just after its reply)."""
    await bot.app.update_queue.join()
    records = bot.app.bot_data.services.records
    async with records.db.execute("SELECT * FROM query_log ORDER BY id") as cursor:
        return [tuple(r) async for r in cursor]


async def test_start_introduces_the_bot_and_its_example_buttons_ask(bot: Harness) -> None:
    server, chat = bot.server, bot.server.private_chat(USER_ID)
    intro = await server.ask(chat, chat, "/start")
    assert "讲话" in intro["text"] and len(buttons(intro)) == 3
    await server.press_button(chat, chat, intro["message_id"], buttons(intro)[0][1])
    answer = (await server.wait_for_bot_messages(chat.id, after_message_id=intro["message_id"]))[0]
    assert "50万" in answer["text"]


async def test_a_question_gets_its_passage_with_speech_paragraph_and_marks(bot: Harness) -> None:
    server, chat = bot.server, bot.server.private_chat(USER_ID)
    reply = await server.ask(chat, chat, "区长质量奖的奖金是多少？")
    text = reply["text"]
    first = text.split("\n\n2. ")[0]
    assert text.count("第") >= 3 and "1. 质量工作会议上的讲话稿 · 第6段" in first
    assert "现在我们的区长质量奖的奖金是50万" in first
    # 篇五, a copy, is named by the title derived from its own text (its meeting and subjects)
    assert "同一段落亦见：全市质量工作会议讲话（质量奖、发展）" in first
    assert "区长质量奖" in styled(reply, "bold") and "奖金" in styled(reply, "bold")
    assert any("50万" in u for u in styled(reply, "underline"))
    labels = [label for label, _ in buttons(reply)]
    assert {"📖 1 上下文", "📄 1 全文", "更多结果 ▶", "👍 有用", "👎 没用"} <= set(labels)


async def test_a_doubtful_question_is_answered_with_the_closest_passages_said_to_be_so(bot: Harness) -> None:
    server, chat = bot.server, bot.server.private_chat(USER_ID)
    reply = await server.ask(chat, chat, "老百姓买到假货找谁")
    assert "没有找到直接回答，最接近的是" in reply["text"] and "\n1. " in reply["text"] and "\n3. " in reply["text"]
    sure = await server.ask(chat, chat, "区长质量奖的奖金是多少")
    assert "最接近的是" not in sure["text"]


async def test_more_results_edit_the_same_message(bot: Harness) -> None:
    server, chat = bot.server, bot.server.private_chat(USER_ID)
    reply = await server.ask(chat, chat, "质量强市")
    await server.press_button(chat, chat, reply["message_id"], button(reply, "更多结果"))
    page2 = await server.wait_for_edit(chat.id, reply["message_id"])
    assert "\n4. " in page2["text"] and "\n1. " not in page2["text"]
    assert "◀ 上一页" in [label for label, _ in buttons(page2)]


async def test_context_then_the_whole_speech_page_by_page(bot: Harness) -> None:
    server, chat = bot.server, bot.server.private_chat(USER_ID)
    reply = await server.ask(chat, chat, "井陉县多少家企业设立了首席质量官")
    await server.press_button(chat, chat, reply["message_id"], button(reply, "1 上下文"))
    around = (await server.wait_for_bot_messages(chat.id, after_message_id=reply["message_id"]))[0]
    assert "上下文" in around["text"] and "首席质量官" in around["text"]
    assert around["text"].count("第") >= 3  # the passage and its neighbours, each with its paragraph

    await server.press_button(chat, chat, around["message_id"], button(around, "阅读全文"))
    speech = (await server.wait_for_bot_messages(chat.id, after_message_id=around["message_id"]))[0]
    title = around["text"].removeprefix("📖 ").split(" · ")[0]
    assert title and title in reply["text"]
    assert speech["text"].startswith(f"📄 {title}（第 ") and "首席质量官" in speech["text"]
    assert len(speech["text"]) <= 4096


async def test_reading_a_speech_turns_pages_in_place(bot: Harness) -> None:
    server, chat = bot.server, bot.server.private_chat(USER_ID)
    first = await server.ask(chat, chat, "/speech 001-5")
    assert "第 1/" in first["text"]
    await server.press_button(chat, chat, first["message_id"], button(first, "下一页"))
    second = await server.wait_for_edit(chat.id, first["message_id"])
    assert "第 2/" in second["text"] and second["text"] != first["text"]


async def test_the_speech_list_and_unknown_speech_ids(bot: Harness) -> None:
    server, chat = bot.server, bot.server.private_chat(USER_ID)
    listing = await server.ask(chat, chat, "/speeches")
    # a reader who has not written yet reads Simplified; files by the name an admin knows, copies flagged
    assert "001-7.2" in listing["text"] and "质量强市工作领导讲话(二)" in listing["text"]
    assert "004.txt" in listing["text"] and "342c7815" not in listing["text"]
    assert "与 000-1 重复" in listing["text"]
    missing = await server.ask(chat, chat, "/speech <b>nope</b>")
    assert "没有编号为 <b>nope</b> 的讲话" in missing["text"]
    bare = await server.ask(chat, chat, "/speech")
    assert "/speeches" in bare["text"]


async def test_a_question_the_corpus_does_not_answer_says_so(bot: Harness) -> None:
    server, chat = bot.server, bot.server.private_chat(USER_ID)
    reply = await server.ask(chat, chat, "红烧肉怎么做")
    assert "没有谈到" in reply["text"] and "/speeches" in reply["text"]
    assert buttons(reply) == []


async def test_odd_input_gets_a_clear_answer(bot: Harness) -> None:
    server, chat = bot.server, bot.server.private_chat(USER_ID)
    for text in ["<b>质量</b> & <script>", "'; DROP TABLE chunks; --", "😀😀😀", "？？"]:
        reply = await server.ask(chat, chat, text)
        assert reply["text"]
    html = await server.ask(chat, chat, "<i>食品安全</i>")
    assert "<i>食品安全</i>" in html["text"]  # shown as typed, not as markup
    long = await server.ask(chat, chat, "食品安全" * 200)
    assert "只按前 500 个字检索" in long["text"]


async def test_stickers_photos_voice_and_files_get_one_line_about_what_the_bot_does(bot: Harness) -> None:
    server, chat = bot.server, bot.server.private_chat(USER_ID)
    for send in (server.send_sticker, server.send_photo, server.send_voice):
        await send(chat, chat)
        reply = (await server.wait_for_bot_messages(chat.id))[0]
        assert "文字问题" in reply["text"]
    await server.send_document(chat, chat, "speech.txt", "同志们：今天开会。".encode())
    assert "文字问题" in (await server.wait_for_bot_messages(chat.id))[0]["text"]


async def test_feedback_is_recorded(bot: Harness) -> None:
    server, chat = bot.server, bot.server.private_chat(USER_ID)
    reply = await server.ask(chat, chat, "食品安全白皮书")
    await logged_rows(bot)
    query_id = await server.press_button(chat, chat, reply["message_id"], button(reply, "有用"))
    assert (await server.wait_for_callback_answer(query_id))["text"] == "谢谢反馈！"
    stats = await bot.app.bot_data.services.records.stats(since=0)
    assert stats.useful == 1 and stats.total >= 1


async def test_forged_and_stale_buttons_get_a_short_answer(bot: Harness) -> None:
    server, chat = bot.server, bot.server.private_chat(USER_ID)
    reply = await server.ask(chat, chat, "食品安全白皮书")
    admin = server.private_chat(ADMIN_ID)
    forged = [
        "p:000000000000:1",
        "c:999-9:9",
        "o:nope:0",
        "s:001-5:99",
        "garbage",
        "x:9",
        "f:abc:+",
        "",
        None,
        "rm:\ud800",
        "\udfff",
        "l:1\ud83d",
    ]  # empty, missing, lone surrogates
    for who in (chat, admin):
        for data in forged:
            query_id = await server.press_button(who, who, reply["message_id"], data, forged=True)
            answer = await server.wait_for_callback_answer(query_id)
            assert "失效" in answer.get("text", ""), (who.id, data)
    assert await bot.app.bot_data.services.records.admin_attempts() == []  # none reached an admin handler


async def test_buttons_keep_working_after_a_restart(bot: Harness) -> None:
    from bot.harness.local import running_bot

    server, chat = bot.server, bot.server.private_chat(USER_ID)
    reply = await server.ask(chat, chat, "质量强市")
    await bot.app.updater.stop()  # the first bot goes away...
    await bot.app.stop()
    async with running_bot(bot.settings, server):  # ...and a new process reads the same store
        await server.press_button(chat, chat, reply["message_id"], button(reply, "更多结果"))
        page2 = await server.wait_for_edit(chat.id, reply["message_id"])
    assert "\n4. " in page2["text"]
    await bot.app.start()
    await bot.app.updater.start_polling(poll_interval=0, timeout=5)


async def test_every_question_is_logged_without_names(bot: Harness) -> None:
    server = bot.server
    chat = server.private_chat(USER_ID, first_name="Alice", username="alice_w")
    await server.ask(chat, chat, "区长质量奖的奖金是多少")
    await server.ask(chat, chat, "红烧肉怎么做")
    rows = await logged_rows(bot)
    assert len(rows) == 2
    flat = " ".join(map(str, rows))
    assert "alice" not in flat.lower()
    values = [str(value) for row in rows for value in row]
    assert str(USER_ID) not in values  # the id is in no column; the user column is the salted hash
    assert {row[3] for row in rows} == {hash_user(USER_ID, bot.settings.user_hash_salt)}
    assert json.loads(rows[0][6])[0].startswith("000-1:") and rows[1][6] == "[]"


async def test_commands_are_registered_with_admin_ones_only_for_admins(bot: Harness) -> None:
    commands = bot.server.commands
    default = {c["command"] for c in commands[("default", "")]}
    admin = {c["command"] for c in commands[("chat:1", "")]}
    assert {"start", "help", "speeches", "speech", "ask"} == default
    assert {"reindex", "stats"} <= admin and not {"reindex", "stats"} & default
