"""A confirmation confirms the corpus as it stood: once anything changed, its button has expired."""

from __future__ import annotations

from tests.bot.conftest import ADMIN_ID, Harness
from tests.bot.corpus.test_corpus_admin import admin_bot, corpus_state  # noqa: F401  (admin_bot is a fixture)


async def test_an_old_remove_confirmation_expires_with_the_corpus_it_confirmed(admin_bot: Harness) -> None:  # noqa: F811
    server, admin = admin_bot.server, admin_bot.server.private_chat(ADMIN_ID)
    ask = await server.ask(admin, admin, "/remove 001-5")
    assert "共有 20 篇讲话" in ask["text"]
    old_button = ask["reply_markup"]["inline_keyboard"][0][0]["callback_data"]

    started = await server.ask(admin, admin, "/remove 003-1")  # the corpus changes meanwhile
    assert "已移出" in (await server.wait_for_edit(admin.id, started["message_id"], timeout=60))["text"]
    before = corpus_state(admin_bot)

    pressed = await server.press_button(admin, admin, ask["message_id"], old_button)
    assert "确认已失效" in (await server.wait_for_callback_answer(pressed))["text"]
    assert corpus_state(admin_bot) == before  # the 20 speeches stay
