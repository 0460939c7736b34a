"""The one object the bot and the command line hold: load or build, search, reindex.

Searching reads an immutable Index snapshot; reindexing builds a new one
beside it (off the event loop), writes it to the store in one transaction and
only then swaps the reference, so questions keep being answered from the old
index meanwhile and a failure leaves it serving.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from retrieval import library
from retrieval.build import Progress, build_index
from retrieval.corpus import Corpus, load_corpus
from retrieval.index import Hit, Index
from retrieval.speeches import Speech
from retrieval.store import Store

log = logging.getLogger(__name__)

class ReindexError(RuntimeError):
    """A rebuild that did not replace the index; the message says what failed."""


class ReindexBusy(ReindexError):
    """A rebuild is already running."""


@dataclass(frozen=True)
class ReindexReport:
    speeches: int
    chunks: int
    seconds: float
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ChangeReport:
    """A corpus change that was made: the reindex it took, the speeches it concerned, the files it moved."""

    reindex: ReindexReport
    speeches: list[Speech]
    files: list[str]


class SearchService:
    def __init__(self, store: Store, data_dir: Path) -> None:
        self.store = store
        self.data_dir = data_dir
        self._index: Index | None = None
        self._lock = asyncio.Lock()

    @property
    def index(self) -> Index:
        if self._index is None:
            raise RuntimeError("the search service has not started")
        return self._index

    @property
    def reindexing(self) -> bool:
        return self._lock.locked()

    async def start(self, progress: Progress | None = None) -> ReindexReport | None:
        """Load the stored index; build it from data_dir when there is none (or it is unreadable)."""
        if await self.store.has_index():
            try:
                stored = await self.store.load_index()
                self._index = await asyncio.to_thread(stored.to_index)
                return None
            except Exception:
                log.exception("stored index unreadable; rebuilding from %s", self.data_dir)
        else:
            log.info("no index in %s yet; building it from %s", self.store.path, self.data_dir)
        return await self.reindex(progress)

    async def search(self, question: str, top_k: int = 10) -> list[Hit]:
        index = self.index
        return await asyncio.to_thread(index.search, question, top_k)

    async def reindex(self, progress: Progress | None = None) -> ReindexReport:
        """Rebuild from data_dir; raises ReindexBusy or ReindexError, the old index still serving."""
        async with self._exclusive():
            return await self._rebuild(progress)

    async def add_documents(self, documents: list[tuple[str, bytes]], max_bytes: int) -> ChangeReport:
        """Check, save and index new documents; any refusal (RefusedChange) or failure leaves all as it was."""
        async with self._exclusive():
            checked = []
            for name, data in documents:
                document = await asyncio.to_thread(
                    library.check_document, name, data, self.data_dir, self._index, max_bytes
                )
                if any(c.name == document.name for c in checked):
                    raise library.RefusedChange(library.Refusal.EXISTS, f"{document.name}: given twice")
                checked.append(document)
            written = []
            try:
                for document in checked:
                    written.append(library.write_new(self.data_dir, document))
                report = await self._rebuild(None)
            except BaseException:
                for path in written:
                    path.unlink(missing_ok=True)
                raise
            names = {d.name for d in checked}
            added = [s for s in self.index.speeches.values() if s.source_file in names]
            return ChangeReport(report, added, [d.name for d in checked])

    async def remove_file_of(self, speech_id: str) -> ChangeReport:
        """Move the file holding a speech aside (with every speech in it) and reindex."""
        async with self._exclusive():
            speech = self.index.speeches.get(speech_id)
            if speech is None:
                raise library.RefusedChange(library.Refusal.NOT_FOUND, f"{speech_id}: no such speech")
            gone = [s for s in self.index.speeches.values() if s.source_file == speech.source_file]
            moved = library.move_aside(self.data_dir, speech.source_file)
            try:
                report = await self._rebuild(None)
            except BaseException:
                moved.rename(self.data_dir / speech.source_file)
                raise
            return ChangeReport(report, gone, [speech.source_file])

    async def restore_file(self, source_file: str) -> ChangeReport:
        """Bring a removed file back and reindex."""
        async with self._exclusive():
            restored = library.bring_back(self.data_dir, source_file)
            try:
                report = await self._rebuild(None)
            except BaseException:
                restored.rename(self.data_dir / library.REMOVED_DIR / restored.name)
                raise
            back = [s for s in self.index.speeches.values() if s.source_file == restored.name]
            return ChangeReport(report, back, [restored.name])

    def removed_files(self) -> list[str]:
        return library.removed_files(self.data_dir)

    @asynccontextmanager
    async def _exclusive(self) -> AsyncIterator[None]:
        """One corpus change at a time; a second is told so at once instead of queueing."""
        if self._lock.locked():
            raise ReindexBusy("a reindex is already running")
        async with self._lock:
            yield

    async def _rebuild(self, progress: Progress | None) -> ReindexReport:
        started = time.perf_counter()
        try:
            corpus, index = await asyncio.to_thread(self._build, progress)
            await self.store.replace_index(index, {"data_dir": str(self.data_dir)})
        except ReindexError:
            raise
        except Exception as exc:
            log.exception("reindex failed")
            raise ReindexError(f"reindex failed, the previous index stays: {exc}") from exc
        self._index = index
        return ReindexReport(len(corpus.speeches), len(corpus.chunks), time.perf_counter() - started, corpus.problems)

    def _build(self, progress: Progress | None) -> tuple[Corpus, Index]:
        if not self.data_dir.is_dir():
            raise ReindexError(f"data folder {self.data_dir} does not exist; the previous index stays")
        corpus = load_corpus(self.data_dir)
        if not corpus.chunks:
            detail = "; ".join(corpus.problems) or "no *.txt files"
            raise ReindexError(f"no speeches found in {self.data_dir} ({detail}); the previous index stays")
        return corpus, build_index(corpus.speeches, corpus.chunks, progress)
