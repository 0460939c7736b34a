"""The SQLite store of the index: each file's passages and term counts, so start-up and changes skip cutting words.

One file, WAL mode. What is stored is what the index is computed from, file
by file (speeches, passages, each file's term counts and copy fingerprints),
plus the few corpus-wide results (vocabularies, lexicon, groups of copies)
and a snapshot of the BM25 weights, which start-up reads as they are. A
change to one file deletes and inserts that file's rows and rewrites the
corpus-wide ones, inside one transaction, so a reader sees the old index or
the new one, never a mix, and a failed or killed change leaves the old one.
Every weight moves with each change (N, the average length and the document
frequencies do), and rewriting them takes seconds at 100k passages, so a
change leaves the snapshot stale and the service stores the new one after
answering (`write_snapshot`); a start-up that finds it stale assembles the
weights from the counts instead (numpy, no jieba).

`file_tags` (file name → the stem of its speeches' ids) outlives rebuilds and
schema changes: a file keeps its ids, even while removed.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from retrieval.ingest.chunking import Chunk
from retrieval.ingest.speeches import Speech, SpeechFacts
from retrieval.lexical.bm25 import BM25Field, FieldArrays, TermCounts
from retrieval.lexical.build import BuiltCorpus, CorpusTerms, FilePassages, FileTerms, Vocabulary
from retrieval.lexical.index import FIELDS, Index
from retrieval.lexical.segmenter import Lexicon
from retrieval.storage.sqlite import SQLiteFile
from retrieval.storage.vector_table import VectorTable

log = logging.getLogger(__name__)

SCHEMA_VERSION = 8  # 4: speeches.source_title, chunks.repaired; 5: per-file term counts, file tags;
#                    6: weight arrays in pieces; 7: what each speech is about (places, derived title);
#                    8: no paragraph count (the index's last passage holds the one count), chunks.ordinal

# A weight array is stored in pieces of this size: SQLite copies a blob it is given, and assembles a row
# whole, so one 80 MB blob would cost twice that in memory on top of the index while it is written.
PIECE_BYTES = 8 << 20

# A file's stored arrays: (column, dtype); per field its term ids, their counts and distinct terms per passage.
TERM_COLUMNS = [
    *((f"{name}{suffix}", dtype) for name in FIELDS
      for suffix, dtype in (("", "uint32"), ("_tf", "uint16"), ("_sizes", "uint32"))),
    ("shingles", "uint64"),
    ("shingle_sizes", "uint32"),
]  # fmt: skip

INDEX_TABLES = ("meta", "speeches", "chunks", "file_terms", "vocabulary", "lexicon", "passage_arrays", "field_arrays")
ARRAY_PARTS = ("codes", "data", "indices", "indptr", "nonoccurrence")
INDEX_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS speeches (
    id TEXT PRIMARY KEY,
    source_file TEXT NOT NULL,
    file_position INTEGER NOT NULL,
    title TEXT NOT NULL,
    spun INTEGER NOT NULL DEFAULT 0,
    source_title TEXT NOT NULL DEFAULT '',
    places TEXT NOT NULL DEFAULT '',
    mentions TEXT NOT NULL DEFAULT '',
    organisation TEXT NOT NULL DEFAULT '',
    meeting TEXT NOT NULL DEFAULT '',
    derived_title TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS speeches_in_order ON speeches(source_file, file_position);
CREATE TABLE IF NOT EXISTS chunks (
    id TEXT PRIMARY KEY,
    speech_id TEXT NOT NULL REFERENCES speeches(id),
    ordinal INTEGER NOT NULL,  -- the passage's place in its speech (1, 2, …); paragraph: 第N段
    paragraph INTEGER NOT NULL,
    section TEXT NOT NULL,
    text TEXT NOT NULL,
    spun INTEGER NOT NULL,
    content_key INTEGER NOT NULL,
    repaired INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS chunks_by_speech ON chunks(speech_id, ordinal);
CREATE TABLE IF NOT EXISTS file_terms (
    source_file TEXT PRIMARY KEY,
    passages INTEGER NOT NULL,
    {", ".join(f"{column} BLOB NOT NULL" for column, _ in TERM_COLUMNS)}
);
CREATE TABLE IF NOT EXISTS vocabulary (field TEXT PRIMARY KEY, codes BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS lexicon (word TEXT PRIMARY KEY, freq INTEGER NOT NULL, files INTEGER NOT NULL)
    WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS passage_arrays (name TEXT PRIMARY KEY, dtype TEXT NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS field_arrays (
    field TEXT NOT NULL,
    part TEXT NOT NULL,
    piece INTEGER NOT NULL,
    dtype TEXT NOT NULL,
    length INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (field, part, piece)
);
CREATE TABLE IF NOT EXISTS file_tags (name TEXT PRIMARY KEY, tag TEXT NOT NULL UNIQUE) WITHOUT ROWID;
"""


# Meaning vectors by content, not by passage: they outlive reindexes and schema changes of the index
# tables, so a text is embedded once per model, ever. float16, as they are held in memory (cosines move by
# about 1e-4); `vectors` held float32 before and is carried over once (`_halve_vectors`).
VECTOR_SCHEMA = """
CREATE TABLE IF NOT EXISTS half_vectors (
    model TEXT NOT NULL,
    key INTEGER NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (model, key)
) WITHOUT ROWID;
"""


# The renames a change makes in the corpus folder, written in the transaction that stores its index and
# cleared once they are made: a change that dies between the two is finished by the next one. Outside
# INDEX_TABLES, so a schema change of the index never drops a change still to finish.
CHANGE_SCHEMA = """
CREATE TABLE IF NOT EXISTS pending_moves (
    position INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    target TEXT NOT NULL
);
"""

# Reads of the index while other processes keep committing changes, before the last one is taken as it is.
LOAD_TRIES = 3

# Keys per read of chosen vectors: well under SQLite's limit on a statement's parameters.
VECTOR_KEYS_PER_READ = 500

# meta values that must read as whole numbers; a store holding anything else there is damaged.
NUMERIC_META = ("generation", "passages", "lexicon_total", "snapshot", "complete")


@dataclass(frozen=True)
class IndexUpdate:
    """What a change writes: files out, files in, and the corpus-wide results (a rebuild: replace_index)."""

    removed: list[str]
    added: list[FilePassages]  # their terms are in `terms`
    terms: CorpusTerms  # for the vocabularies and the graph words' counts
    lexicon: Lexicon
    duplicate_of: np.ndarray
    tags: dict[str, str]  # file tags to remember (those already known are kept as they are)
    info: dict[str, str]
    moves: list[tuple[str, str]] = field(default_factory=list)  # the folder's renames: (source, target)


@dataclass
class StoredIndex:
    """An index as read from the file; assembling it (to_index) is CPU work, left to the caller's thread."""

    speeches: list[Speech]
    chunks: list[Chunk]
    terms: CorpusTerms | None  # the counts, read when no fresh snapshot of the weights was stored
    fields: dict[str, FieldArrays] | None  # the weights as last stored, when they are still the index's
    duplicate_of: np.ndarray
    lexicon: Lexicon
    content_keys: list[int]
    info: dict[str, str] = field(default_factory=dict)

    def to_index(self) -> Index:
        if self.fields is not None:
            fields = {name: BM25Field(arrays) for name, arrays in self.fields.items()}
            return Index(
                self.speeches, self.chunks, fields, self.duplicate_of.tolist(), self.lexicon, self.content_keys
            )
        assert self.terms is not None
        return self.terms.index(self.speeches, self.chunks, self.content_keys, self.duplicate_of, self.lexicon, keep=())

    @property
    def generation(self) -> int:
        return int(self.info.get("generation", 0))


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
    groups = stored.duplicate_of
    if len(groups) != n or (n and (int(groups.min()) < 0 or int(groups.max()) >= n)):
        return "duplicate links out of range"
    if stored.fields is not None:
        for name, arrays in stored.fields.items():
            terms = len(arrays.codes)
            if (
                len(arrays.indptr) != terms + 1
                or len(arrays.nonoccurrence) != terms
                or not int(arrays.indptr[-1]) == len(arrays.indices) == len(arrays.data)
                or (len(arrays.indices) and int(arrays.indices.max()) >= n)
            ):
                return f"the {name} field's arrays do not fit {n} passages"
    elif stored.terms is not None:
        counted = sum(file.passages for file in stored.terms.files.values())
        if counted != n:
            return f"term counts for {counted} passages, {n} stored"
    return None


class StoreUnavailable(RuntimeError):
    """The store cannot be opened now (busy, read-only, missing folder); the file is left as it is."""


class DamagedStore(sqlite3.DatabaseError):
    """SQLite's own check found damaged pages, or values the store wrote do not read back (meta, schema)."""


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
            return (
                f"store {self.path} is busy: another process (a reindex or add?) held its write lock for "
                f"{self.busy_timeout_ms / 1000:g} s; try again when it is done"
            )
        return f"cannot open store {self.path}: {exc} ({name}); the file was left as it is"

    async def prepare(self) -> None:
        # Each write below is made only when needed, so opening a healthy store never waits for the write
        # lock another process may hold (WAL lets it read meanwhile).
        if (await self._fetchone("PRAGMA journal_mode")) != ("wal",):
            await self.db.execute("PRAGMA journal_mode=WAL")
        await self.db.execute("PRAGMA synchronous=NORMAL")
        await self.read_in_order()
        if (await self._fetchone("PRAGMA quick_check")) != ("ok",):
            raise DamagedStore("quick_check found damaged pages")
        version = (await self._fetchone("PRAGMA user_version"))[0]
        if version != SCHEMA_VERSION:
            await self._drop_index_tables()
        await self.db.executescript(INDEX_SCHEMA)
        await self.db.executescript(VECTOR_SCHEMA)
        await self._halve_vectors()
        await self.db.executescript(CHANGE_SCHEMA)
        if version != SCHEMA_VERSION:
            await self.db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        await self.db.commit()
        await self._check_values()

    async def _check_values(self) -> None:
        """The values every command reads first parse, or the store is damaged (one bad value would make every
        command fail, a rebuild included)."""
        meta = dict(await self._fetchall("SELECT key, value FROM meta"))
        bad = [key for key in NUMERIC_META if key in meta and not str(meta[key]).isdecimal()]
        if bad:
            raise DamagedStore(f"meta values that do not parse: {', '.join(f'{k}={meta[k]!r}' for k in bad)}")

    async def _fetchone(self, sql: str, params: Sequence[object] = ()) -> tuple:
        async with self.db.execute(sql, params) as cursor:
            row = await cursor.fetchone()
        return tuple(row) if row else ()

    async def _drop_index_tables(self) -> None:
        await self.db.executescript("".join(f"DROP TABLE IF EXISTS {t};" for t in INDEX_TABLES))

    # --- the index ---------------------------------------------------------

    async def generation(self) -> int:
        """The stored index's generation: every change by any process raises it."""
        row = await self._fetchone("SELECT value FROM meta WHERE key = 'generation'")
        return int(row[0]) if row else 0

    async def pending_moves(self) -> list[tuple[str, str]]:
        return [(a, b) for a, b in await self._fetchall("SELECT source, target FROM pending_moves ORDER BY position")]

    async def _write_moves(self, moves: Sequence[tuple[str, str]]) -> None:
        """Record a change's renames; inside `transaction()`, the one that stores its index."""
        await self.db.executemany("INSERT INTO pending_moves (source, target) VALUES (?, ?)", moves)

    async def clear_moves(self) -> None:
        await self.db.execute("DELETE FROM pending_moves")
        await self.db.commit()

    async def has_index(self) -> bool:
        row = await self._fetchone("SELECT value FROM meta WHERE key = 'complete'")
        return bool(row) and row[0] == "1"

    async def info(self) -> dict[str, str]:
        return dict(await self._fetchall("SELECT key, value FROM meta"))

    async def file_tags(self) -> dict[str, str]:
        """Every file's tag, removed files' included."""
        return dict(await self._fetchall("SELECT name, tag FROM file_tags"))

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[None]:
        """One write transaction: all of it is stored, or (on any error) none of it."""
        await self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
            await self.db.commit()
        except BaseException:
            await self.db.rollback()
            raise

    async def replace_index(
        self,
        built: BuiltCorpus,
        moves: Sequence[tuple[str, str]],
        info: dict[str, str],
        assemble: Callable[[], Awaitable[Index]],
    ) -> Index:
        """Store a whole rebuild in one transaction (on any error the old index stays), with its weights.

        Every file's rows go in first, so that assembling the index can let go of each file's counts as it
        goes: the counts are never held twice."""
        async with self._transaction():
            await self._write_files([], built.files, built.terms, replace_all=True)
            index = await assemble()
            await self._write_moves(moves)
            weights = {name: f.arrays for name, f in index.fields.items()}
            await self._write_results(built.terms, index.lexicon, index.duplicate_of, built.corpus.tags, info, weights)
        return index

    async def save(self, update: IndexUpdate) -> int:
        """Write a change in one transaction (on any error the old index stays); the index's new generation.

        The weights' snapshot is not written here (see write_snapshot): the stored one goes stale.
        """
        async with self._transaction():
            await self._write_files(update.removed, update.added, update.terms)
            await self._write_moves(update.moves)
            return await self._write_results(
                update.terms, update.lexicon, update.duplicate_of, update.tags, update.info
            )

    async def _write_files(
        self, removed: list[str], added: list[FilePassages], terms: CorpusTerms, replace_all: bool = False
    ) -> None:
        """Files' rows out and in (every file's out with replace_all); inside `transaction()`."""
        db = self.db
        if replace_all:
            for table in ("chunks", "speeches", "file_terms"):
                await db.execute(f"DELETE FROM {table}")
        for name in removed:
            await db.execute(
                "DELETE FROM chunks WHERE speech_id IN (SELECT id FROM speeches WHERE source_file = ?)", (name,)
            )
            await db.execute("DELETE FROM speeches WHERE source_file = ?", (name,))
            await db.execute("DELETE FROM file_terms WHERE source_file = ?", (name,))
        await db.executemany("INSERT INTO speeches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", _speech_rows(added))
        await db.executemany("INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", _chunk_rows(added))
        marks = ", ".join("?" * (len(TERM_COLUMNS) + 2))
        await db.executemany(f"INSERT INTO file_terms VALUES ({marks})", _term_rows(added, terms))

    async def _write_results(
        self,
        terms: CorpusTerms,
        lexicon: Lexicon,
        duplicate_of: np.ndarray,
        tags: dict[str, str],
        info: dict[str, str],
        fields: dict[str, FieldArrays] | None = None,
    ) -> int:
        """The corpus-wide rows: vocabularies, lexicon, copies, new file tags, meta, and the weights when given
        (else the stored ones go stale); inside `transaction()`. Returns the index's new generation."""
        db = self.db
        generation = int((await self._fetchone("SELECT value FROM meta WHERE key = 'generation'") or ("0",))[0]) + 1
        await db.executemany(
            "INSERT OR REPLACE INTO vocabulary VALUES (?, ?)",
            [(name, v.codes.astype(np.uint64).tobytes()) for name, v in terms.vocabularies.items()],
        )
        await db.execute("DELETE FROM lexicon")
        graph = terms.graph_files
        await db.executemany(
            "INSERT INTO lexicon VALUES (?, ?, ?)", ((w, f, graph.get(w, 0)) for w, f in lexicon.words.items())
        )
        groups = np.asarray(duplicate_of, dtype=np.int64)
        await db.execute(
            "INSERT OR REPLACE INTO passage_arrays VALUES ('duplicate_of', ?, ?)", (str(groups.dtype), groups.tobytes())
        )
        await db.executemany("INSERT OR IGNORE INTO file_tags VALUES (?, ?)", tags.items())
        meta = {**info, "built_at": str(time.time()), "lexicon_total": str(lexicon.total),
                "passages": str(len(groups)), "complete": "1", "generation": str(generation)}  # fmt: skip
        if fields is not None:
            await self._write_fields(fields)
            meta["snapshot"] = str(generation)
        await db.execute("DELETE FROM meta")
        await db.executemany("INSERT INTO meta VALUES (?, ?)", list(meta.items()))
        return generation

    async def write_snapshot(self, fields: dict[str, FieldArrays], generation: int) -> bool:
        """Store the weights of the index of this generation, so start-up reads them instead of assembling
        them from the counts; False (nothing written) when the stored index has moved on meanwhile."""
        async with self._transaction():
            if await self._fetchone("SELECT value FROM meta WHERE key = 'generation'") != (str(generation),):
                return False
            await self._write_fields(fields)
            await self.db.execute("INSERT OR REPLACE INTO meta VALUES ('snapshot', ?)", (str(generation),))
            return True

    async def _write_fields(self, fields: dict[str, FieldArrays]) -> None:
        await self.db.execute("DELETE FROM field_arrays")
        await self.db.executemany("INSERT INTO field_arrays VALUES (?, ?, ?, ?, ?, ?)", _field_rows(fields))

    async def _read_fields(self, passages: int) -> dict[str, FieldArrays]:
        """Each array filled piece by piece into its own buffer, a few pieces in hand at a time."""
        parts: dict[str, dict[str, np.ndarray]] = {}
        async with self.db.execute(
            "SELECT field, part, piece, dtype, length, data FROM field_arrays ORDER BY field, part, piece"
        ) as cursor:
            filled = 0
            while rows := await cursor.fetchmany(4):
                for name, part, piece, dtype, length, blob in rows:
                    if piece == 0:
                        array = parts.setdefault(name, {})[part] = np.empty(length, dtype=dtype)
                        filled = 0
                    values = np.frombuffer(blob, dtype=dtype)
                    array[filled : filled + len(values)] = values
                    filled += len(values)
        return {name: FieldArrays(**arrays, num_docs=passages) for name, arrays in parts.items()}

    async def load_terms(self) -> CorpusTerms:
        """Every file's term counts, the vocabularies and the graph words' counts: what a change starts from."""
        terms = CorpusTerms()
        for name, blob in await self._fetchall("SELECT field, codes FROM vocabulary"):
            terms.vocabularies[name] = Vocabulary(np.frombuffer(blob, dtype=np.uint64))
        columns = ", ".join(column for column, _ in TERM_COLUMNS)
        for row in await self._fetchall(f"SELECT source_file, {columns} FROM file_terms ORDER BY source_file"):
            arrays = {
                column: np.frombuffer(blob, dtype=dtype)
                for (column, dtype), blob in zip(TERM_COLUMNS, row[1:], strict=True)
            }
            counts = {name: TermCounts(arrays[name], arrays[f"{name}_tf"], arrays[f"{name}_sizes"]) for name in FIELDS}
            terms.files[row[0]] = FileTerms(counts, arrays["shingles"], arrays["shingle_sizes"])
        for word, freq, files in await self._fetchall("SELECT word, freq, files FROM lexicon WHERE files > 0"):
            terms.graph_files[word] = files
            terms.freqs[word] = freq
        return terms

    async def load_index(self) -> StoredIndex:
        """The stored index as one generation: read again if another process committed a change meanwhile
        (each change raises the generation), so a half-seen change is never served."""
        for _ in range(LOAD_TRIES - 1):
            stored = await self._load_index()
            if await self.generation() == stored.generation:
                return stored
        return await self._load_index()

    async def _load_index(self) -> StoredIndex:
        info = await self.info()
        speeches = [
            Speech(r[0], r[1], r[2], (), bool(r[3]), about=SpeechFacts(_split(r[4]), _split(r[5]), r[6], r[7], r[8]))
            for r in await self._fetchall(
                "SELECT id, title, source_file, spun, places, mentions, organisation, meeting, derived_title"
                " FROM speeches ORDER BY source_file, file_position"
            )
        ]
        rows = await self._fetchall(
            "SELECT id, speech_id, ordinal, paragraph, section, text, spun, content_key, repaired FROM chunks"
        )
        # Corpus order sorted here: a third of the time of SQLite's join and sort at 100k passages. A passage
        # whose speech is missing comes first, for the consistency check to name.
        speech_order = {s.id: i for i, s in enumerate(speeches)}
        rows.sort(key=lambda r: (speech_order.get(r[1], -1), r[2]))
        chunks = [Chunk(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6]), bool(r[8])) for r in rows]
        dtype, blob = await self._fetchone("SELECT dtype, data FROM passage_arrays WHERE name = 'duplicate_of'")
        lexicon = Lexicon(dict(await self._fetchall("SELECT word, freq FROM lexicon")), int(info["lexicon_total"]))
        fresh = info.get("snapshot") == info.get("generation")
        return StoredIndex(
            speeches,
            chunks,
            None if fresh else await self.load_terms(),
            await self._read_fields(len(chunks)) if fresh else None,
            np.frombuffer(blob, dtype=dtype),
            lexicon,
            [r[7] for r in rows],
            info,
        )

    async def _fetchall(self, sql: str, params: Sequence[object] = ()) -> list[tuple]:
        async with self.db.execute(sql, params) as cursor:
            return [tuple(r) for r in await cursor.fetchall()]

    # --- meaning vectors -----------------------------------------------------

    async def vectors(self, model: str, keys: Sequence[int] | None = None) -> VectorTable:
        """The cached vectors of one model, by text key, float16, as one matrix read a block at a time: every
        one, or those of `keys` (a batch the embedding process stored)."""
        if keys is None:
            count = (await self._fetchone("SELECT COUNT(*) FROM half_vectors WHERE model = ?", (model,)))[0]
            return await self._vector_table(count, "SELECT key, vector FROM half_vectors WHERE model = ?", (model,))
        rows = []
        for start in range(0, len(keys), VECTOR_KEYS_PER_READ):
            part = list(keys[start : start + VECTOR_KEYS_PER_READ])
            rows += await self._fetchall(
                f"SELECT key, vector FROM half_vectors WHERE model = ? AND key IN ({','.join('?' * len(part))})",
                (model, *part),
            )
        return _table_of(rows)

    async def _vector_table(self, count: int, sql: str, params: Sequence[object]) -> VectorTable:
        keys = np.zeros(count, dtype=np.int64)
        matrix: np.ndarray | None = None
        done = 0
        async with self.db.execute(sql, params) as cursor:
            while rows := await cursor.fetchmany(16_384):
                rows = list(rows)[: count - done]  # a writer in another process may have added rows meanwhile
                if matrix is None:
                    matrix = np.zeros((count, len(rows[0][1]) // 2), dtype=np.float16)
                block = np.frombuffer(b"".join(blob for _, blob in rows), dtype=np.float16)
                matrix[done : done + len(rows)] = block.reshape(len(rows), -1)
                keys[done : done + len(rows)] = [key for key, _ in rows]
                done += len(rows)
        if matrix is None:
            matrix = np.zeros((0, 0), dtype=np.float16)
        return VectorTable(keys[:done], matrix[:done])

    async def add_vectors(self, model: str, vectors: Mapping[int, np.ndarray]) -> None:
        """Cache vectors as float16 (a batch commits on its own, so a long embedding job keeps what it has done)."""
        if not vectors:
            return
        await self.db.executemany(
            "INSERT OR REPLACE INTO half_vectors VALUES (?, ?, ?)",
            [(model, key, np.asarray(v, dtype=np.float16).tobytes()) for key, v in vectors.items()],
        )
        await self.db.commit()

    async def _halve_vectors(self) -> None:
        """A store written before vectors were kept as float16: convert its float32 table once, then drop it."""
        if not await self._fetchone("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'vectors'"):
            return
        async with self.db.execute("SELECT model, key, vector FROM vectors") as cursor:
            while rows := await cursor.fetchmany(10_000):
                await self.db.executemany(
                    "INSERT OR IGNORE INTO half_vectors VALUES (?, ?, ?)",
                    [(m, k, np.frombuffer(v, dtype=np.float32).astype(np.float16).tobytes()) for m, k, v in rows],
                )
        await self.db.execute("DROP TABLE vectors")

    async def speech_rows(self) -> list[tuple[str, str, str]]:
        async with self.db.execute(
            "SELECT id, title, source_file FROM speeches ORDER BY source_file, file_position"
        ) as cursor:
            return [tuple(r) async for r in cursor]


def _field_rows(fields: dict[str, FieldArrays]) -> Iterator[tuple]:
    for name, arrays in fields.items():
        for part in ARRAY_PARTS:
            array = np.ascontiguousarray(getattr(arrays, part))
            raw = array.data.cast("B")
            for piece, start in enumerate(range(0, max(len(raw), 1), PIECE_BYTES)):
                yield name, part, piece, str(array.dtype), len(array), raw[start : start + PIECE_BYTES]


def _speech_rows(files: Sequence[FilePassages]) -> Iterator[tuple]:
    for record in files:
        for k, s in enumerate(record.speeches):
            about = s.about  # the source's own title is kept: which title is shown depends on the corpus
            source = s.source_title or s.title
            places, mentions = "|".join(about.places), "|".join(about.mentions)
            row = (s.id, s.source_file, k, source, int(s.spun), "", places, mentions)
            yield (*row, about.organisation, about.meeting, about.title)


def _split(joined: str) -> tuple[str, ...]:
    return tuple(joined.split("|")) if joined else ()


def _chunk_rows(files: Sequence[FilePassages]) -> Iterator[tuple]:
    for record in files:
        for c, key in zip(record.chunks, record.content_keys, strict=True):
            yield c.id, c.speech_id, c.ordinal, c.paragraph, c.section, c.text, int(c.spun), key, int(c.repaired)


def _term_rows(files: Sequence[FilePassages], corpus_terms: CorpusTerms) -> Iterator[tuple]:
    for record in files:
        terms = corpus_terms.files[record.name]
        arrays = {"shingles": terms.shingles, "shingle_sizes": terms.shingle_sizes}
        for name in FIELDS:
            counts = terms.counts[name]
            arrays.update({name: counts.ids, f"{name}_tf": counts.tf, f"{name}_sizes": counts.sizes})
        yield (
            record.name,
            terms.passages,
            *(np.ascontiguousarray(arrays[column], dtype=dtype).tobytes() for column, dtype in TERM_COLUMNS),
        )


def _table_of(rows: Sequence[tuple[int, bytes]]) -> VectorTable:
    """Some vectors' rows as a table (keys and one float16 matrix)."""
    if not rows:
        return VectorTable(np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float16))
    matrix = np.frombuffer(b"".join(blob for _, blob in rows), dtype=np.float16).reshape(len(rows), -1)
    return VectorTable(np.array([key for key, _ in rows], dtype=np.int64), matrix.copy())
