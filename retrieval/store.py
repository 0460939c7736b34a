"""The SQLite store of the built index, so start-up skips tokenizing.

One file, WAL mode. The index tables are replaced inside one transaction,
so a reader sees the old index or the new one, never a mix, and a failed
or killed rebuild leaves the old one in place.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from retrieval.bm25 import BM25Field, FieldArrays
from retrieval.chunking import Chunk
from retrieval.index import Index
from retrieval.segmenter import Lexicon
from retrieval.speeches import Speech
from retrieval.sqlite import SQLiteFile

log = logging.getLogger(__name__)

SCHEMA_VERSION = 4  # 4: speeches.source_title, chunks.repaired

INDEX_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS speeches (
    id TEXT PRIMARY KEY,
    ordinal INTEGER NOT NULL,
    title TEXT NOT NULL,
    source_file TEXT NOT NULL,
    spun INTEGER NOT NULL DEFAULT 0,
    paragraph_count INTEGER NOT NULL,
    source_title TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS chunks (
    id TEXT PRIMARY KEY,
    ordinal INTEGER NOT NULL UNIQUE,
    speech_id TEXT NOT NULL REFERENCES speeches(id),
    position INTEGER NOT NULL,
    paragraph INTEGER NOT NULL,
    section TEXT NOT NULL,
    text TEXT NOT NULL,
    spun INTEGER NOT NULL,
    duplicate_of INTEGER NOT NULL,
    content_key INTEGER NOT NULL,
    repaired INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS chunks_by_speech ON chunks(speech_id, position);
CREATE TABLE IF NOT EXISTS lexicon (word TEXT PRIMARY KEY, freq INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS field_arrays (
    field TEXT NOT NULL,
    part TEXT NOT NULL,
    dtype TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (field, part)
) WITHOUT ROWID;
"""
ARRAY_PARTS = ("codes", "data", "indices", "indptr", "nonoccurrence")

# Meaning vectors by content, not by passage: they outlive reindexes and schema changes of the index
# tables, so a text is embedded once per model, ever.
VECTOR_SCHEMA = """
CREATE TABLE IF NOT EXISTS vectors (
    model TEXT NOT NULL,
    key INTEGER NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (model, key)
) WITHOUT ROWID;
"""

@dataclass(frozen=True)
class StoredIndex:
    """An index as read from the file; Index(...) of it is CPU work, left to the caller's thread."""

    speeches: list[Speech]
    chunks: list[Chunk]
    fields: dict[str, FieldArrays]
    duplicate_of: list[int]
    lexicon: Lexicon
    content_keys: list[int]
    info: dict[str, str]

    def to_index(self) -> Index:
        fields = {name: BM25Field(arrays) for name, arrays in self.fields.items()}
        return Index(self.speeches, self.chunks, fields, self.duplicate_of, self.lexicon, self.content_keys)


def inconsistency(stored: StoredIndex) -> str | None:
    """What is logically wrong with a loaded index (SQLite only vouches for its pages), or None.

    Emptied or half-deleted tables read back without an error but answer nothing, or fail on every
    question; these checks are cheap next to a rebuild.
    """
    n = len(stored.chunks)
    if not stored.speeches:
        return "no speeches"
    if not n:
        return "no passages"
    if stored.info.get("passages") != str(n):
        return f"{n} passages stored, {stored.info.get('passages')} recorded"
    speech_ids = {s.id for s in stored.speeches}
    dangling = sum(1 for c in stored.chunks if c.speech_id not in speech_ids)
    if dangling:
        return f"{dangling} passages of missing speeches"
    empty = len(speech_ids - {c.speech_id for c in stored.chunks})
    if empty:
        return f"{empty} speeches without passages"
    if len(stored.duplicate_of) != n or any(not 0 <= d < n for d in stored.duplicate_of):
        return "duplicate links out of range"
    for name, arrays in stored.fields.items():
        terms = len(arrays.codes)
        if (len(arrays.indptr) != terms + 1 or len(arrays.nonoccurrence) != terms
                or not int(arrays.indptr[-1]) == len(arrays.indices) == len(arrays.data)
                or (len(arrays.indices) and int(arrays.indices.max()) >= n)):
            return f"the {name} field's arrays do not fit {n} passages"
    return None


class StoreUnavailable(RuntimeError):
    """The store cannot be opened now (busy, read-only, missing folder); the file is left as it is."""


class DamagedStore(sqlite3.DatabaseError):
    """SQLite's own check found damaged pages."""


# Only these mean the file itself is damaged; anything else (busy, locked, read-only, cannot open, I/O)
# is a condition to report, and the file, with its committed rows, stays where it is.
CORRUPT_CODES = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})


def is_corrupt(exc: sqlite3.DatabaseError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, DamagedStore) or (code is not None and code & 0xFF in CORRUPT_CODES)


class Store(SQLiteFile):
    async def open(self) -> Store:
        """Open (or create) the file. Only a file SQLite calls corrupt is moved aside (with its -wal and -shm,
        never deleted) and started anew; a busy or read-only one raises StoreUnavailable, left untouched."""
        try:
            return await super().open()
        except sqlite3.DatabaseError as exc:
            await self.close()
            if not is_corrupt(exc):
                raise StoreUnavailable(self._unavailable(exc)) from exc
            aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
            log.warning("store %s is unreadable (%s); moved it to %s and starting a new one", self.path, exc, aside)
            for suffix in ("-wal", "-shm"):  # they belong to the damaged file: keep them beside it
                companion = Path(f"{self.path}{suffix}")
                if companion.exists():
                    companion.rename(f"{aside}{suffix}")
            self.path.rename(aside)
            return await super().open()

    def _unavailable(self, exc: sqlite3.DatabaseError) -> str:
        name = getattr(exc, "sqlite_errorname", "") or exc.__class__.__name__
        if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
            return (f"store {self.path} is busy: another process (a reindex or add?) held its write lock for "
                    f"{self.busy_timeout_ms / 1000:g} s; try again when it is done")
        return f"cannot open store {self.path}: {exc} ({name}); the file was left as it is"

    async def prepare(self) -> None:
        # Each write below is made only when needed, so opening a healthy store never waits for the write
        # lock another process may hold (WAL lets it read meanwhile).
        if (await self._fetchone("PRAGMA journal_mode")) != ("wal",):
            await self.db.execute("PRAGMA journal_mode=WAL")
        await self.db.execute("PRAGMA synchronous=NORMAL")
        if (await self._fetchone("PRAGMA quick_check")) != ("ok",):
            raise DamagedStore("quick_check found damaged pages")
        version = (await self._fetchone("PRAGMA user_version"))[0]
        if version != SCHEMA_VERSION:
            await self._drop_index_tables()
        await self.db.executescript(INDEX_SCHEMA)
        await self.db.executescript(VECTOR_SCHEMA)
        if version != SCHEMA_VERSION:
            await self.db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        await self.db.commit()

    async def _fetchone(self, sql: str, params: Sequence[object] = ()) -> tuple:
        async with self.db.execute(sql, params) as cursor:
            row = await cursor.fetchone()
        return tuple(row) if row else ()

    async def _drop_index_tables(self) -> None:
        await self.db.executescript(
            "DROP TABLE IF EXISTS chunks; DROP TABLE IF EXISTS speeches; DROP TABLE IF EXISTS meta;"
            "DROP TABLE IF EXISTS lexicon; DROP TABLE IF EXISTS field_arrays;"
        )

    # --- the index ---------------------------------------------------------

    async def has_index(self) -> bool:
        row = await self._fetchone("SELECT value FROM meta WHERE key = 'complete'")
        return bool(row) and row[0] == "1"

    async def replace_index(self, index: Index, info: dict[str, str]) -> None:
        """Swap in a new index in one transaction; on any error the old one stays."""
        speeches = [index.speeches[s] for s in index.speech_order]
        paragraphs: dict[str, int] = {}
        for c in index.chunks:
            paragraphs[c.speech_id] = max(paragraphs.get(c.speech_id, 0), c.paragraph)
        chunk_rows = [
            (c.id, i, c.speech_id, c.ordinal, c.paragraph, c.section, c.text, int(c.spun), int(d), key,
             int(c.repaired))
            for i, (c, d, key) in enumerate(zip(index.chunks, index.duplicate_of.tolist(), index.content_keys,
                                                strict=True))
        ]
        array_rows = [
            (name, part, str(array.dtype), array.tobytes())
            for name, field_ in index.fields.items()
            for part, array in ((p, getattr(field_.arrays, p)) for p in ARRAY_PARTS)
        ]
        meta = {**info, "built_at": str(time.time()), "lexicon_total": str(index.lexicon.total),
                "passages": str(len(index.chunks)), "complete": "1"}
        db = self.db
        await db.execute("BEGIN IMMEDIATE")
        try:
            for table in ("chunks", "speeches", "meta", "lexicon", "field_arrays"):
                await db.execute(f"DELETE FROM {table}")
            await db.executemany("INSERT INTO lexicon VALUES (?, ?)", index.lexicon.words.items())
            await db.executemany(
                "INSERT INTO speeches VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (s.id, i, s.title, s.source_file, int(s.spun), paragraphs.get(s.id, 0), s.source_title)
                    for i, s in enumerate(speeches)
                ],
            )
            await db.executemany("INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", chunk_rows)
            await db.executemany("INSERT INTO field_arrays VALUES (?, ?, ?, ?)", array_rows)
            await db.executemany("INSERT INTO meta VALUES (?, ?)", list(meta.items()))
            await db.commit()
        except BaseException:
            await db.rollback()
            raise

    async def load_index(self) -> StoredIndex:
        info = dict(await self._fetchall("SELECT key, value FROM meta"))
        speeches = [
            Speech(r[0], r[1], r[2], (), bool(r[3]), r[4])
            for r in await self._fetchall(
                "SELECT id, title, source_file, spun, source_title FROM speeches ORDER BY ordinal"
            )
        ]
        rows = await self._fetchall(
            "SELECT id, speech_id, position, paragraph, section, text, spun, duplicate_of, content_key, repaired "
            "FROM chunks ORDER BY ordinal"
        )
        chunks = [Chunk(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6]), bool(r[9])) for r in rows]
        parts: dict[str, dict[str, np.ndarray]] = {}
        for name, part, dtype, blob in await self._fetchall("SELECT field, part, dtype, data FROM field_arrays"):
            parts.setdefault(name, {})[part] = np.frombuffer(blob, dtype=dtype)
        passages = int(info["passages"])
        fields = {name: FieldArrays(**arrays, num_docs=passages) for name, arrays in parts.items()}
        lexicon = Lexicon(dict(await self._fetchall("SELECT word, freq FROM lexicon")), int(info["lexicon_total"]))
        return StoredIndex(speeches, chunks, fields, [r[7] for r in rows], lexicon, [r[8] for r in rows], info)

    async def _fetchall(self, sql: str, params: Sequence[object] = ()) -> list[tuple]:
        async with self.db.execute(sql, params) as cursor:
            return [tuple(r) for r in await cursor.fetchall()]

    # --- meaning vectors -----------------------------------------------------

    async def vectors(self, model: str) -> dict[int, np.ndarray]:
        """Every cached vector of one model, by text key."""
        rows = await self._fetchall("SELECT key, vector FROM vectors WHERE model = ?", (model,))
        return {key: np.frombuffer(blob, dtype=np.float32) for key, blob in rows}

    async def add_vectors(self, model: str, vectors: dict[int, np.ndarray]) -> None:
        """Cache vectors (a batch commits on its own, so a long embedding job keeps what it has done)."""
        if not vectors:
            return
        await self.db.executemany(
            "INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)",
            [(model, key, np.asarray(v, dtype=np.float32).tobytes()) for key, v in vectors.items()],
        )
        await self.db.commit()

    async def speech_rows(self) -> list[tuple[str, str, str, int]]:
        async with self.db.execute(
            "SELECT id, title, source_file, paragraph_count FROM speeches ORDER BY ordinal"
        ) as cursor:
            return [tuple(r) async for r in cursor]
