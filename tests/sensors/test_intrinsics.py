"""The kernels' LLVM helpers: a borrowed view reads and writes the caller's array and
leaves its reference count alone; a prefetch is only a hint, even past the end."""

from __future__ import annotations

import sys

import numpy as np
from numba import njit

from renkei.sensors.intrinsics import borrowed, prefetch


@njit(cache=False)
def _add_rows(table: np.ndarray, values: np.ndarray) -> int:
    table, values = borrowed(table), borrowed(values)
    total = 0
    for i in range(len(values)):
        prefetch(table, i + 8)          # past the end near the last rows: a hint, not a read
        table[i, 1] += values[i]
        total += table[i, 1]
    return total


def test_borrowed_views_share_the_data_and_leave_the_count_alone() -> None:
    table = np.arange(20, dtype=np.int64).reshape(10, 2)
    values = np.ones(10, np.int64)
    before = sys.getrefcount(table), sys.getrefcount(values)
    for _ in range(100):
        total = _add_rows(table, values)
    assert (sys.getrefcount(table), sys.getrefcount(values)) == before
    assert table[:, 1].tolist() == [2 * i + 1 + 100 for i in range(10)]
    assert total == sum(table[:, 1].tolist())
