"""A model's cached vectors as one float16 matrix and its sorted keys, behaving as a dict by text key.

At 100k passages the cache holds about 580k vectors: as a dict of small arrays they cost some 500 MB of
Python objects beyond their 440 MB of numbers, and the heap they leave behind stays with the process.
Here they are one matrix; vectors added later (the embedding job's batches) sit in a small dict beside it.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping

import numpy as np


class VectorTable(MutableMapping[int, np.ndarray]):
    def __init__(self, keys: np.ndarray, matrix: np.ndarray) -> None:
        order = np.argsort(keys, kind="stable")
        self.keys_sorted = np.ascontiguousarray(keys[order], dtype=np.int64)
        self.matrix = matrix if bool((order == np.arange(len(order))).all()) else matrix[order]
        self._removed: set[int] = set()
        self._added: dict[int, np.ndarray] = {}

    def rows_of(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For many keys at once: the matrix row of each (-1 where the matrix lacks it) and a mask of
        those found in the matrix or added since."""
        keys = np.asarray(keys, dtype=np.int64)
        at = np.searchsorted(self.keys_sorted, keys)
        at = np.minimum(at, max(len(self.keys_sorted) - 1, 0))
        found = (self.keys_sorted[at] == keys) if len(self.keys_sorted) else np.zeros(len(keys), dtype=bool)
        if self._removed:
            found &= ~np.isin(keys, np.fromiter(self._removed, dtype=np.int64, count=len(self._removed)))
        rows = np.where(found, at, -1)
        if self._added:
            added = np.isin(keys, np.fromiter(self._added, dtype=np.int64, count=len(self._added)))
            rows = np.where(added, -1, rows)
            found |= added
        return rows, found

    def _row(self, key: int) -> int:
        at = int(np.searchsorted(self.keys_sorted, key))
        if at < len(self.keys_sorted) and self.keys_sorted[at] == key and key not in self._removed:
            return at
        return -1

    def __getitem__(self, key: int) -> np.ndarray:
        if key in self._added:
            return self._added[key]
        row = self._row(key)
        if row < 0:
            raise KeyError(key)
        return self.matrix[row]

    def __setitem__(self, key: int, value: np.ndarray) -> None:
        self._added[key] = np.asarray(value, dtype=np.float16)

    def __delitem__(self, key: int) -> None:
        if key in self._added:
            del self._added[key]
        elif self._row(key) >= 0:
            self._removed.add(key)
        else:
            raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, int) and (key in self._added or self._row(key) >= 0)

    def __iter__(self) -> Iterator[int]:
        for key in self.keys_sorted.tolist():
            if key not in self._removed and key not in self._added:
                yield key
        yield from self._added

    def __len__(self) -> int:
        matrix = len(self.keys_sorted) - len(self._removed)
        return matrix + sum(1 for key in self._added if self._row(key) < 0)
