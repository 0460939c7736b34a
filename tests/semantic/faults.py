"""Meaning models with an injected fault, given as choices: the embedding process loads them by pickling,
so they live in a module it can import (not in a test file)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from retrieval.semantic.choice import EmbedderChoice
from retrieval.semantic.embeddings import Embedder


class _Wrapped:
    """A real model for questions; passages go through `passages` first."""

    def __init__(self, model: Embedder, gate: Any = None, fail: bool = False) -> None:
        self.model, self.gate, self.fail = model, gate, fail
        self.model_id, self.dim = model.model_id, model.dim

    def embed_query(self, text: str) -> np.ndarray:
        return self.model.embed_query(text)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if self.fail:
            raise OSError("model weights unreadable")
        if self.gate is not None:
            assert self.gate.wait(120), "the test never opened the gate"
        return self.model.embed_passages(texts)


@dataclass(frozen=True)
class PassagesFail(EmbedderChoice):
    """Embedding passages fails, as a damaged model file or no memory would; questions embed."""

    def load(self) -> Embedder:
        return _Wrapped(super().load(), fail=True)


@dataclass(frozen=True)
class HeldPassages(EmbedderChoice):
    """Passages wait for `gate` (a multiprocessing Event) before they embed: the test looks at the
    embedding process while it runs."""

    gate: Any = field(default=None, compare=False)

    def load(self) -> Embedder:
        return _Wrapped(super().load(), gate=self.gate)
