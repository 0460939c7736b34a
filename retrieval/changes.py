"""Corpus changes as transactions: rebuild everything, add documents, move a file aside, bring one back.

Each change runs under the change lock (retrieval/storage/lock.py, taken by
the caller) and is checked before anything is written. New documents are
staged under hidden names, the index is made from the folder as the change
will leave it and stored in one transaction together with the renames the
change makes; only then are the files renamed into place. A failure before
the commit removes what was staged and leaves folder and store as they were;
a process that dies after it leaves renames that the next change (or start)
finishes (`recover`). A change to one file analyses only that
file: the other files' term counts, fingerprints and graph words come from the
store, and the corpus-wide results (BM25 weights, copies, lexicon) are
assembled again from them, so the index equals what a full rebuild would give
(tests/storage/test_changes.py compares the two).

The caller (SearchService) runs one change at a time and swaps in the index a
change returns; the index it passes in is the one serving.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from retrieval.ingest import folder
from retrieval.ingest.corpus import TagError, file_tags
from retrieval.ingest.speeches import Speech
from retrieval.lexical.bm25 import FieldArrays
from retrieval.lexical.build import (
    BuiltCorpus,
    CorpusTerms,
    FileJob,
    FilePassages,
    Progress,
    analysis_key,
    analyze_file,
    build_corpus,
    graph_words_of,
)
from retrieval.lexical.index import Index
from retrieval.resources import is_shipped
from retrieval.storage.store import IndexUpdate, Store

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


class CorpusChanges:
    """The data folder and the stored index, changed together."""

    def __init__(self, store: Store, data_dir: Path) -> None:
        self.store = store
        self.data_dir = data_dir
        self._unsaved: tuple[Index, int] | None = None  # an index whose weights the store lacks, its generation
        self._storing: asyncio.Task[None] | None = None
        # One change at a time in this process (across processes: the service's ChangeLock); storing the
        # weights takes it too, so a change never finds its index's weights half written.
        self.lock = asyncio.Lock()

    async def recover(self) -> None:
        """Finish the renames of a change that died after its commit; drop what one that died before staged.

        Run with the change lock held, before a change reads the folder.
        """
        moves = [folder.Move(source, target) for source, target in await self.store.pending_moves()]
        await asyncio.to_thread(folder.finish_moves, self.data_dir, moves)
        await asyncio.to_thread(folder.discard_staged, self.data_dir, [])
        if moves:
            await self.store.clear_moves()
            log.warning("finished %d file moves of a corpus change that stopped after it was stored", len(moves))

    # --- the weights' snapshot ---------------------------------------------

    def snapshot_later(self, index: Index, generation: int) -> None:
        """Note that the store lacks this index's weights (it was assembled from counts)."""
        self._unsaved = (index, generation)

    def store_weights_soon(self) -> None:
        """Store the weights noted, in the background, once the change that noted them has let go of the lock."""
        if self._unsaved is not None:
            self._storing = asyncio.create_task(self._store_weights(), name="store-weights")

    async def settle(self) -> None:
        """Wait until the weights noted are stored (a command that changed the corpus, before it exits)."""
        if self._storing is not None:
            await self._storing

    async def _store_weights(self) -> None:
        """The store writes them only if no other process has changed the index since; a change that got the
        lock first leaves its own weights to store."""
        if self.lock.locked() or self._unsaved is None:
            return
        try:
            async with self.lock:
                index, generation = self._unsaved
                self._unsaved = None
                if not await self.store.write_snapshot(_weights(index), generation):
                    log.info("index snapshot of generation %d skipped: the store has moved on", generation)
        except Exception:
            log.warning("could not store the index's weights; the next start-up assembles them", exc_info=True)

    # --- whole rebuilds ----------------------------------------------------

    async def rebuild(
        self, progress: Progress | None = None, moves: list[folder.Move] | None = None
    ) -> tuple[Index, ReindexReport]:
        """Index every file of the data folder anew (as `moves` will leave it); raises ReindexError, the stored
        index unchanged. The moves are stored with the index, for the caller to make.

        Files' rows are written before the corpus is assembled (in the same transaction), so that
        assembling can let go of each file's counts as it goes: the counts are never held twice.
        """
        started = time.perf_counter()
        store = self.store
        moves = moves or []
        try:
            known = await store.file_tags()
            built = await asyncio.to_thread(self._build, known, progress, moves)
            index = await store.replace_index(
                built,
                [(m.source, m.target) for m in moves],
                self._info(),
                lambda: asyncio.to_thread(built.assemble, ()),
            )
            self._unsaved = None
        except ReindexError:
            raise
        except Exception as exc:
            _log_failure("reindex failed", exc)
            raise ReindexError(f"reindex failed, the previous index stays: {_reason(exc)}") from exc
        report = ReindexReport(
            len(index.speeches), len(index.chunks), time.perf_counter() - started, built.corpus.problems
        )
        return index, report

    def _build(self, known: dict[str, str], progress: Progress | None, moves: list[folder.Move]) -> BuiltCorpus:
        if not self.data_dir.is_dir():
            raise ReindexError(f"data folder {self.data_dir} does not exist; the previous index stays")
        try:
            built = build_corpus(self.data_dir, known, progress, entries=folder.corpus_after(self.data_dir, moves))
        except TagError as exc:
            raise ReindexError(f"{exc}; the previous index stays") from exc
        if not built.corpus.chunks:
            detail = "; ".join(built.corpus.problems) or "no *.txt files"
            raise ReindexError(f"no speeches found in {self.data_dir} ({detail}); the previous index stays")
        return built

    def _info(self) -> dict[str, str]:
        """What the stored index records of how it was made (a change by other rules rebuilds instead)."""
        return {"data_dir": str(self.data_dir.resolve()), "analysis": analysis_key()}

    def _update(
        self,
        terms: CorpusTerms,
        index: Index,
        removed: list[str],
        added: list[FilePassages],
        tags: dict[str, str],
        moves: list[folder.Move],
    ) -> IndexUpdate:
        renames = [(m.source, m.target) for m in moves]
        return IndexUpdate(removed, added, terms, index.lexicon, index.duplicate_of, tags, self._info(), moves=renames)

    # --- one file at a time ------------------------------------------------

    async def add_documents(
        self, index: Index | None, documents: list[tuple[str, bytes]], max_bytes: int
    ) -> tuple[Index, ChangeReport]:
        """Check, stage and index new documents; any refusal (RefusedChange) or failure leaves all as it was."""
        _refuse_shipped(self.data_dir)
        checked: list[folder.CheckedDocument] = []
        for name, data in documents:
            document = await asyncio.to_thread(folder.check_document, name, data, self.data_dir, index, max_bytes)
            if any(c.name == document.name for c in checked):
                raise folder.RefusedChange(folder.Refusal.EXISTS, f"{document.name}: given twice")
            checked.append(document)
        moves: list[folder.Move] = []
        try:
            for document in checked:
                moves.append(await asyncio.to_thread(folder.stage, self.data_dir, document.name, document.data))
            new_index, report = await self._change(index, [], moves)
        except Exception as exc:
            folder.unstage(self.data_dir, moves)  # not stored: nothing of the change is left
            if isinstance(exc, OSError):
                raise ReindexError(f"nothing added: {_reason(exc)}") from exc
            raise
        # A cancellation (the bot stopping) may come after the commit: what it staged is left for recover().
        await self._finish(moves)
        names = {d.name for d in checked}
        added = [s for s in new_index.speeches.values() if s.source_file in names]
        return new_index, ChangeReport(report, added, [d.name for d in checked])

    async def remove_file_of(self, index: Index, speech_id: str) -> tuple[Index, ChangeReport]:
        """Move the file holding a speech aside (with every speech in it) and reindex."""
        _refuse_shipped(self.data_dir)
        speech = index.speeches.get(speech_id)
        if speech is None:
            raise folder.RefusedChange(folder.Refusal.NOT_FOUND, f"{speech_id}: no such speech")
        gone = [s for s in index.speeches.values() if s.source_file == speech.source_file]
        move = folder.removal(self.data_dir, speech.source_file)
        new_index, report = await self._change(index, [speech.source_file], [move])
        await self._finish([move])
        return new_index, ChangeReport(report, gone, [speech.source_file])

    async def restore_file(self, index: Index, source_file: str) -> tuple[Index, ChangeReport]:
        """Bring a removed file back (its speeches keep their old ids) and reindex."""
        _refuse_shipped(self.data_dir)
        move = folder.restoration(self.data_dir, source_file)
        new_index, report = await self._change(index, [], [move])
        await self._finish([move])
        back = [s for s in new_index.speeches.values() if s.source_file == move.target]
        return new_index, ChangeReport(report, back, [move.target])

    def removed_files(self) -> list[str]:
        return folder.removed_files(self.data_dir)

    async def _finish(self, moves: list[folder.Move]) -> None:
        """Make the stored change's renames, then forget them."""
        await asyncio.to_thread(folder.finish_moves, self.data_dir, moves)
        await self.store.clear_moves()

    async def _change(
        self, index: Index | None, removed: list[str], moves: list[folder.Move]
    ) -> tuple[Index, ReindexReport]:
        """Index the data folder as this change leaves it: `removed` files out, the moves' targets in.

        Only those files are analysed; with no stored index, or one whose analyses were made by other
        rules (another user dictionary, say), everything is rebuilt instead.
        """
        started = time.perf_counter()
        info = await self.store.info()
        if index is None or info.get("analysis") != analysis_key() or not await self.store.has_index():
            return await self.rebuild(moves=moves)
        added = [m for m in moves if "/" not in m.target]
        try:
            known = await self.store.file_tags()
            terms = await self.store.load_terms()
            new_index, files, tags = await asyncio.to_thread(self._apply, index, terms, known, removed, added)
            update = self._update(terms, new_index, removed, files, tags, moves)
            self.snapshot_later(new_index, await self.store.save(update))
        except ReindexError:
            raise
        except Exception as exc:
            _log_failure("corpus change failed", exc)
            raise ReindexError(f"reindex failed, the previous index stays: {_reason(exc)}") from exc
        report = ReindexReport(len(new_index.speeches), len(new_index.chunks), time.perf_counter() - started)
        return new_index, report

    def _apply(
        self,
        index: Index,
        terms: CorpusTerms,
        known: dict[str, str],
        removed: list[str],
        added: list[folder.Move],
    ) -> tuple[Index, list[FilePassages], dict[str, str]]:
        """The index with these files out and in, analysing only the files coming in (read where they wait)."""
        files = _files_of(index)
        if set(files) != set(terms.files):
            raise ReindexError("the stored index does not match the one serving; run a full reindex")
        for name in removed:
            terms.remove(name, graph_words_of(files.pop(name).chunks))
        tags = file_tags([*files, *(m.target for m in added)], known)
        new_files = []
        for move in added:
            name = move.target
            analysis = analyze_file(FileJob(self.data_dir / move.source, tags[name], name))
            if analysis.codes is None:
                raise ReindexError(analysis.problem or f"{name}: not read")
            terms.look_up(terms.add([(name, analysis.codes)]))
            files[name] = FilePassages(name, analysis.speeches, analysis.chunks, analysis.codes.content_keys)
            new_files.append(files[name])
        terms.sort()
        ordered = [files[name] for name in sorted(files)]
        if not ordered:
            raise ReindexError("that would leave no speech in the corpus; the previous index stays")
        new_index = terms.index(
            [s for f in ordered for s in f.speeches],
            [c for f in ordered for c in f.chunks],
            [k for f in ordered for k in f.content_keys],
            keep=[m.target for m in added],
        )
        return new_index, new_files, {m.target: tags[m.target] for m in added}


def _files_of(index: Index) -> dict[str, FilePassages]:
    """The serving index's passages, file by file."""
    speeches: dict[str, list[Speech]] = {}
    for speech_id in index.speech_order:
        speech = index.speeches[speech_id]
        speeches.setdefault(speech.source_file, []).append(speech)
    chunks: dict[str, list] = {name: [] for name in speeches}
    keys: dict[str, list[int]] = {name: [] for name in speeches}
    for chunk, key in zip(index.chunks, index.content_keys, strict=True):
        name = index.speeches[chunk.speech_id].source_file
        chunks[name].append(chunk)
        keys[name].append(key)
    return {name: FilePassages(name, speeches[name], chunks[name], keys[name]) for name in speeches}


def _weights(index: Index) -> dict[str, FieldArrays]:
    """The index's BM25 weight arrays, as the store keeps them."""
    return {name: field.arrays for name, field in index.fields.items()}


def _refuse_shipped(data_dir: Path) -> None:
    """The files that ship with the code are never changed: a new virtualenv would lose the change."""
    if is_shipped(data_dir):
        raise folder.RefusedChange(
            folder.Refusal.SHIPPED,
            f"{data_dir} holds the files that ship with speechbot and is never changed; set SPEECHBOT_DATA_DIR "
            "(or --data-dir) to a corpus folder of your own, or leave it unset for the one in the user data folder",
        )


# Conditions an operator can act on (a full disk, a read-only folder, a locked store): one line, no traceback.
_CONDITIONS = (OSError, sqlite3.OperationalError)


def _log_failure(what: str, exc: Exception) -> None:
    """A condition is the caller's to report (the ReindexError says it); a bug gets its traceback."""
    if isinstance(exc, _CONDITIONS):
        log.info("%s: %s", what, _reason(exc))
    else:
        log.exception(what)


def _reason(exc: Exception) -> str:
    """An error in words an operator can act on: the disk is full, the folder is read-only."""
    if isinstance(exc, OSError) and exc.strerror:
        where = f" ({Path(exc.filename).name})" if isinstance(exc.filename, str) else ""
        return f"{exc.strerror}{where}"
    return str(exc) or exc.__class__.__name__
