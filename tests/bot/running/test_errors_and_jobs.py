"""The error handler and the daily prune job, through the real bot and a real SQLite file."""

from __future__ import annotations

import logging
import sqlite3
import time

import pytest

from bot.app import PRUNE_AT
from bot.handlers.errors import SORRY
from tests.bot.conftest import USER_ID, Harness


def break_query_log(harness: Harness) -> None:
    """A real fault: the query log's table is gone, so writing a question or feedback fails."""
    with sqlite3.connect(harness.settings.db_path) as conn:
        conn.execute("ALTER TABLE query_log RENAME TO query_log_gone")


async def test_a_failing_handler_is_logged_without_names_and_the_user_told_in_one_line(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    server = bot.server
    chat = server.private_chat(USER_ID, first_name="Alice", username="alice_w")
    answer = await server.ask(chat, chat, "区长质量奖的奖金是多少")
    feedback = next(
        b["callback_data"]
        for row in answer["reply_markup"]["inline_keyboard"]
        for b in row
        if b["callback_data"].startswith("f:")
    )
    await bot.app.update_queue.join()  # the question is logged before the table goes
    break_query_log(bot)
    with caplog.at_level(logging.ERROR, logger="bot.handlers.errors"):
        query_id = await server.press_button(chat, chat, answer["message_id"], feedback)
        assert (await server.wait_for_callback_answer(query_id))["text"] == SORRY
        sent = await server.send_text(chat, chat, "怎么抓食品安全")
        replies = await server.wait_for_bot_messages(chat.id, 2, after_message_id=sent["message_id"])
    assert "白皮书" in replies[0]["text"] or "食品" in replies[0]["text"]  # the answer went out first
    assert replies[1]["text"] == SORRY  # then the failure, in one line
    records = [r for r in caplog.records if r.name == "bot.handlers.errors"]
    assert len(records) == 2 and all(r.exc_info for r in records)
    assert "callback_query in a private chat" in records[0].getMessage()
    assert "message in a private chat" in records[1].getMessage()
    assert not any("alice" in r.getMessage().lower() for r in records)


async def test_the_daily_prune_job_is_scheduled_and_forgets_old_questions(bot: Harness) -> None:
    (job,) = bot.app.job_queue.get_jobs_by_name("prune query log")
    assert job.trigger.fields[5].expressions[0].first == PRUNE_AT.hour  # apscheduler's cron hour field
    chat = bot.server.private_chat(USER_ID)
    await bot.server.ask(chat, chat, "区长质量奖的奖金是多少")
    await bot.server.ask(chat, chat, "怎么抓食品安全")
    await bot.app.update_queue.join()  # both logged
    with sqlite3.connect(bot.settings.db_path) as conn:
        conn.execute(
            "UPDATE query_log SET at = ? WHERE question = '区长质量奖的奖金是多少'",
            (time.time() - (bot.settings.log_retention_days + 1) * 86400,),
        )
    await job.run(bot.app)
    with sqlite3.connect(bot.settings.db_path) as conn:
        left = [r[0] for r in conn.execute("SELECT question FROM query_log")]
    assert left == ["怎么抓食品安全"]
