"""Webhook mode end to end: the local server POSTs updates to PTB's webhook server with the secret header."""

from __future__ import annotations

import socket
from dataclasses import replace

import aiohttp

from bot.harness.local import local_server, running_bot
from bot.settings import Settings
from tests.bot.conftest import ADMIN_ID, USER_ID

SECRET = "webhook-secret-0123456789"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_updates_arrive_by_webhook_and_a_wrong_secret_is_refused(settings: Settings) -> None:
    port = free_port()
    settings = replace(
        settings,
        webhook_url="https://bot.example.org/telegram/hook-path",
        webhook_listen="127.0.0.1",
        webhook_port=port,
        webhook_secret=SECRET,
    )
    async with local_server() as server:
        server.private_chat(ADMIN_ID)
        async with running_bot(settings, server):
            assert server.webhook["url"] == settings.webhook_url and server.webhook["secret_token"] == SECRET
            chat = server.private_chat(USER_ID)
            reply = await server.ask(chat, chat, "区长质量奖的奖金是多少")
            assert "奖金" in reply["text"] and server.webhook_responses == [200]
            assert server.pending_updates() == []  # confirmed by the 200

            forged = {
                "update_id": 999,
                "message": {
                    "message_id": 99,
                    "date": 0,
                    "text": "区长质量奖",
                    "chat": {"id": USER_ID, "type": "private"},
                    "from": {"id": USER_ID, "is_bot": False, "first_name": "X"},
                },
            }
            url = f"http://127.0.0.1:{port}/telegram/hook-path"
            async with aiohttp.ClientSession() as session:
                for headers in ({"X-Telegram-Bot-Api-Secret-Token": "wrong"}, {}):
                    async with session.post(url, json=forged, headers=headers) as refused:
                        assert refused.status == 403
            assert len(server.bot_messages(USER_ID)) == 1  # the forged update got no answer
            assert not any(c[0] == "getUpdates" for c in server.calls)  # no polling in webhook mode
        assert server.errors == []
