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
from dataclasses import dataclass, field
from pathlib import Path

from retrieval.corpus import Corpus, load_corpus
from retrieval.index import Hit, Index, Progress, build_index
from retrieval.store import Store
from retrieval.text import init_tokenizer

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
        await asyncio.to_thread(init_tokenizer)
        if await self.store.has_index():
            try:
                stored = await self.store.load_index()
                self._index = await asyncio.to_thread(
                    Index, stored.speeches, stored.chunks, stored.terms, stored.duplicate_of
                )
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
        if self._lock.locked():
            raise ReindexBusy("a reindex is already running")
        async with self._lock:
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
            return ReindexReport(
                len(corpus.speeches), len(corpus.chunks), time.perf_counter() - started, corpus.problems
            )

    def _build(self, progress: Progress | None) -> tuple[Corpus, Index]:
        init_tokenizer()
        if not self.data_dir.is_dir():
            raise ReindexError(f"data folder {self.data_dir} does not exist; the previous index stays")
        corpus = load_corpus(self.data_dir)
        if not corpus.chunks:
            detail = "; ".join(corpus.problems) or "no *.txt files"
            raise ReindexError(f"no speeches found in {self.data_dir} ({detail}); the previous index stays")
        return corpus, build_index(corpus.speeches, corpus.chunks, progress)
