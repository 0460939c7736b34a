"""Approximate nearest neighbours of a question among the corpus's passage or sentence vectors (usearch HNSW).

A question's meaning candidates come from here instead of a product with every vector: at 100k passages
the sentence vectors alone are half a million rows. The index is keyed by text key (content, as the
vector cache is), so it outlives reindexes: a change adds the new texts' keys and removes those no longer
in the corpus, and the index is saved beside the store, because building it takes far longer than
loading it (about 14 s per 100k vectors on 2 cores against 0.2 s to load). Its vectors are int8 (unit
vectors' components scaled by 127): a shortlist only; the caller re-scores it exactly with its float16 rows.
A saved index that needs no change is mapped from its file, not read into memory: a search touches a few
thousand of its pages, so the serving process's memory holds those, not the whole index.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import numpy as np
from usearch.index import Index as HNSW

from retrieval.semantic.rows import Rows

log = logging.getLogger(__name__)

CONNECTIVITY = 16
EXPANSION_ADD = 128
EXPANSION_SEARCH = 128
# How often a growing index (the embedding job adds a batch at a time) is written out; always when complete.
SAVE_EVERY_S = 60.0
# Below this many vectors to add, one thread: the build is then deterministic and takes well under a second.
PARALLEL_FROM = 20_000


def _as_keys(keys: np.ndarray) -> np.ndarray:
    """Text keys are signed 64-bit (SQLite's integers); usearch's are unsigned: the same bits."""
    return np.ascontiguousarray(keys, dtype=np.int64).view(np.uint64)


def _within(keys: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """Per key, whether the sorted keys hold it."""
    if not len(sorted_keys):
        return np.zeros(len(keys), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return sorted_keys[at] == keys


def _search_widely(index: HNSW) -> None:
    """The file does not keep how widely to search (it reads back usearch's 64): set it as built."""
    index.expansion_search = EXPANSION_SEARCH  # type: ignore[misc]  # usearch has the setter; its stub misses it


class Neighbours:
    """One HNSW index over texts' vectors, keyed by text key; searches and changes are serialised."""

    def __init__(self, dim: int, path: Path | None = None) -> None:
        self.dim = dim
        self.path = path
        self._lock = threading.Lock()
        self._saved_at = 0.0
        self._dirty = False
        self._viewed = False  # mapped from its file, read-only: a change loads it into memory first
        self._index = self._open()

    def _open(self) -> HNSW:
        if self.path is not None and self.path.is_file():
            try:
                index = HNSW.restore(str(self.path), view=True)
                if index is not None and index.ndim == self.dim:
                    _search_widely(index)
                    self._saved_at = time.monotonic()
                    self._viewed = True
                    return index
                log.warning("neighbour index %s is for another model's vectors: building it again", self.path)
            except Exception as exc:  # a torn or foreign file: the vectors are in the store, build anew
                log.warning("neighbour index %s unreadable (%s): building it again", self.path, exc)
        return HNSW(
            ndim=self.dim,
            metric="ip",
            dtype="i8",
            connectivity=CONNECTIVITY,
            expansion_add=EXPANSION_ADD,
            expansion_search=EXPANSION_SEARCH,
        )

    def __len__(self) -> int:
        return len(self._index)

    def sync(self, keys: np.ndarray, rows: Rows, complete: bool = True) -> tuple[int, int]:
        """Make the index hold exactly these keys (rows: their vectors): add the ones it lacks, remove the
        ones no longer wanted. Returns (added, removed); writes the file when something changed."""
        order = np.argsort(_as_keys(keys), kind="stable")
        ukeys = _as_keys(keys)[order]
        first = np.ones(len(ukeys), dtype=bool)
        first[1:] = ukeys[1:] != ukeys[:-1]  # one row per key (copies share a text)
        ukeys, urows = ukeys[first], order[first]  # the keys wanted, sorted, each once
        with self._lock:
            present = np.sort(
                np.asarray(self._index.keys, dtype=np.uint64) if len(self._index) else np.zeros(0, np.uint64)
            )
            # Membership by binary search in the sorted keys: np.unique, setdiff1d and isin took 0.3 s of a
            # 100k corpus's start-up for an index that needed no change.
            stale = present[~_within(present, ukeys)]
            new = ~_within(ukeys, present)
            if (len(stale) or new.any()) and self._viewed:
                loaded = HNSW.restore(str(self.path))  # into memory, where it can change
                if loaded is None:
                    raise OSError(f"neighbour index {self.path} vanished while mapped")
                _search_widely(loaded)
                self._index, self._viewed = loaded, False
            if len(stale):
                self._index.remove(stale)
            if new.any():
                vectors = np.ascontiguousarray(rows[urows[new]], dtype=np.float16)
                threads = 0 if int(new.sum()) >= PARALLEL_FROM else 1
                self._index.add(ukeys[new], vectors, threads=threads)
            changed = bool(len(stale) or new.any())
            self._dirty = self._dirty or changed
            if self._dirty and (complete or time.monotonic() - self._saved_at > SAVE_EVERY_S):
                self._save()
        return int(new.sum()), len(stale)

    def _save(self) -> None:
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(self.path.name + ".tmp")
            self._index.save(str(tmp))
            tmp.replace(self.path)
            self._dirty = False
            self._saved_at = time.monotonic()
        except OSError as exc:  # a full disk: the index serves from memory and is built again next start
            log.warning("could not write the neighbour index %s (%s)", self.path, exc)

    def search(self, query: np.ndarray, count: int) -> np.ndarray:
        """The keys of (about) the `count` nearest vectors, nearest first."""
        with self._lock:
            if not len(self._index) or count <= 0:
                return np.zeros(0, np.int64)
            found = self._index.search(np.asarray(query, dtype=np.float32), min(count, len(self._index)))
        return np.asarray(found.keys, dtype=np.uint64).view(np.int64)
