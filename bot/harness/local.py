"""Run the real bot, polling, against the local Bot API server: for tests, the terminal chat and benchmarks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

from telegram.ext import AIORateLimiter, Application

from bot.app import build_application, on_shutdown, on_startup
from bot.harness.server import FakeTelegramServer
from bot.settings import Settings

# A well-formed token for the local server; it never reaches Telegram.
LOCAL_TOKEN = "123456789:LOCAL-harness-token-not-for-telegram"
LOCAL_ADMIN_ID = 1


@asynccontextmanager
async def local_server(bot_username: str = "speech_test_bot") -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(LOCAL_TOKEN, bot_username=bot_username) as server:
        yield server


@asynccontextmanager
async def running_bot(
    settings: Settings, server: FakeTelegramServer, rate_limiter: AIORateLimiter | None = None
) -> AsyncIterator[Application]:
    """The real Application, started as `speechbot run` starts it: polling the local server, or in webhook
    mode (WEBHOOK_URL set) served by PTB's own webhook server, to which the local server POSTs updates."""
    settings = replace(settings, token=LOCAL_TOKEN, api_base_url=server.base_url)
    application = build_application(settings, rate_limiter=rate_limiter)
    updater = application.updater
    if updater is None:  # build_application always makes one
        raise RuntimeError("the application has no updater")
    async with application:
        await on_startup(application)
        await application.start()
        if settings.webhook_url:  # as run_webhook does; the server delivers to WEBHOOK_LISTEN:WEBHOOK_PORT
            server.deliver_webhooks_to(f"http://{settings.webhook_listen}:{settings.webhook_port}")
            await updater.start_webhook(**settings.webhook_options())
        else:
            await updater.start_polling(poll_interval=0, timeout=5)
        try:
            yield application
        finally:
            await updater.stop()
            await application.stop()
            await on_shutdown(application)
