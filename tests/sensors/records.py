"""PACKET rows written by hand for the analysis tests: one builder instead of one per file."""

from __future__ import annotations

import ipaddress
from typing import Any

import numpy as np

from renkei.sensors.model import PACKET

S = 1_000_000_000  # one second in the records' nanoseconds
SYN = 0x02


def ip(text: str) -> tuple[int, int]:
    """(hi, lo) of an address as the record stores it (IPv4 mapped)."""
    value = ipaddress.ip_address(text)
    number = int(value) | (0xFFFF_0000_0000 if value.version == 4 else 0)
    return number >> 64, number & (2**64 - 1)


def build(n: int | None = None, *, start: int = 0, step: int = S, probe: bool = False,
          version_from_src: bool = True, **columns: Any) -> np.ndarray:
    """PACKET rows: each column a scalar or a list; ``src``/``dst`` as address text.

    Rows are ``step`` apart from ``start``; ``probe`` makes them TCP SYNs to port 23 by
    default; ``version_from_src`` sets 6 for IPv6 sources unless ``version`` is given."""
    sizes = [len(v) for v in columns.values() if isinstance(v, list | tuple | np.ndarray)]
    n = n if n is not None else (sizes[0] if sizes else 1)
    out = np.zeros(n, PACKET)
    out["ts"] = start + np.arange(n, dtype=np.int64) * step
    out["version"], out["count"], out["length"], out["ttl"] = 4, 1, 40, 64
    if probe:
        out["proto"], out["tcp_flags"], out["dport"], out["sport"] = 6, SYN, 23, 40000
    columns.setdefault("src", "198.51.100.1")
    columns.setdefault("dst", "203.0.113.1")
    for name, value in columns.items():
        if name in ("src", "dst"):
            texts = list(value) if isinstance(value, list | tuple) else [value] * n
            out[f"{name}_hi"] = [ip(t)[0] for t in texts]
            out[f"{name}_lo"] = [ip(t)[1] for t in texts]
            if name == "src" and version_from_src and "version" not in columns:
                out["version"] = [6 if ":" in t else 4 for t in texts]
        else:
            out[name] = value
    return out
