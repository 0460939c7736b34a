"""Groups, inline mode, admin commands and limits, through the real bot and the local Bot API server."""

from __future__ import annotations

from dataclasses import replace

from bot.records import hash_user
from bot.settings import Settings
from tests.bot.conftest import ADMIN_ID, USER_ID, Harness, bot_session


async def test_groups_answer_ask_mentions_and_replies_but_not_chatter(bot: Harness) -> None:
    server = bot.server
    group = server.group_chat(-100, "质量办")
    alice = server.user(USER_ID, "Alice")
    await server.send_text(group, alice, "大家好，今天开会吗")
    asked = await server.ask(group, alice, "/ask 区长质量奖的奖金是多少")
    await bot.app.update_queue.join()  # the chatter handled too, before its replies are counted
    assert "50万" in asked["text"] and len(server.bot_messages(group.id)) == 1  # the chatter got no reply

    mentioned = await server.ask(group, alice, "@speech_test_bot 食品安全白皮书")
    assert "白皮书" in mentioned["text"]
    await server.send_text(group, alice, "井陉县首席质量官", reply_to_message_id=mentioned["message_id"])
    replied = (await server.wait_for_bot_messages(group.id))[0]
    assert "首席质量官" in replied["text"]

    empty = await server.ask(group, alice, "/ask")
    assert "请在命令后写上问题" in empty["text"]


async def test_inline_mode_offers_passages_to_share_and_a_hint_when_empty(bot: Harness) -> None:
    server = bot.server
    alice = server.user(USER_ID, "Alice")
    answer = await server.wait_for_inline_answer(await server.inline_query(alice, "区长质量奖的奖金"))
    results = answer["results"]
    assert 1 <= len(results) <= 10
    assert results[0]["title"] == "质量工作会议上的讲话稿" and "50万" in results[0]["description"]
    assert "<b>区长质量奖</b>" in results[0]["input_message_content"]["message_text"]

    hint = await server.wait_for_inline_answer(await server.inline_query(alice, ""))
    assert hint["results"] == [] and "输入问题" in hint["button"]["text"]


async def test_non_admins_are_refused_every_admin_command_and_it_is_logged(bot: Harness) -> None:
    server, chat = bot.server, bot.server.private_chat(USER_ID)
    for command in ("/reindex", "/stats"):
        refused = await server.ask(chat, chat, command)
        assert refused["text"] == "抱歉，这个命令只对管理员开放。"
    attempts = await bot.app.bot_data.services.records.admin_attempts()
    assert [(action, allowed) for _, action, allowed in attempts] == [("reindex", False), ("stats", False)]
    assert {user_hash for user_hash, _, _ in attempts} == {hash_user(USER_ID, bot.settings.user_hash_salt)}


async def test_admin_stats_and_reindex_while_questions_are_answered(bot: Harness) -> None:
    server = bot.server
    admin, user = server.private_chat(ADMIN_ID), server.private_chat(USER_ID)
    await server.ask(user, user, "区长质量奖的奖金是多少")
    await server.ask(user, user, "红烧肉怎么做")
    await bot.app.update_queue.join()  # both questions handled, so both logged
    stats = await server.ask(admin, admin, "/stats")
    assert "累计 2" in stats["text"] and "未找到答案 1" in stats["text"] and "红烧肉怎么做" in stats["text"]
    assert "语义检索：全部段落已就绪" in stats["text"]

    started = await server.ask(admin, admin, "/reindex")
    assert "正在重建索引" in started["text"]
    during = await server.ask(user, user, "食品安全白皮书")  # answered from the old index meanwhile
    assert "白皮书" in during["text"]
    done = await server.wait_for_edit(admin.id, started["message_id"], timeout=60)
    assert "✅ 索引已重建：25 篇讲话" in done["text"]


async def test_a_flooding_user_is_slowed_politely_while_others_are_answered(settings: Settings) -> None:
    async with bot_session(replace(settings, questions_per_minute=3)) as bot:
        server = bot.server
        flooder, other = server.private_chat(USER_ID), server.private_chat(7)
        for _ in range(3):
            assert "第" in (await server.ask(flooder, flooder, "食品安全"))["text"]
        warned = await server.ask(flooder, flooder, "食品安全")
        assert "提问太快了" in warned["text"]
        before = len(server.bot_messages(flooder.id))
        for _ in range(5):
            await server.send_text(flooder, flooder, "食品安全")
        assert "白皮书" in (await server.ask(other, other, "食品安全白皮书"))["text"]
        await bot.app.update_queue.join()  # every message of the flood handled, before its replies are counted
        assert len(server.bot_messages(flooder.id)) == before  # the flood gets no echo
