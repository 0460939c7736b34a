"""A corpus's assembled meaning vectors, saved beside the store once complete and read from there at the next start.

Assembling them from the cache (every passage split into sentences, every text hashed, the cache read,
the rows gathered) takes some 15 s at 100k passages, and holds half a gigabyte of rows in the heap. Once
every vector of an index is in, the assembled arrays are written beside the store as .npy files, in a
folder named by the model and a digest of the index's passage texts; a start-up on the same passages reads
the small arrays instead, and the two matrices a question's rows at a time (SavedRows), so the process
holds those rows, not the matrices. A corpus change makes another digest: its vectors are assembled from
the cache again, saved once complete, and the folder of the old passages is deleted."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.ingest.chunking import Chunk
from retrieval.semantic.embeddings import model_slug
from retrieval.semantic.vectors import CorpusVectors, semantic_texts

log = logging.getLogger(__name__)

ARRAYS = ("passages", "has_vector", "sentences", "sentence_chunk", "sentence_number", "passage_keys", "sentence_keys")
# The matrices, read a question's rows at a time (SavedRows); the rest (a few bytes a text) is read whole.
READ_AS_ASKED = ("passages", "sentences")
# Passages whose texts are made again and compared with the saved keys at each load: a change in how a
# passage is cut into sentences or folded (new code, same corpus) then shows, and the vectors are assembled.
SPOT_CHECKS = 32


def texts_digest(chunks: Sequence[Chunk]) -> str:
    """What the saved vectors are of: every passage's text and spun flag, in corpus order."""
    joined = "\x1e".join(f"{int(c.spun)}{c.text}" for c in chunks)
    return hashlib.blake2b(joined.encode("utf-8"), digest_size=12).hexdigest()


class SavedVectors:
    """The saved vectors of one store and one model: `load` those of an index's passages, `save` them."""

    def __init__(self, store_path: Path, model_id: str) -> None:
        self.folder = store_path.parent
        self.prefix = f"{store_path.name}.{model_slug(model_id)}.vectors."

    def path(self, digest: str) -> Path:
        return self.folder / (self.prefix + digest)

    def load(self, chunks: Sequence[Chunk]) -> CorpusVectors | None:
        """These passages' complete vectors, read from their files; None when none are saved for them, or
        what is saved does not hold together (it is deleted: they are assembled and saved again)."""
        path = self.path(texts_digest(chunks))
        if not path.is_dir():
            return None
        try:
            arrays = {name: _read(path / f"{name}.npy", name in READ_AS_ASKED) for name in ARRAYS}
            vectors = CorpusVectors(**arrays)
            problem = _inconsistency(vectors, chunks)
        except (OSError, ValueError) as exc:
            problem = f"{exc.__class__.__name__}: {exc}"
        if problem is None:
            return vectors
        log.warning("saved vectors %s not used (%s): assembling them from the cache", path.name, problem)
        shutil.rmtree(path, ignore_errors=True)  # saved again, whole, once assembled
        return None

    def save(self, chunks: Sequence[Chunk], vectors: CorpusVectors) -> bool:
        """Write complete vectors for these passages (once: a folder already there is kept) and delete those
        of other passages. False when nothing was written: vectors still missing, or the disk refused (one
        line in the log; the next start assembles them again)."""
        if not vectors.complete or vectors.passage_keys is None or vectors.sentence_keys is None:
            return False
        path = self.path(texts_digest(chunks))
        if not path.is_dir():
            partial = path.with_name(f"{path.name}.partial-{os.getpid()}")
            try:
                partial.mkdir(parents=True, exist_ok=True)
                for name in ARRAYS:
                    np.save(partial / f"{name}.npy", np.ascontiguousarray(getattr(vectors, name)), allow_pickle=False)
                partial.rename(path)
            except OSError as exc:
                shutil.rmtree(partial, ignore_errors=True)
                if not path.is_dir():  # another process may have saved the same ones meanwhile
                    log.warning("could not save the corpus's vectors beside the store (%s)", exc)
                    return False
        self._delete_others(path)
        return True

    def _delete_others(self, kept: Path) -> None:
        """Other passages' saved vectors; a process serving them keeps them open (the files go when it
        lets go). Another process's save in progress (`.partial-`) is left to finish."""
        for other in self.folder.glob(self.prefix + "*"):
            if other != kept and ".partial-" not in other.name:
                shutil.rmtree(other, ignore_errors=True)


class SavedRows:
    """A saved matrix whose rows are read when asked for, with pread: the file's pages stay in the kernel's
    page cache (shared, dropped under memory pressure) and the process holds only the rows a question uses.

    Mapping the file instead made every page it touched part of the process's resident memory, and the
    kernel maps the cached pages around each one touched (fault-around, 64 KB; MADV_RANDOM does not stop
    it): 1,000 random rows made 79 MB resident, and at 100k passages the whole 367 MB sentence matrix was
    within 50 questions. Indexed as an array is, by row numbers or a mask; consecutive rows come in one read.
    """

    def __init__(self, path: Path) -> None:
        with path.open("rb") as file:
            version = np.lib.format.read_magic(file)
            if version != (1, 0):
                raise ValueError(f"{path.name}: .npy format {version}, saved as 1.0")
            shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(file)
            offset = file.tell()
        if fortran_order or dtype.hasobject or len(shape) != 2:
            raise ValueError(f"{path.name}: not a plain matrix")
        self.shape: tuple[int, int] = (int(shape[0]), int(shape[1]))
        self.dtype = dtype
        self._offset = offset
        self._row_bytes = self.shape[1] * dtype.itemsize
        if path.stat().st_size != offset + self.shape[0] * self._row_bytes:
            raise ValueError(f"{path.name}: {path.stat().st_size} bytes for {self.shape[0]} rows")
        self._fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        weakref.finalize(self, os.close, self._fd)  # the file may be deleted meanwhile: the rows stay readable

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows: np.ndarray | int) -> np.ndarray:
        wanted = np.asarray(rows)
        if wanted.ndim == 0:  # one row, as a vector
            return self[wanted.reshape(1)][0]
        if wanted.dtype == np.bool_:
            wanted = np.flatnonzero(wanted)
        wanted = wanted.astype(np.int64, copy=False).ravel()
        wanted = np.where(wanted < 0, wanted + self.shape[0], wanted)  # from the end, as numpy counts
        if len(wanted) and (wanted.min() < 0 or wanted.max() >= self.shape[0]):
            raise IndexError(f"rows outside -{self.shape[0]}..{self.shape[0] - 1}")
        unique, inverse = np.unique(wanted, return_inverse=True)
        block = np.empty((len(unique), self.shape[1]), dtype=self.dtype)
        if not len(unique):
            return block
        buffer = block.data.cast("B")
        run_starts = np.flatnonzero(np.diff(unique, prepend=-2) != 1)
        run_ends = np.append(run_starts[1:], len(unique))
        for first, end in zip(run_starts.tolist(), run_ends.tolist(), strict=True):
            size = (end - first) * self._row_bytes
            read = os.preadv(
                self._fd,
                [buffer[first * self._row_bytes : end * self._row_bytes]],
                self._offset + int(unique[first]) * self._row_bytes,
            )
            if read != size:
                raise OSError(f"saved vectors cut short: {read} of {size} bytes")
        return block[inverse]

    def __array__(self, dtype: np.dtype | None = None, copy: bool | None = None) -> np.ndarray:
        whole = self[np.arange(self.shape[0])]
        return whole if dtype is None else whole.astype(dtype)


def _read(path: Path, as_asked: bool) -> Any:
    return SavedRows(path) if as_asked else np.load(path, allow_pickle=False)


def _inconsistency(vectors: CorpusVectors, chunks: Sequence[Chunk]) -> str | None:
    """What does not fit these passages in saved vectors, or None."""
    n = len(chunks)
    passage_keys, sentence_keys = vectors.passage_keys, vectors.sentence_keys
    assert passage_keys is not None and sentence_keys is not None  # load() reads both
    if not (len(vectors.passages) == len(vectors.has_vector) == len(passage_keys) == n):
        return f"{len(vectors.passages)} passage rows for {n} passages"
    sentences = len(vectors.sentences)
    if not (len(vectors.sentence_chunk) == len(vectors.sentence_number) == len(sentence_keys) == sentences):
        return "sentence arrays of different lengths"
    if not vectors.complete:
        return "vectors missing"
    starts, ends = vectors.sentence_runs
    for at in np.unique(np.linspace(0, n - 1, min(SPOT_CHECKS, n)).astype(np.int64)).tolist():
        texts = semantic_texts(chunks[at], at)
        held = [int(passage_keys[at]), *sentence_keys[starts[at] : ends[at]].tolist()]
        if [t.key for t in texts] != held:
            return f"passage {at}'s texts are not those saved"
    return None
