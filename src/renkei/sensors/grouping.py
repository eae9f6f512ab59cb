"""Group rows by several integer key columns fast: a packed LSD radix sort in plain numpy.

numpy's ``argsort``/``lexsort`` are slow on 64-bit keys (``lexsort`` of four keys over five
million rows takes about two seconds), while its value ``sort`` is SIMD-fast. So each
key column is rebased to its minimum and cut to the bits it needs (a column constant in
the batch, such as the ``::ffff:`` of IPv4-mapped addresses, needs none), the pieces are
packed into as few 64-bit words as fit beside the row number, and each word is sorted as
``word << b | row`` values, least significant word first (the row number in the low
``b`` bits makes each pass stable). An IPv4 (source, sensor, protocol, port, class) key
takes two passes. The key columns of each group are then decoded from the sorted words
instead of gathered row by row.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]
IntP = npt.NDArray[np.intp]
Bools = npt.NDArray[np.bool_]
_LOW32 = np.uint64(0xFFFF_FFFF)


@dataclass(frozen=True, slots=True)
class _Part:
    """A key column, or its top or bottom 32 bits, rebased to its minimum."""

    name: str
    values: np.ndarray | None   # narrowest unsigned type; None: constant in the batch
    base: int
    bits: int
    shift: int                  # where the part sits in the column (0, or 32 for a top half)


def _parts(name: str, column: np.ndarray) -> list[_Part]:
    low, high = int(column.min()), int(column.max())
    if high - low < 1 << 32:
        if high == low:
            return [_Part(name, None, low, 0, 0)]
        bits = (high - low).bit_length()
        narrow = np.uint8 if bits <= 8 else np.uint16 if bits <= 16 else np.uint32
        if column.dtype.itemsize == 8:
            values = (column - column.dtype.type(low)).astype(narrow)
        else:
            # the minimum as the column's own type: a Python int above the narrow type
            # (ports 3389 and 3390 rebased to uint8) is refused by NumPy 2, where the
            # column's type is cast to the narrow one and the difference wraps exactly
            values = np.subtract(column, column.dtype.type(low), dtype=narrow)
        return [_Part(name, values, low, bits, 0)]
    column = column.astype(np.uint64, copy=False)
    top = [dataclasses.replace(p, shift=32) for p in _parts(name, column >> np.uint64(32))]
    return [*top, *_parts(name, column & _LOW32)]


@dataclass(slots=True)
class _Word:
    value: U64
    layout: list[tuple[_Part, int]]     # each part with its bit offset in the word


def _pack(parts: list[_Part], budget: int) -> list[_Word]:
    """Varying parts (most significant first) packed into as few ``budget``-bit words as fit."""
    words: list[_Word] = []
    used = 0
    for part in reversed([p for p in parts if p.values is not None]):
        assert part.values is not None
        if not words or used + part.bits > budget:
            words.append(_Word(part.values.astype(np.uint64), [(part, 0)]))
            used = part.bits
        else:
            words[-1].value |= part.values << np.uint64(used)
            words[-1].layout.append((part, used))
            used += part.bits
    return words[::-1]


def row_bits(rows: int) -> int:
    return max(1, (rows - 1).bit_length())


def stable_order(words: list[U64], rows: int, start: IntP | None = None) -> tuple[IntP, list[U64]]:
    """Row order sorting ``words`` (most significant first), stable from ``start``.

    Returns the order and each word in that order. A word holds at most
    ``64 - row_bits(rows)`` bits.
    """
    order = start
    shift = np.uint64(row_bits(rows))
    mask = np.uint64((1 << int(shift)) - 1)
    position = np.arange(rows, dtype=np.uint64)
    top: U64 | None = None
    for word in reversed(words):
        packed = word << shift if order is None else np.left_shift(word[order], shift)
        packed |= position
        packed.sort()
        top = packed >> shift
        index = np.bitwise_and(packed, mask, out=packed).view(np.intp)
        order = index if order is None else order[index]
    if order is None:
        order = np.arange(rows, dtype=np.intp)
    in_order = [] if top is None else [top]
    return order, in_order + [word[order] for word in words[1:]]


def time_order(ts: I64) -> IntP | None:
    """An order by time, or None when ``ts`` is already in order.

    Sorted at microsecond resolution when the span fits beside the row number (ties keep
    row order, so callers take min/max for first and last), else by ``argsort``.
    """
    if len(ts) < 2 or not bool(np.any(ts[1:] < ts[:-1])):
        return None
    return _time_order(ts, 64 - row_bits(len(ts)))


def _time_order(ts: I64, budget: int) -> IntP:
    micro = ((ts - ts.min()) // 1000).astype(np.uint64)
    if int(micro.max()).bit_length() > budget:
        return np.argsort(ts, kind="stable")
    return stable_order([micro], len(ts))[0]


@dataclass(slots=True)
class Grouping:
    """Rows sorted by key: ``order``, and ``changes`` True where the key differs from the row before."""

    order: IntP
    changes: Bools
    _parts: list[_Part]
    _words: list[_Word]
    _sorted: list[U64]

    def keys(self, positions: IntP) -> dict[str, U64]:
        """The key columns (as uint64) at the given positions of the sorted rows."""
        values = [word[positions] for word in self._sorted]
        out = {part.name: np.zeros(len(positions), np.uint64) for part in self._parts}
        for part in self._parts:
            if part.values is None:
                out[part.name] |= np.uint64(part.base % (1 << 64)) << np.uint64(part.shift)
        for word, value in zip(self._words, values, strict=True):
            for part, offset in word.layout:
                field = np.right_shift(value, np.uint64(offset))
                field &= np.uint64((1 << part.bits) - 1)
                field += np.uint64(part.base % (1 << 64))   # negative bases wrap back
                if part.shift:
                    field <<= np.uint64(part.shift)
                out[part.name] |= field
        return out


def group(keys: Mapping[str, np.ndarray], rows: int, start: IntP | None = None) -> Grouping:
    """Sort rows by ``keys`` (first most significant; unsigned or non-negative integers)."""
    if rows >= 1 << 32:
        raise ValueError("a batch holds fewer than 2**32 rows; split it")
    parts = [part for name, column in keys.items() for part in _parts(name, column)]
    words = _pack(parts, 64 - row_bits(rows))
    order, in_order = stable_order([w.value for w in words], rows, start)
    changes = np.zeros(rows, dtype=bool)
    if rows:
        changes[0] = True
    for value in in_order:
        changes[1:] |= value[1:] != value[:-1]
    return Grouping(order, changes, parts, words, in_order)


def distinct_per_group(starts: IntP, rows: int, columns: list[np.ndarray], order: IntP) -> U64:
    """How many distinct value tuples of ``columns`` each group holds.

    ``order`` puts the rows in group order; group ``i`` is sorted rows ``starts[i]`` up to
    the next start. Values are numbered densely first when they and the group number do
    not fit in 64 bits together (IPv6).
    """
    groups = len(starts)
    varying = [dataclasses.replace(p, values=p.values[order])
               for i, column in enumerate(columns) for p in _parts(str(i), column)
               if p.values is not None]
    if not varying:
        return np.ones(groups, np.uint64)
    gbits = row_bits(groups)
    vbits = sum(p.bits for p in varying)
    if vbits + gbits > 64:
        numbering = group({str(i): p.values for i, p in enumerate(varying)
                           if p.values is not None}, rows)
        value = np.empty(rows, np.uint64)
        value[numbering.order] = np.cumsum(numbering.changes, dtype=np.uint64)
        vbits = row_bits(int(value.max()) + 1)
    else:
        value = _pack(varying, 64)[0].value
    combined = np.repeat(np.arange(groups, dtype=np.uint64) << np.uint64(vbits),
                         np.diff(starts, append=rows))
    combined |= value
    combined.sort()
    first = np.ones(rows, dtype=bool)
    first[1:] = combined[1:] != combined[:-1]
    owner = (combined[first] >> np.uint64(vbits)).astype(np.intp)
    return np.bincount(owner, minlength=groups).astype(np.uint64)
