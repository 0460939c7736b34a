"""Assemble the python-telegram-bot Application in one place: handlers, defaults, limits, start-up."""

from __future__ import annotations

import datetime
import logging
from dataclasses import replace

from telegram import BotCommandScopeDefault, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import AIORateLimiter, ApplicationBuilder, Defaults, TypeHandler

from bot.commands import USER_COMMANDS, show_admin_commands
from bot.context import CONTEXT_TYPES, BotApplication, BotContext, BotServices
from bot.handlers import admin, errors, inline, questions, reading
from bot.handlers.replies import refuse_dataless_buttons
from bot.ratelimit import UserRateLimiter
from bot.records import Records
from bot.settings import Settings
from bot.shutdown import IN_FLIGHT, QUEUED, DrainingProcessor, SpeechbotApplication, UpdateQueue
from retrieval.service import SearchService
from retrieval.storage.store import Store

log = logging.getLogger(__name__)

INLINE_QUERIES_PER_QUESTION = 5  # Telegram sends one as the user types
PRUNE_AT = datetime.time(3, 30)  # local time, when few ask


def build_application(settings: Settings, *, rate_limiter: AIORateLimiter | None = None) -> BotApplication:
    """The bot; `rate_limiter` replaces Telegram's own flood limits (benchmarks on a local server only)."""
    processor = DrainingProcessor(IN_FLIGHT, settings.shutdown_answer_seconds)
    application = (
        ApplicationBuilder()
        .context_types(CONTEXT_TYPES)
        .application_class(SpeechbotApplication)
        .token(settings.token)
        .base_url(settings.bot_api_url)
        .base_file_url(settings.bot_file_url)
        .defaults(Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)))
        .update_queue(UpdateQueue(QUEUED, IN_FLIGHT))  # few updates in hand: the rest wait at Telegram
        .concurrent_updates(processor)
        .rate_limiter(rate_limiter or AIORateLimiter(max_retries=2))
        .post_init(on_startup)
        .post_shutdown(on_shutdown)
        .build()
    )
    processor.application = application
    application.bot_data.settings = settings
    application.bot_data.polling = not settings.webhook_url
    application.add_handler(TypeHandler(Update, refuse_dataless_buttons), group=-1)
    for module in (admin, reading, inline, questions):
        application.add_handlers(module.handlers())
    application.add_error_handler(errors.on_error)
    return application


async def on_startup(application: BotApplication) -> None:
    """Open the store, load or build the index, and register the command menus."""
    settings = application.bot_data.settings
    if settings is None:
        raise RuntimeError("the application was not built by build_application")
    store = await Store(settings.db_path).open()
    search = SearchService(store, settings.data_dir, settings.embedder)
    report = await search.start()
    if report:
        log.info("built the index: %d speeches, %d passages in %.1f s", report.speeches, report.chunks, report.seconds)
    records = await Records(settings.db_path).open()
    if not settings.user_hash_salt:
        settings = replace(settings, user_hash_salt=await records.user_salt())
        application.bot_data.settings = settings
    application.bot_data.started = BotServices(
        settings,
        store,
        search,
        records,
        UserRateLimiter(settings.questions_per_minute),
        UserRateLimiter(settings.questions_per_minute * INLINE_QUERIES_PER_QUESTION),
    )
    await _register_commands(application, settings)
    await prune_query_log(application)
    if application.job_queue is not None:
        application.job_queue.run_daily(_prune_job, time=PRUNE_AT, name="prune query log")


async def prune_query_log(application: BotApplication) -> None:
    bot_services = application.bot_data.services
    pruned = await bot_services.records.prune(bot_services.settings.log_retention_days)
    if pruned:
        log.info("pruned %d questions older than %d days", pruned, bot_services.settings.log_retention_days)


async def _prune_job(context: BotContext) -> None:
    await prune_query_log(context.application)


async def on_shutdown(application: BotApplication) -> None:
    bot_services, application.bot_data.started = application.bot_data.started, None
    if bot_services is not None:
        await bot_services.search.close()
        await bot_services.records.close()
        await bot_services.store.close()


async def _register_commands(application: BotApplication, settings: Settings) -> None:
    await application.bot.set_my_commands(USER_COMMANDS, scope=BotCommandScopeDefault())
    for admin_id in sorted(settings.admin_ids):
        await show_admin_commands(application.bot, admin_id)
