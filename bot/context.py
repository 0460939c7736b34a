"""The services a handler reaches through its context: search, records, limits, settings."""

from __future__ import annotations

from dataclasses import dataclass

from telegram.ext import ContextTypes

from bot.ratelimit import UserRateLimiter
from bot.records import Records
from bot.settings import Settings
from retrieval.service import SearchService
from retrieval.storage.store import Store


@dataclass
class BotServices:
    """What handlers use; they never touch SQLite or the tokenizer themselves."""

    settings: Settings
    store: Store
    search: SearchService
    records: Records
    limiter: UserRateLimiter
    inline_limiter: UserRateLimiter  # inline queries come a keystroke at a time: counted apart from questions


def services(context: ContextTypes.DEFAULT_TYPE) -> BotServices:
    return context.application.bot_data["services"]
