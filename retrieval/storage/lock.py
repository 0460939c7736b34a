"""One corpus change at a time across processes: an exclusive lock on a file beside the store.

The bot, `speechbot add` and `speechbot reindex` in another shell, and a second bot on the same store all
take it before they read the folder for a change, and hold it until folder and store agree again. The
operating system lets go of it when a process dies, however it dies. A second writer waits a bounded
time, then is refused in one line.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

from filelock import AcquireReturnProxy, FileLock, Timeout

# How long a change waits for another process's change to end: adding a file takes seconds, a full
# rebuild of a large corpus a minute or more (README, Performance).
WAIT_SECONDS = 30.0


class ChangeLocked(RuntimeError):
    """Another process held the change lock past the wait; nothing was changed."""


class ChangeLock:
    def __init__(self, store_path: Path, wait_seconds: float = WAIT_SECONDS) -> None:
        self.path = store_path.with_name(f"{store_path.name}.lock")
        self.wait_seconds = wait_seconds
        # fcntl's lock, never a "soft" one: a soft lock outlives a killed process. One holder per instance,
        # from whichever thread the event loop hands the work to.
        self._lock = FileLock(self.path, thread_local=False, fallback_to_soft=False)

    @asynccontextmanager
    async def held(self, wait_seconds: float | None = None) -> AsyncIterator[None]:
        """The lock, waited for off the event loop; ChangeLocked after the wait."""
        wait = self.wait_seconds if wait_seconds is None else wait_seconds
        self.path.parent.mkdir(parents=True, exist_ok=True)
        stop = threading.Event()
        acquire = partial(self._lock.acquire, timeout=wait, poll_interval=0.05, cancel_check=stop.is_set)
        acquiring = asyncio.get_running_loop().run_in_executor(None, acquire)
        try:
            await asyncio.shield(acquiring)
        except Timeout:
            raise ChangeLocked(
                f"another process is changing the corpus (speechbot add, remove, restore or reindex, or the bot); "
                f"waited {wait:g} s — try again when it is done"
            ) from None
        except asyncio.CancelledError:
            stop.set()  # the thread gives up its wait; had it got the lock already, it is let go
            acquiring.add_done_callback(self._release_if_acquired)
            raise
        try:
            yield
        finally:
            self._lock.release()

    def _release_if_acquired(self, acquiring: asyncio.Future[AcquireReturnProxy]) -> None:
        if not acquiring.cancelled() and acquiring.exception() is None:
            self._lock.release()
