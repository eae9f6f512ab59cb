"""Known research scanners (Censys, Shodan, university projects …): label, do not alarm.

The list is the user's: a YAML mapping of name to prefixes, or a text file of
``prefix name`` lines (``#`` starts a comment). IPv4 and IPv6 prefixes mix freely.
Lines that make no sense are kept in ``problems`` with their line number; the rest is used.

Lookup is vectorised: prefixes are flattened at load time into sorted, disjoint ranges
(the most specific prefix wins where they nest; identical prefixes share their names), so
one ``np.searchsorted`` over the addresses finds every owner. IPv4-mapped addresses
(``hi`` = 0) take a plain uint64 search; the rare IPv6 ones a structured (hi, lo) search.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import yaml

from renkei.sensors.model import IPV4_MAPPED

I32 = npt.NDArray[np.int32]
_PAIR = np.dtype([("hi", "<u8"), ("lo", "<u8")])
_MASK64 = (1 << 64) - 1


def _range(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> tuple[int, int]:
    start = int(network.network_address)
    if network.version == 4:
        start |= int(IPV4_MAPPED)
    return start, start + network.num_addresses - 1


def _flatten(owners: dict[tuple[int, int], tuple[str, ...]]) -> list[tuple[int, int, tuple[str, ...]]]:
    """Disjoint ranges, each owned by the innermost prefix covering it (prefixes nest or are apart)."""
    out: list[tuple[int, int, tuple[str, ...]]] = []
    stack: list[tuple[int, int, tuple[str, ...]]] = []
    cursor = 0

    def close_until(point: int | None) -> None:
        nonlocal cursor
        while stack and (point is None or stack[-1][1] < point):
            _, end, names = stack.pop()
            if cursor <= end:
                out.append((cursor, end, names))
            cursor = end + 1

    for start, end in sorted(owners, key=lambda r: (r[0], -r[1])):
        close_until(start)
        if stack and cursor < start:
            out.append((cursor, start - 1, stack[-1][2]))
        cursor = start
        stack.append((start, end, owners[(start, end)]))
    close_until(None)
    return out


@dataclass(slots=True)
class ResearchScanners:
    """Address ranges of known research scanners, searchable over numpy address columns."""

    labels: list[tuple[str, ...]] = field(default_factory=list)     # per range: its names
    problems: list[str] = field(default_factory=list)
    _starts: np.ndarray = field(default_factory=lambda: np.zeros(0, _PAIR))
    _ends: np.ndarray = field(default_factory=lambda: np.zeros(0, _PAIR))
    _v4_count: int = 0      # ranges starting with hi == 0 come first

    @classmethod
    def from_mapping(cls, entries: Mapping[str, Iterable[str]], problems: list[str] | None = None,
                     ) -> ResearchScanners:
        owners: dict[tuple[int, int], tuple[str, ...]] = {}
        problems = list(problems or [])
        for name, prefixes in entries.items():
            for prefix in prefixes:
                try:
                    network = ipaddress.ip_network(str(prefix).strip(), strict=False)
                except ValueError as error:
                    problems.append(f"{name}: {error}")
                    continue
                key = _range(network)
                if name not in owners.get(key, ()):
                    owners[key] = (*owners.get(key, ()), str(name))
        ranges = _flatten(owners)
        starts = np.zeros(len(ranges), _PAIR)
        ends = np.zeros(len(ranges), _PAIR)
        starts["hi"] = [s >> 64 for s, _, _ in ranges]
        starts["lo"] = [s & _MASK64 for s, _, _ in ranges]
        ends["hi"] = [e >> 64 for _, e, _ in ranges]
        ends["lo"] = [e & _MASK64 for _, e, _ in ranges]
        return cls(labels=[names for _, _, names in ranges], problems=problems, _starts=starts,
                   _ends=ends, _v4_count=int(np.count_nonzero(starts["hi"] == 0)))

    @classmethod
    def parse(cls, text: str, *, yaml_format: bool = False) -> ResearchScanners:
        """From YAML (``name: [prefix, …]``) or from ``prefix name`` lines."""
        if yaml_format:
            try:
                data = yaml.safe_load(text) or {}
            except yaml.YAMLError as error:
                return cls(problems=[f"not YAML: {error}"])
            if not isinstance(data, dict):
                return cls(problems=["expected a mapping of scanner name to prefixes"])
            entries = {str(k): [v] if isinstance(v, str) else list(v or []) for k, v in data.items()}
            return cls.from_mapping(entries)
        found: dict[str, list[str]] = {}
        problems: list[str] = []
        for number, line in enumerate(text.splitlines(), 1):
            words = line.split("#", 1)[0].split(None, 1)
            if not words:
                continue
            if len(words) < 2:
                problems.append(f"line {number}: expected 'prefix name'")
                continue
            try:
                ipaddress.ip_network(words[0], strict=False)
            except ValueError as error:
                problems.append(f"line {number}: {error}")
                continue
            found.setdefault(words[1].strip(), []).append(words[0])
        return cls.from_mapping(found, problems)

    @classmethod
    def load(cls, path: str | Path) -> ResearchScanners:
        path = Path(path)
        return cls.parse(path.read_text(encoding="utf-8"),
                         yaml_format=path.suffix.lower() in {".yaml", ".yml"})

    def __len__(self) -> int:
        return len(self.labels)

    def lookup(self, hi: np.ndarray, lo: np.ndarray) -> I32:
        """Per address: the index into ``labels`` of the range holding it, or -1."""
        hi = np.asarray(hi, dtype=np.uint64)
        lo = np.asarray(lo, dtype=np.uint64)
        found = np.full(len(hi), -1, dtype=np.int32)
        if not len(self.labels) or not len(hi):
            return found
        position = np.empty(len(hi), dtype=np.intp)
        v4 = hi == 0
        position[v4] = np.searchsorted(self._starts["lo"][: self._v4_count], lo[v4], side="right") - 1
        other = np.flatnonzero(~v4)
        if len(other):
            keys = np.zeros(len(other), _PAIR)
            keys["hi"], keys["lo"] = hi[other], lo[other]
            position[other] = np.searchsorted(self._starts, keys, side="right") - 1
        inside = position >= 0
        end = self._ends[np.maximum(position, 0)]
        inside &= (hi < end["hi"]) | ((hi == end["hi"]) & (lo <= end["lo"]))
        found[inside] = position[inside]
        return found

    def names(self, hi: int, lo: int) -> list[str]:
        """The names for one address (for building one finding)."""
        index = int(self.lookup(np.array([hi], np.uint64), np.array([lo], np.uint64))[0])
        return list(self.labels[index]) if index >= 0 else []
