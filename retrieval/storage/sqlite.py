"""One aiosqlite connection to the project's SQLite file, opened and closed as an async context."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
from pathlib import Path
from typing import Self

import aiosqlite

# Writers wait for each other (a reindex, the query log) instead of failing with "database is locked".
BUSY_TIMEOUT_MS = 10_000


class SQLiteFile:
    """Subclasses set up their tables in prepare(); `db` is the open connection."""

    def __init__(self, path: Path, busy_timeout_ms: int = BUSY_TIMEOUT_MS, read_only: bool = False) -> None:
        self.path = path
        self.busy_timeout_ms = busy_timeout_ms
        self.read_only = read_only  # for commands that only read: no schema set-up, no writes, no file made
        self._db: aiosqlite.Connection | None = None

    async def open(self) -> Self:
        if self.read_only:
            target, uri = f"{self.path.resolve().as_uri()}?mode=ro", True
        else:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise sqlite3.OperationalError(f"cannot make its folder ({exc.strerror})") from exc
            target, uri = str(self.path), False
        # A file that cannot be opened (a folder, no permission) fails here, in this thread: failing inside
        # aiosqlite's connect leaves its worker thread to report to an event loop that may be gone.
        sqlite3.connect(target, uri=uri).close()
        self._db = await aiosqlite.connect(target, uri=uri)
        await self._db.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_ms)}")
        if not self.read_only:
            await self.prepare()
        return self

    async def prepare(self) -> None:
        """Create or check this user's tables."""

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    async def __aenter__(self) -> Self:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError(f"{self.path} is not open")
        return self._db

    async def read_in_order(self) -> None:
        """Bring the whole file into the kernel's page cache, front to back, before a check that reads every
        page (PRAGMA quick_check): the check reads them in b-tree order, which on a cold disk is random
        reads (15.9 s for a 100k-passage store of 1.3 GB, against 2.0 s read in order and then 0.6 s to
        check). Read by a child process (`cat`): a descriptor of the file opened and closed in this process
        would drop every SQLite lock the process holds on it (POSIX record locks go with any close of the
        file), and another process could then write beside this one. Skipped for a file larger than half
        the free memory (its first pages would be evicted before the check reached them), where there is no
        `cat`, and on any error: the check then reads as it would have."""
        cat = shutil.which("cat")
        try:
            size = self.path.stat().st_size
            free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError):
            return
        if cat is None or size > free // 2:
            return
        try:
            child = await asyncio.create_subprocess_exec(
                cat, "--", str(self.path), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
            )
            await child.wait()
        except OSError:
            return
