"""Corpus changes as transactions: rebuild everything, add documents, move a file aside, bring one back.

Each change is checked before anything is written, then applied to the files,
then indexed and stored in one transaction; a failure puts the files back and
leaves the stored index as it was. A change to one file analyses only that
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
    FilePassages,
    Progress,
    analysis_key,
    analyze_file,
    build_corpus,
    graph_words_of,
)
from retrieval.lexical.index import Index
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

    # --- the weights' snapshot ---------------------------------------------

    @property
    def snapshot_due(self) -> bool:
        return self._unsaved is not None

    def snapshot_later(self, index: Index, generation: int) -> None:
        """Note that the store lacks this index's weights (it was assembled from counts)."""
        self._unsaved = (index, generation)

    async def write_snapshot(self) -> None:
        """Store the weights of the index last changed, unless the store has moved on since."""
        if self._unsaved is None:
            return
        index, generation = self._unsaved
        self._unsaved = None
        if not await self.store.write_snapshot(_weights(index), generation):
            log.info("index snapshot of generation %d skipped: the store has moved on", generation)

    # --- whole rebuilds ----------------------------------------------------

    async def rebuild(self, progress: Progress | None = None) -> tuple[Index, ReindexReport]:
        """Index every file of the data folder anew; raises ReindexError, the stored index unchanged.

        Files' rows are written before the corpus is assembled (in the same transaction), so that
        assembling can let go of each file's counts as it goes: the counts are never held twice.
        """
        started = time.perf_counter()
        store = self.store
        try:
            known = await store.file_tags()
            built = await asyncio.to_thread(self._build, known, progress)
            async with store.transaction():
                await store.write_files([], built.files, built.terms, replace_all=True)
                index = await asyncio.to_thread(built.assemble, ())
                await store.write_results(
                    built.terms, index.lexicon, index.duplicate_of, built.corpus.tags, self._info(), _weights(index)
                )
            self._unsaved = None
        except ReindexError:
            raise
        except Exception as exc:
            log.exception("reindex failed")
            raise ReindexError(f"reindex failed, the previous index stays: {exc}") from exc
        report = ReindexReport(
            len(index.speeches), len(index.chunks), time.perf_counter() - started, built.corpus.problems
        )
        return index, report

    def _build(self, known: dict[str, str], progress: Progress | None) -> BuiltCorpus:
        if not self.data_dir.is_dir():
            raise ReindexError(f"data folder {self.data_dir} does not exist; the previous index stays")
        try:
            built = build_corpus(self.data_dir, known, progress)
        except TagError as exc:
            raise ReindexError(f"{exc}; the previous index stays") from exc
        if not built.corpus.chunks:
            detail = "; ".join(built.corpus.problems) or "no *.txt files"
            raise ReindexError(f"no speeches found in {self.data_dir} ({detail}); the previous index stays")
        return built

    def _info(self) -> dict[str, str]:
        """What the stored index records of how it was made (a change by other rules rebuilds instead)."""
        return {"data_dir": str(self.data_dir), "analysis": analysis_key()}

    def _update(
        self, terms: CorpusTerms, index: Index, removed: list[str], added: list[FilePassages], tags: dict[str, str]
    ) -> IndexUpdate:
        return IndexUpdate(removed, added, terms, index.lexicon, index.duplicate_of, tags, self._info())

    # --- one file at a time ------------------------------------------------

    async def add_documents(
        self, index: Index | None, documents: list[tuple[str, bytes]], max_bytes: int
    ) -> tuple[Index, ChangeReport]:
        """Check, save and index new documents; any refusal (RefusedChange) or failure leaves all as it was."""
        checked: list[folder.CheckedDocument] = []
        for name, data in documents:
            document = await asyncio.to_thread(folder.check_document, name, data, self.data_dir, index, max_bytes)
            if any(c.name == document.name for c in checked):
                raise folder.RefusedChange(folder.Refusal.EXISTS, f"{document.name}: given twice")
            checked.append(document)
        written: list[Path] = []
        try:
            for document in checked:
                written.append(folder.write_new(self.data_dir, document))
            new_index, report = await self._change(index, [], [d.name for d in checked])
        except BaseException:
            for path in written:
                path.unlink(missing_ok=True)
            raise
        names = {d.name for d in checked}
        added = [s for s in new_index.speeches.values() if s.source_file in names]
        return new_index, ChangeReport(report, added, [d.name for d in checked])

    async def remove_file_of(self, index: Index, speech_id: str) -> tuple[Index, ChangeReport]:
        """Move the file holding a speech aside (with every speech in it) and reindex."""
        speech = index.speeches.get(speech_id)
        if speech is None:
            raise folder.RefusedChange(folder.Refusal.NOT_FOUND, f"{speech_id}: no such speech")
        gone = [s for s in index.speeches.values() if s.source_file == speech.source_file]
        moved = folder.move_aside(self.data_dir, speech.source_file)
        try:
            new_index, report = await self._change(index, [speech.source_file], [])
        except BaseException:
            moved.rename(self.data_dir / speech.source_file)
            raise
        return new_index, ChangeReport(report, gone, [speech.source_file])

    async def restore_file(self, index: Index, source_file: str) -> tuple[Index, ChangeReport]:
        """Bring a removed file back (its speeches keep their old ids) and reindex."""
        restored = folder.bring_back(self.data_dir, source_file)
        try:
            new_index, report = await self._change(index, [], [restored.name])
        except BaseException:
            restored.rename(self.data_dir / folder.REMOVED_DIR / restored.name)
            raise
        back = [s for s in new_index.speeches.values() if s.source_file == restored.name]
        return new_index, ChangeReport(report, back, [restored.name])

    def removed_files(self) -> list[str]:
        return folder.removed_files(self.data_dir)

    async def _change(self, index: Index | None, removed: list[str], added: list[str]) -> tuple[Index, ReindexReport]:
        """Index the data folder after files were removed from it or added to it (already done on disk).

        Only those files are analysed; with no stored index, or one whose analyses were made by other
        rules (another user dictionary, say), everything is rebuilt instead.
        """
        started = time.perf_counter()
        info = await self.store.info()
        if index is None or info.get("analysis") != analysis_key() or not await self.store.has_index():
            return await self.rebuild()
        try:
            known = await self.store.file_tags()
            terms = await self.store.load_terms()
            new_index, files, tags = await asyncio.to_thread(self._apply, index, terms, known, removed, added)
            self.snapshot_later(new_index, await self.store.save(self._update(terms, new_index, removed, files, tags)))
        except ReindexError:
            raise
        except Exception as exc:
            log.exception("corpus change failed")
            raise ReindexError(f"reindex failed, the previous index stays: {exc}") from exc
        report = ReindexReport(len(new_index.speeches), len(new_index.chunks), time.perf_counter() - started)
        return new_index, report

    def _apply(
        self, index: Index, terms: CorpusTerms, known: dict[str, str], removed: list[str], added: list[str]
    ) -> tuple[Index, list[FilePassages], dict[str, str]]:
        """The index with these files out and in, analysing only the files coming in."""
        files = _files_of(index)
        if set(files) != set(terms.files):
            raise ReindexError("the stored index does not match the one serving; run a full reindex")
        for name in removed:
            terms.remove(name, graph_words_of(files.pop(name).chunks))
        tags = file_tags([*files, *added], known)
        new_files = []
        for name in added:
            analysis = analyze_file((self.data_dir / name, tags[name]))
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
            keep=added,
        )
        return new_index, new_files, {name: tags[name] for name in added}


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
