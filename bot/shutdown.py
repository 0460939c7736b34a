"""How many updates the bot holds at once, and what becomes of them when it stops.

python-telegram-bot's poller fetches (and so acknowledges to Telegram) as fast as Telegram hands updates
out, and a concurrent Application turns each into a task at once, so a backlog of a thousand questions
was all "in hand" and a stop had to answer every one (at 30 a second, past systemd's stop timeout; the
rest were lost at SIGKILL). Here:

- `UpdateQueue` lets the Application take an update only while fewer than `in_flight` are being handled,
  and holds at most `maxsize` more; the poller then waits before fetching again, so the rest of a backlog
  stays with Telegram, unacknowledged, and is delivered again after a restart.
- `DrainingProcessor`, once the Application stops, keeps answering what is in hand for `answer_seconds`;
  what has not started by then is answered "稍后再问" (a question, a button) instead, so nothing fetched is
  dropped silently, and what still runs `IN_FLIGHT_GRACE` seconds later is cancelled: the stop is bounded.
- `SpeechbotApplication.stop` starts that clock, and in polling mode confirms to Telegram exactly the
  updates taken in hand (the poller may have been stopped half-way through a batch it had not confirmed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import warnings
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application, BaseUpdateProcessor
from telegram.warnings import PTBUserWarning

log = logging.getLogger(__name__)

LATER = "服务正在重启，请稍后再问。"
IN_FLIGHT = 32  # updates handled at once: far above what 2 cores search in parallel
QUEUED = 32  # taken from Telegram and waiting for a slot
IN_FLIGHT_GRACE = 5  # seconds a running update may go on once the answering time is over


class UpdateQueue(asyncio.Queue):
    """The Application's update queue, handing out at most `in_flight` updates not yet done."""

    def __init__(self, maxsize: int = QUEUED, in_flight: int = IN_FLIGHT) -> None:
        super().__init__(maxsize)
        self._slots = asyncio.Semaphore(in_flight)
        self.highest_update_id: int | None = None  # of the updates taken in hand

    async def put(self, item: Any) -> None:
        await super().put(item)
        if isinstance(item, Update):
            self.highest_update_id = max(self.highest_update_id or 0, item.update_id)

    async def get(self) -> Any:
        await self._slots.acquire()
        try:
            return await super().get()
        except BaseException:
            self._slots.release()
            raise

    def task_done(self) -> None:
        super().task_done()
        self._slots.release()


class DrainingProcessor(BaseUpdateProcessor):
    """Runs updates concurrently. After `begin_shutdown`, an update not started within `answer_seconds` gets
    LATER instead; one still running `IN_FLIGHT_GRACE` seconds after that (a long rebuild) is cancelled,
    which leaves corpus and index as they were (see SearchService) and tells the admin so."""

    def __init__(self, max_concurrent_updates: int, answer_seconds: float) -> None:
        super().__init__(max_concurrent_updates)
        self.answer_seconds = answer_seconds
        self.application: Application | None = None
        self._out_of_time = asyncio.Event()
        self._cancel_running = asyncio.Event()
        self._stopping = False

    def begin_shutdown(self) -> None:
        if not self._stopping:
            self._stopping = True
            loop = asyncio.get_running_loop()
            loop.call_later(self.answer_seconds, self._out_of_time.set)
            loop.call_later(self.answer_seconds + IN_FLIGHT_GRACE, self._cancel_running.set)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        if self._out_of_time.is_set():
            coroutine.close()  # type: ignore[attr-defined]
            await self._later(update)
            return
        work = asyncio.ensure_future(coroutine)
        cancel = asyncio.ensure_future(self._cancel_running.wait())
        try:
            await asyncio.wait({work, cancel}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            cancel.cancel()
        if not work.done():
            log.warning("stopping: cancelled update %s, still running", getattr(update, "update_id", "?"))
            work.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await work
            return
        work.result()

    async def _later(self, update: object) -> None:
        """A short 稍后再问 for an update the bot would have answered; others (group chatter) need nothing."""
        if not isinstance(update, Update) or not self._would_answer(update):
            return
        try:
            if update.callback_query is not None:
                await update.callback_query.answer(LATER)
            elif update.effective_message is not None and update.message is not None:
                await update.effective_message.reply_text(LATER)
        except TelegramError as exc:
            log.warning("could not tell update %s to ask later: %s", update.update_id, exc)

    def _would_answer(self, update: Update) -> bool:
        if self.application is None:
            return False
        return any(bool(h.check_update(update)) for group in self.application.handlers.values() for h in group)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""


class SpeechbotApplication(Application):
    """PTB's Application, whose stop first starts the drain clock and confirms what was taken in hand."""

    async def stop(self) -> None:
        processor = self.update_processor
        if isinstance(processor, DrainingProcessor):
            processor.begin_shutdown()
        await self._confirm_taken_updates()
        with warnings.catch_warnings():
            # PTB hands the updates still queued to tasks it does not track once stopping, and says so;
            # stop() still waits for each of them (update_queue.join()), so the warning is noise here.
            warnings.filterwarnings("ignore", "Tasks created via `Application.create_task`", PTBUserWarning)
            await super().stop()

    async def _confirm_taken_updates(self) -> None:
        """In polling mode, acknowledge to Telegram the updates in hand and nothing after them."""
        queue = self.update_queue
        polling = self.updater is not None and getattr(self.bot_data, "polling", False)
        if not polling or not isinstance(queue, UpdateQueue) or queue.highest_update_id is None:
            return
        try:
            await self.bot.get_updates(offset=queue.highest_update_id + 1, limit=1, timeout=0)
        except TelegramError as exc:
            log.warning("could not confirm the updates in hand (they may come again after a restart): %s", exc)
