"""A full disk while the bot logs a question: the answer was sent, and no error reply follows it."""

from __future__ import annotations

import sqlite3

from tests.bot.conftest import USER_ID, Harness


async def fill(harness: Harness) -> int:
    """The store's file can grow no more (SQLite's SQLITE_FULL, as on a full disk); the rows logged so far."""
    db = harness.app.bot_data.services.records.db
    async with db.execute("PRAGMA page_count") as cursor:
        pages = (await cursor.fetchone())[0]
    await db.execute(f"PRAGMA max_page_count = {pages}")
    rows = {
        "asked": "INSERT INTO asked (key, question, created) VALUES (hex(randomblob(8)), ?, 0)",
        "query_log": "INSERT INTO query_log (at, chat_type, user_hash, key, question, result_ids, latency_ms) "
        "VALUES (0, 'filler', '', '', ?, '[]', 0)",
    }
    for sql in rows.values():  # each table the log writes, filled with rows smaller and smaller until none fits
        for size in (4000, 400, 40, 1):
            try:
                while True:
                    await db.execute(sql, ("x" * size,))
                    await db.commit()
            except sqlite3.OperationalError as exc:
                assert "full" in str(exc)
                await db.rollback()
    async with db.execute("SELECT COUNT(*) FROM query_log") as cursor:
        return (await cursor.fetchone())[0]


async def test_an_answer_is_not_followed_by_an_error_when_the_log_cannot_be_written(bot: Harness) -> None:
    server, chat = bot.server, bot.server.private_chat(USER_ID)
    logged = await fill(bot)
    answer = await server.ask(chat, chat, "区长质量奖的奖金是多少")
    assert "50万" in answer["text"]
    await server.wait_until_delivered()
    await bot.app.update_queue.join()  # the question's handling is over, log attempt included
    assert [m["text"][:2] for m in server.bot_messages(chat.id)] == [answer["text"][:2]]  # no "抱歉，…出错了"
    async with bot.app.bot_data.services.records.db.execute("SELECT COUNT(*) FROM query_log") as cursor:
        assert (await cursor.fetchone())[0] == logged
