"""What a matrix of vectors must offer the search, whether it is held in memory or read from a saved file."""

from __future__ import annotations

from typing import Protocol

import numpy as np


class Rows(Protocol):
    """A matrix of vectors as the search reads it: its shape, and the rows at some numbers (or a mask) as an
    array. An array in memory, or the saved matrix read as asked (retrieval/semantic/saved.py)."""

    @property
    def shape(self) -> tuple[int, ...]: ...

    def __len__(self) -> int: ...

    def __getitem__(self, rows: np.ndarray, /) -> np.ndarray: ...
