"""The cache's vectors as one matrix still behave as the dict they replace."""

from __future__ import annotations

import numpy as np

from retrieval.storage.vector_table import VectorTable


def test_a_table_reads_adds_and_removes_as_a_dict() -> None:
    keys = np.array([9, -3, 4], dtype=np.int64)
    matrix = np.arange(6, dtype=np.float16).reshape(3, 2)
    table = VectorTable(keys, matrix)
    plain = {int(k): row for k, row in zip(keys, matrix, strict=True)}
    assert dict(table.items()).keys() == plain.keys() and all(np.array_equal(table[k], plain[k]) for k in plain)
    table.update({5: np.array([7.0, 8.0]), 9: np.array([1.0, 1.0])})  # one new, one replaced
    del table[-3]
    assert len(table) == 3 and set(table) == {9, 4, 5} and -3 not in table and 12 not in table
    assert np.array_equal(table[9], [1.0, 1.0]) and np.array_equal(table[5], [7.0, 8.0])
    rows, found = table.rows_of(np.array([4, -3, 5, 9, 12]))
    assert found.tolist() == [True, False, True, True, False]
    assert rows[0] >= 0 and np.array_equal(table.matrix[rows[0]], plain[4]) and rows[2] == rows[3] == -1
