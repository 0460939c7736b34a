"""Stopping with a backlog: few updates are taken in hand, each is answered or left for Telegram to resend."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from dataclasses import replace

import pytest
from telegram.ext import AIORateLimiter

from bot.harness.local import LOCAL_TOKEN, local_server, running_bot
from bot.settings import Settings
from bot.shutdown import IN_FLIGHT, LATER, QUEUED
from tests.bot.conftest import ADMIN_ID

BACKLOG = 120  # more than the bot may hold (IN_FLIGHT + QUEUED), and than one getUpdates batch
QUESTION = "区长质量奖的奖金是多少"


def no_flood_limits() -> AIORateLimiter:
    return AIORateLimiter(overall_max_rate=0, group_max_rate=0)


async def test_a_stop_with_a_backlog_answers_or_leaves_every_question_and_a_restart_answers_the_rest(
    settings: Settings,
) -> None:
    settings = replace(settings, shutdown_answer_seconds=0)  # out of time at once: what is queued gets LATER
    async with local_server() as server:
        server.private_chat(ADMIN_ID)  # the bot shows its admin the admin commands at start-up
        users = [server.private_chat(10_000 + n) for n in range(BACKLOG)]
        async with running_bot(settings, server, rate_limiter=no_flood_limits()):
            for user in users:
                await server.send_text(user, user, QUESTION)
            await server.wait_for_bot_messages(users[0].id, timeout=30)  # working through the backlog
            # What the bot has acknowledged to Telegram but not answered yet: a few dozen, not the backlog.
            acknowledged = BACKLOG - len(server.pending_updates())
            answered = sum(1 for user in users if server.bot_messages(user.id))
            assert acknowledged - answered <= IN_FLIGHT + QUEUED, (acknowledged, answered)

        pending = {update["message"]["chat"]["id"] for update in server.pending_updates()}
        replies = {user.id: [m["text"] for m in server.bot_messages(user.id)] for user in users}
        # Each question was answered once, told to ask later once, or is still waiting at Telegram.
        for user in users:
            assert len(replies[user.id]) == (0 if user.id in pending else 1), (user.id, replies[user.id])
        assert any(texts == [LATER] for texts in replies.values())

        async with running_bot(replace(settings, shutdown_answer_seconds=10), server, rate_limiter=no_flood_limits()):
            for user in users:
                await server.wait_for_bot_messages(user.id, timeout=60, after_message_id=0)
        assert server.pending_updates() == []
        assert all(len(server.bot_messages(user.id)) == 1 for user in users)  # none twice, none lost
        assert server.errors == []


@pytest.mark.slow  # `speechbot run` in a subprocess, stopped by SIGTERM as systemd stops it
async def test_sigterm_to_speechbot_run_with_a_backlog_loses_nothing(settings: Settings) -> None:
    async with local_server() as server:
        env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": LOCAL_TOKEN,
            "TELEGRAM_API_BASE_URL": server.base_url,
            "SPEECHBOT_DB": str(settings.db_path),
            "SHUTDOWN_ANSWER_SECONDS": "2",
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run", env=env, stderr=asyncio.subprocess.PIPE
        )
        try:
            await server.wait_for_call("setMyCommands", timeout=120)  # started
            users = [server.private_chat(10_000 + n) for n in range(BACKLOG)]
            for user in users:
                await server.send_text(user, user, QUESTION)
            await server.wait_for_bot_messages(users[0].id, timeout=60)
            process.send_signal(signal.SIGTERM)
        finally:
            _, err = await process.communicate()
        assert process.returncode == 0 and b"Traceback" not in err
        pending = {update["message"]["chat"]["id"] for update in server.pending_updates()}
        for user in users:
            assert len(server.bot_messages(user.id)) == (0 if user.id in pending else 1), user.id
        assert pending  # the rest of the backlog waits at Telegram for the next start
