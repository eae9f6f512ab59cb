"""A run's findings, kept as event columns and made into ``Finding`` objects when read.

A national darknet's day holds tens of thousands of scanners; as ``Finding`` objects
(datetimes, an address, four lists each) they weigh about 1 KB apiece, as event columns
about 100 bytes. So the scanner and backscatter findings stay columns, and iterating
makes them a few thousand at a time: a caller that writes them out (JSON Lines, the
store) never holds them all. Rises and campaigns are few and kept as objects. Each read
makes fresh objects, in the order scanners, backscatter, then the rest.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import overload

from renkei.sensors.analyse import Thresholds, backscatter_findings, scanner_findings
from renkei.sensors.events import Events
from renkei.sensors.findings import Finding, SensorSizes
from renkei.sensors.research import ResearchScanners

CHUNK = 4_096
_THRESHOLDS = Thresholds()


class LazyFindings(Sequence[Finding]):
    """Scanner and backscatter findings of chosen events, then ``rest`` (see the module)."""

    def __init__(self, scanners: Events, backscatter: Events, rest: Sequence[Finding] = (), *,
                 sizes: SensorSizes | None = None, thresholds: Thresholds = _THRESHOLDS,
                 research: ResearchScanners | None = None) -> None:
        self._scanners = scanners
        self._backscatter = backscatter
        self._rest = list(rest)
        self._sizes = sizes
        self._thresholds = thresholds
        self._research = research

    def __len__(self) -> int:
        return len(self._scanners) + len(self._backscatter) + len(self._rest)

    def _made(self, start: int, stop: int) -> list[Finding]:
        """The findings at positions start … stop - 1 (within bounds)."""
        out: list[Finding] = []
        scanners, backscatter = len(self._scanners), len(self._backscatter)
        if start < scanners:
            chosen = self._scanners.take(slice(start, min(stop, scanners)))
            out += scanner_findings(chosen, self._thresholds, self._research)
        low, high = max(start - scanners, 0), min(stop - scanners, backscatter)
        if low < high:
            chosen = self._backscatter.take(slice(low, high))
            out += backscatter_findings(chosen, self._sizes, self._thresholds)
        first = scanners + backscatter
        out += self._rest[max(start - first, 0):max(stop - first, 0)]
        return out

    def __iter__(self) -> Iterator[Finding]:
        for start in range(0, len(self), CHUNK):
            yield from self._made(start, start + CHUNK)

    @overload
    def __getitem__(self, index: int) -> Finding: ...
    @overload
    def __getitem__(self, index: slice) -> list[Finding]: ...

    def __getitem__(self, index: int | slice) -> Finding | list[Finding]:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step == 1:
                return self._made(start, max(start, stop))
            return [self[i] for i in range(start, stop, step)]
        position = index + len(self) if index < 0 else index
        if not 0 <= position < len(self):
            raise IndexError("finding index out of range")
        return self._made(position, position + 1)[0]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str | bytes):
            return NotImplemented
        return len(self) == len(other) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (f"LazyFindings({len(self._scanners)} scanner, {len(self._backscatter)} "
                f"backscatter, {len(self._rest)} more)")
