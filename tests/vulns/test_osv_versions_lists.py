"""The OSV matcher against explicit ``versions`` lists.

OSV records may carry both ranges and the list of versions those ranges cover. Here the
test makes such records itself: per ecosystem a universe of release versions written
out in their true order by hand (with the orderings that trip matchers up), ranges given
as positions in that universe, and the ``versions`` list computed from the positions —
so the list never depends on the code under test. For every version of the universe,
"in the list" must equal "in the ranges" as the matcher reads them (version comparison
only: the list itself is not given to the matcher). Deliberate disagreements are in
``osv_known_exceptions.txt``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from renkei.vulns.match import affected_by_package
from renkei.vulns.model import AffectedPackage, AffectedRange, Component, EventKind, RangeEvent

UNIVERSES: dict[str, list[str]] = {
    "PyPI": [
        "0.9", "1.0.dev0", "1.0a1", "1.0b1", "1.0rc1", "1.0", "1.0+ubuntu1", "1.0.post1", "1.0.1",
        "1.1", "1.2", "1.10", "2.0rc1", "2.0", "2.0.0.1", "1!0.1",
    ],
    "npm": [
        "0.0.1", "0.9.0", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
        "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.2.0", "1.10.0",
        "2.0.0-0", "2.0.0",
    ],
    "Maven": [
        "1.0-alpha-1", "1.0-beta", "1.0-rc1", "1.0-SNAPSHOT", "1.0", "1.0-sp1", "1.0.1", "1.1",
        "1.10", "2.0-M1", "2.0",
    ],
    "Debian:12": [
        "0.9-1", "1.0~beta1-1", "1.0~rc1-1", "1.0-1", "1.0-1+deb12u1", "1.0-2", "1.0.1-1",
        "1.10-1", "2.0-1", "1:0.5-1", "1:1.0-1",
    ],
    "Go": [
        "0.0.0-20190101000000-aaaaaaaaaaaa", "0.1.0", "1.0.0-rc.1", "1.0.0", "1.2.3", "1.10.0",
        "2.0.0+incompatible", "2.1.0+incompatible",
    ],
    "RubyGems": ["1.0.0.a", "1.0.0.pre", "1.0.0.rc1", "1.0.0", "1.0.0.1", "1.0.1", "1.10.0"],
    "NuGet": ["1.0.0-alpha", "1.0.0-beta", "1.0.0", "1.0.0.1", "1.0.1", "1.10.0"],
    "Alpine:v3.18": ["1.0_alpha1-r0", "1.0_rc1-r0", "1.0-r0", "1.0-r1", "1.0.1-r0", "1.10-r0"],
    "crates.io": ["0.1.0-alpha", "0.1.0", "0.2.0", "0.10.0", "1.0.0-beta.1", "1.0.0"],
    "Rocky Linux:9": ["1.0~rc1-1.el9", "1.0-1.el9", "1.0-1.el9_1", "1.0-2.el9", "1.0.1-1.el9", "1:0.1-1.el9"],
}  # fmt: skip

# (introduced position or None for "0", end position or None, end kind) — positions in
# the universe; the end is exclusive for "fixed", inclusive for "last_affected".
Interval = tuple[int | None, int | None, str]
SHAPES: dict[str, list[Interval]] = {
    "from-start": [(None, 5, "fixed")],
    "two-pairs": [(1, 3, "fixed"), (6, 9, "fixed")],
    "last-affected": [(2, 4, "last_affected")],
    "open-ended": [(4, None, "fixed")],
    "adjoining": [(None, 3, "fixed"), (3, 6, "fixed")],
}


@dataclass(frozen=True)
class Case:
    ecosystem: str
    name: str
    package: AffectedPackage
    listed: frozenset[str]


def build_cases() -> list[Case]:
    cases = []
    for eco, universe in UNIVERSES.items():
        n = len(universe)
        for shape, intervals in SHAPES.items():
            events: list[RangeEvent] = []
            listed: set[str] = set()
            for lo, hi, kind in intervals:
                lo_i = 0 if lo is None else min(lo, n - 1)
                hi_i = None if hi is None else min(hi, n - 1)
                events.append(RangeEvent(EventKind.INTRODUCED, "0" if lo is None else universe[lo_i]))
                if hi_i is not None:
                    events.append(RangeEvent(EventKind(kind), universe[hi_i]))
                stop = n if hi_i is None else hi_i + (1 if kind == "last_affected" else 0)
                listed.update(universe[lo_i:stop])
            # publish the events out of order: the matcher must sort them
            events.reverse()
            name = f"{shape}-pkg"
            rng = AffectedRange("ECOSYSTEM", tuple(events))
            pkg = AffectedPackage(eco, name, ranges=(rng,))
            cases.append(Case(eco, name, pkg, frozenset(listed)))
    # As osv.dev publishes it (PYSEC-2023-61): the list holds pre-releases of the
    # introduced version, which the spec's order puts before it.
    pkg = AffectedPackage(
        "PyPI",
        "osvdev-style",
        ranges=(AffectedRange("ECOSYSTEM", (RangeEvent(EventKind.INTRODUCED, "1.0"), RangeEvent(EventKind.FIXED, "1.1"))),),
    )
    cases.append(Case("PyPI", "osvdev-style", pkg, frozenset({"1.0rc1", "1.0", "1.0+ubuntu1", "1.0.post1", "1.0.1"})))
    return cases


def known_exceptions() -> dict[tuple[str, str, str], str]:
    out: dict[tuple[str, str, str], str] = {}
    path = Path(__file__).with_name("osv_known_exceptions.txt")
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        eco, name, version, reason = line.split(maxsplit=3)
        out[(eco, name, version)] = reason
    return out


CASES = build_cases()


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.ecosystem}/{c.name}")
def test_versions_list_equals_ranges(case: Case) -> None:
    exceptions = known_exceptions()
    universe = UNIVERSES[case.ecosystem]
    disagreements = []
    for version in universe:
        component = Component(given=version, version=version, ecosystem=case.ecosystem, name=case.name)
        hit = affected_by_package(case.package, component, "osv:TEST")
        matched = hit is not None and hit.certain
        flagged = hit is not None and not hit.certain
        if flagged or matched != (version in case.listed):
            key = (case.ecosystem, case.name, version)
            if key not in exceptions:
                disagreements.append((version, "listed" if version in case.listed else "not listed", "flagged" if flagged else matched))
    assert disagreements == []


def test_exceptions_are_still_needed() -> None:
    """An entry for a package this test builds must still be a disagreement."""
    by_key = {(c.ecosystem, c.name): c for c in CASES}
    for (eco, name, version), _reason in known_exceptions().items():
        case = by_key.get((eco, name))
        if case is None:
            continue  # found in a real corpus, kept for the record
        component = Component(given=version, version=version, ecosystem=eco, name=name)
        hit = affected_by_package(case.package, component, "osv:TEST")
        assert (hit is not None and hit.certain) != (version in case.listed) or (hit is not None and not hit.certain), (eco, name, version)


def test_every_ecosystem_universe_is_strictly_ordered() -> None:
    from renkei.vulns.versions import version_key

    for eco, universe in UNIVERSES.items():
        keys: list[Any] = [version_key(eco, v) for v in universe]
        assert None not in keys, eco
        for a, b, ka, kb in zip(universe, universe[1:], keys, keys[1:], strict=False):
            assert ka < kb, f"{eco}: {a} < {b}"
