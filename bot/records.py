"""What the bot remembers in SQLite: questions behind buttons, the query log, admin attempts.

Tables live in the store's file, written through a connection of their own,
so a reindex transaction on the store's connection never takes in (or is
broken by) a query-log commit. No names or usernames are kept; a user is a
salted hash of their id.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import sqlite3
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass

from retrieval.storage.sqlite import SQLiteFile

log = logging.getLogger(__name__)

# What keeps a log row from being written without anything being wrong with the store: a full disk, a
# store locked past the busy timeout, a read-only file or an I/O error.
LOG_CONDITIONS = frozenset(
    {sqlite3.SQLITE_FULL, sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR}
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS asked (
    key TEXT PRIMARY KEY,
    question TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS query_log (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    chat_type TEXT NOT NULL,
    user_hash TEXT NOT NULL,
    key TEXT NOT NULL,
    question TEXT NOT NULL,
    result_ids TEXT NOT NULL,
    latency_ms REAL NOT NULL,
    feedback INTEGER
);
CREATE INDEX IF NOT EXISTS query_log_at ON query_log(at);
CREATE INDEX IF NOT EXISTS query_log_key ON query_log(key, user_hash);
CREATE TABLE IF NOT EXISTS secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS admin_log (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    user_hash TEXT NOT NULL,
    action TEXT NOT NULL,
    allowed INTEGER NOT NULL,
    detail TEXT NOT NULL
);
"""


INLINE = "inline"  # the chat type logged for inline queries
INLINE_TYPING_SECONDS = 60


def question_key(question: str) -> str:
    return hashlib.sha1(question.encode("utf-8")).hexdigest()[:12]


def hash_user(user_id: int, salt: str) -> str:
    """The user as the log keeps them; an empty salt would let anyone enumerate Telegram ids back."""
    if not salt:
        raise ValueError("hash_user needs a salt (USER_HASH_SALT or the one kept in the store)")
    return hashlib.sha256(f"{salt}:{user_id}".encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Stats:
    total: int
    today: int
    unanswered: int
    recent_unanswered: list[str]
    top: list[tuple[str, int]]
    median_latency_ms: float | None
    useful: int
    not_useful: int


class Records(SQLiteFile):
    async def prepare(self) -> None:
        await self.db.executescript(SCHEMA)
        await self.db.commit()

    async def user_salt(self) -> str:
        """The salt for user hashes when USER_HASH_SALT is unset: made at random once, then kept here."""
        await self.db.execute(
            "INSERT OR IGNORE INTO secrets (name, value) VALUES ('user_hash_salt', ?)", (secrets.token_hex(16),)
        )
        await self.db.commit()
        async with self.db.execute("SELECT value FROM secrets WHERE name = 'user_hash_salt'") as cursor:
            row = await cursor.fetchone()
        if row is None:  # the INSERT OR IGNORE above makes one
            raise RuntimeError("the user-hash salt could not be stored")
        return str(row[0])

    async def question_for(self, key: str) -> str | None:
        async with self.db.execute("SELECT question FROM asked WHERE key = ?", (key,)) as cursor:
            row = await cursor.fetchone()
        return row[0] if row else None

    @asynccontextmanager
    async def _best_effort(self, what: str) -> AsyncIterator[None]:
        """A log row lost to a full disk or a store locked too long is a warning in the log, not an error reply
        after an answer that was sent."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            if (getattr(exc, "sqlite_errorcode", 0) & 0xFF) not in LOG_CONDITIONS:
                raise  # a fault of the store's own (a table gone): the error handler's
            log.warning("could not log the %s (%s); the answer was sent", what, exc)
            with suppress(sqlite3.Error):
                await self.db.rollback()

    async def log_question(
        self, chat_type: str, user_hash: str, key: str, question: str, result_ids: Sequence[str], latency_ms: float
    ) -> None:
        """Log a question and keep it under its key, for the buttons that ask it again (after a restart too)."""
        async with self._best_effort("question"):
            await self._log_question(chat_type, user_hash, key, question, result_ids, latency_ms)

    async def _log_question(
        self, chat_type: str, user_hash: str, key: str, question: str, result_ids: Sequence[str], latency_ms: float
    ) -> None:
        await self.db.execute(
            "INSERT OR IGNORE INTO asked (key, question, created) VALUES (?, ?, ?)", (key, question, time.time())
        )
        await self.db.execute(
            "INSERT INTO query_log (at, chat_type, user_hash, key, question, result_ids, latency_ms) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (time.time(), chat_type, user_hash, key, question, json.dumps(list(result_ids)), latency_ms),
        )
        await self.db.commit()

    async def log_inline(
        self, user_hash: str, key: str, question: str, result_ids: Sequence[str], latency_ms: float
    ) -> None:
        """Log an inline query (chat type `inline`). Telegram sends one as each character is typed, so a query
        that extends the same user's last one within a minute replaces it: the log keeps what was asked."""
        async with self._best_effort("inline query"):
            await self._log_inline(user_hash, key, question, result_ids, latency_ms)

    async def _log_inline(
        self, user_hash: str, key: str, question: str, result_ids: Sequence[str], latency_ms: float
    ) -> None:
        now = time.time()
        async with self.db.execute(
            "SELECT id, question, at, chat_type FROM query_log WHERE user_hash = ? ORDER BY id DESC LIMIT 1",
            (user_hash,),
        ) as cursor:
            last = await cursor.fetchone()
        ids = json.dumps(list(result_ids))
        if (
            last is not None
            and last[3] == INLINE
            and now - last[2] < INLINE_TYPING_SECONDS
            and (question.startswith(last[1]) or last[1].startswith(question))
        ):
            await self.db.execute(
                "UPDATE query_log SET at = ?, key = ?, question = ?, result_ids = ?, latency_ms = ? WHERE id = ?",
                (now, key, question, ids, latency_ms, last[0]),
            )
        else:
            await self.db.execute(
                "INSERT INTO query_log (at, chat_type, user_hash, key, question, result_ids, latency_ms) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (now, INLINE, user_hash, key, question, ids, latency_ms),
            )
        await self.db.commit()

    async def set_feedback(self, key: str, user_hash: str, useful: bool) -> bool:
        """Feedback on the user's latest asking of that question."""
        cursor = await self.db.execute(
            "UPDATE query_log SET feedback = ? WHERE id = "
            "(SELECT id FROM query_log WHERE key = ? AND user_hash = ? ORDER BY id DESC LIMIT 1)",
            (1 if useful else -1, key, user_hash),
        )
        await self.db.commit()
        return cursor.rowcount > 0

    async def log_admin(self, user_hash: str, action: str, allowed: bool, detail: str = "") -> None:
        await self.db.execute(
            "INSERT INTO admin_log (at, user_hash, action, allowed, detail) VALUES (?, ?, ?, ?, ?)",
            (time.time(), user_hash, action, int(allowed), detail),
        )
        await self.db.commit()

    async def admin_attempts(self) -> list[tuple[str, str, bool]]:
        async with self.db.execute("SELECT user_hash, action, allowed FROM admin_log ORDER BY id") as cursor:
            return [(r[0], r[1], bool(r[2])) async for r in cursor]

    async def prune(self, older_than_days: int) -> int:
        """Forget questions older than the retention period; returns how many went."""
        cutoff = time.time() - older_than_days * 86400
        cursor = await self.db.execute("DELETE FROM query_log WHERE at < ?", (cutoff,))
        await self.db.execute("DELETE FROM admin_log WHERE at < ?", (cutoff,))
        await self.db.execute(
            "DELETE FROM asked WHERE created < ? AND key NOT IN (SELECT key FROM query_log)", (cutoff,)
        )
        await self.db.commit()
        return cursor.rowcount

    async def log_rows(self) -> list[tuple]:
        """The query log for export, oldest first.

        Columns: at, chat_type, user_hash, question, result_ids, latency_ms, feedback.
        """
        async with self.db.execute(
            "SELECT at, chat_type, user_hash, question, result_ids, latency_ms, feedback FROM query_log ORDER BY id"
        ) as cursor:
            return [tuple(r) async for r in cursor]

    async def stats(self, since: float) -> Stats:
        async def one(sql: str, params: Sequence[object] = ()) -> int:
            async with self.db.execute(sql, params) as cursor:
                row = await cursor.fetchone()
            return int(row[0]) if row else 0

        async def rows(sql: str) -> list[tuple]:
            async with self.db.execute(sql) as cursor:
                return [tuple(r) async for r in cursor]

        latencies = [r[0] for r in await rows("SELECT latency_ms FROM query_log ORDER BY latency_ms")]
        return Stats(
            total=await one("SELECT COUNT(*) FROM query_log"),
            today=await one("SELECT COUNT(*) FROM query_log WHERE at >= ?", (since,)),
            unanswered=await one("SELECT COUNT(*) FROM query_log WHERE result_ids = '[]'"),
            recent_unanswered=[
                r[0]
                for r in await rows(
                    "SELECT question FROM query_log WHERE result_ids = '[]' "
                    "GROUP BY question ORDER BY MAX(at) DESC LIMIT 5"
                )
            ],
            top=[
                (r[0], r[1])
                for r in await rows(
                    "SELECT question, COUNT(*) FROM query_log "
                    "GROUP BY question ORDER BY COUNT(*) DESC, MAX(at) DESC LIMIT 5"
                )
            ],
            median_latency_ms=latencies[len(latencies) // 2] if latencies else None,
            useful=await one("SELECT COUNT(*) FROM query_log WHERE feedback = 1"),
            not_useful=await one("SELECT COUNT(*) FROM query_log WHERE feedback = -1"),
        )
