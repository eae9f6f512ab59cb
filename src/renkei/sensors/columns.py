"""Contiguous per-field copies of a ``PACKET`` array, taken in cache-sized blocks.

A ``PACKET`` record is 76 packed bytes, so reading one field of a large array drags every
cache line of it through memory: twenty field reads cost twenty passes. Copying the wanted
fields one block at a time reads the array once (the block stays in cache while its fields
are copied), about four times faster, and the analysers then work on dense arrays.
Everything that takes ``packets`` accepts a structured array or ``Columns``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from renkei.sensors.model import PACKET

BLOCK = 1 << 15


class Columns:
    """Named contiguous columns of one batch; ``columns["proto"]`` like a structured array."""

    __slots__ = ("_data", "_rows")

    def __init__(self, packets: np.ndarray, names: Iterable[str] | None = None,
                 block: int = BLOCK) -> None:
        wanted = list(PACKET.names or ()) if names is None else list(names)
        rows = len(packets)
        self._rows = rows
        self._data = {name: np.empty(rows, packets.dtype[name]) for name in wanted}
        for begin in range(0, rows, block):
            part = packets[begin:begin + block]
            for name in wanted:
                self._data[name][begin:begin + block] = part[name]

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> Columns:
        """Columns over existing equal-length arrays (no copy)."""
        self = cls.__new__(cls)
        self._data = dict(arrays)
        self._rows = len(next(iter(arrays.values()))) if arrays else 0
        return self

    def __getitem__(self, name: str) -> np.ndarray:
        return self._data[name]

    def __len__(self) -> int:
        return self._rows

    def __contains__(self, name: object) -> bool:
        return name in self._data


#: What the analysers take: a ``PACKET`` array or its ``Columns``.
Packets = np.ndarray | Columns


def as_columns(packets: Packets, names: Iterable[str]) -> Columns:
    """``packets`` itself when already ``Columns``, else the named fields copied out."""
    return packets if isinstance(packets, Columns) else Columns(packets, names)
