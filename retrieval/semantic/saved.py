"""A corpus's assembled meaning vectors, saved beside the store once complete and mapped at the next start.

Assembling them from the cache (every passage split into sentences, every text hashed, the cache read,
the rows gathered) takes some 15 s at 100k passages, and holds half a gigabyte of rows in the heap. Once
every vector of an index is in, the assembled arrays are written beside the store as .npy files, in a
folder named by the model and a digest of the index's passage texts; a start-up on the same passages
reads the small arrays and maps the two matrices read-only instead. A question reads only its candidates'
rows, so the process holds those pages, not the matrices. A corpus change makes another digest: its vectors are assembled from the cache again,
saved once complete, and the folder of the old passages is deleted.
"""

from __future__ import annotations

import hashlib
import logging
import math
import mmap
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from retrieval.ingest.chunking import Chunk
from retrieval.semantic.embeddings import model_slug
from retrieval.semantic.vectors import CorpusVectors, semantic_texts

log = logging.getLogger(__name__)

ARRAYS = ("passages", "has_vector", "sentences", "sentence_chunk", "sentence_number", "passage_keys", "sentence_keys")
# The matrices, mapped: a question reads its candidates' rows. The rest (a few bytes a text) is read whole.
MAPPED = ("passages", "sentences")
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
        """These passages' complete vectors, mapped from their files; None when none are saved for them, or
        what is saved does not hold together (it is deleted: they are assembled and saved again)."""
        path = self.path(texts_digest(chunks))
        if not path.is_dir():
            return None
        try:
            arrays = {name: _read(path / f"{name}.npy", mapped=name in MAPPED) for name in ARRAYS}
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
        """Other passages' saved vectors; a process serving them keeps its mapping (the files go when it
        lets go). Another process's save in progress (`.partial-`) is left to finish."""
        for other in self.folder.glob(self.prefix + "*"):
            if other != kept and ".partial-" not in other.name:
                shutil.rmtree(other, ignore_errors=True)


def _read(path: Path, mapped: bool) -> np.ndarray:
    """One saved array; `mapped`: read-only from the file's pages, told the kernel they are read at random,
    so a question's few rows do not pull in the 128 KB around each (read-ahead made the whole sentence
    matrix resident within a few hundred questions)."""
    if not mapped:
        return np.load(path, allow_pickle=False)
    with path.open("rb") as file:
        version = np.lib.format.read_magic(file)
        if version != (1, 0):
            raise ValueError(f"{path.name}: .npy format {version}, saved as 1.0")
        shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(file)
        if fortran_order or dtype.hasobject:
            raise ValueError(f"{path.name}: not a plain array")
        offset = file.tell()
        pages = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
    if hasattr(mmap, "MADV_RANDOM"):
        pages.madvise(mmap.MADV_RANDOM)
    count = math.prod(shape)
    return np.frombuffer(pages, dtype=dtype, count=count, offset=offset).reshape(shape)


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
