"""What a handler reaches through its context: the services (search, records, limits, settings), typed.

python-telegram-bot makes the `bot_data` object itself (`ContextTypes(bot_data=BotData)`); the services
join it once the store is open (`post_init`), so a handler asks `context.bot_data.services`, which says
clearly when it runs before start-up finished. Handlers never touch SQLite or the tokenizer themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot

from bot.ratelimit import UserRateLimiter
from bot.records import Records
from bot.settings import Settings
from retrieval.service import SearchService
from retrieval.storage.store import Store


@dataclass
class BotServices:
    """What handlers use, set up at start-up."""

    settings: Settings
    store: Store
    search: SearchService
    records: Records
    limiter: UserRateLimiter
    inline_limiter: UserRateLimiter  # inline queries come a keystroke at a time: counted apart from questions


class BotData:
    """The Application's bot_data: the settings it was built with, and the services once started."""

    def __init__(self) -> None:
        self.settings: Settings | None = None
        self.polling = False  # long polling (updates acknowledged to Telegram), not webhook mode
        self.started: BotServices | None = None

    @property
    def services(self) -> BotServices:
        if self.started is None:
            raise RuntimeError("the bot's services are not started yet")
        return self.started


# A handler's context, and the Application, typed by what matters here: the bot_data they carry.
BotContext = CallbackContext[ExtBot[Any], dict[Any, Any], dict[Any, Any], BotData]
BotApplication = Application[Any, Any, Any, Any, BotData, Any]
CONTEXT_TYPES = ContextTypes(context=CallbackContext, bot_data=BotData)


def services(context: BotContext) -> BotServices:
    return context.bot_data.services
