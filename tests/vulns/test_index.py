"""The resident index answers exactly as the one-shot match, and only while it is current."""

from __future__ import annotations

import gc
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from renkei.core.db import Database
from renkei.core.time import FixedClock
from renkei.vulns import service
from renkei.vulns.index import IndexHolder, ResidentIndex, match_components, store_version
from renkei.vulns.ingest import import_records
from renkei.vulns.inventory import parse_inventory
from renkei.vulns.model import (
    Advisory,
    AffectedPackage,
    AffectedRange,
    CpeConfiguration,
    CpeMatch,
    CpeNode,
    EpssScore,
    EventKind,
    KevEntry,
    ProductVersions,
    RangeEvent,
    Record,
    Severity,
    Source,
    VersionBound,
)

T0 = datetime(2026, 3, 1, tzinfo=UTC)
INVENTORY = (b"pkg:pypi/django@4.2.1\n"
             b"pkg:pypi/django@5.0\n"
             b"pkg:pypi/flask@0.9\n"
             b"pkg:npm/lodash@4.17.4\n"
             b"cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:*\n"
             b"cpe:2.3:o:microsoft:windows_10:-:*:*:*:*:*:*:*\n"
             b"cpe:2.3:a:acme:router_os:3.1:*:*:*:*:*:*:*\n"
             b"cpe:2.3:a:example:viewer:1.0:*:*:*:*:*:*:*\n")


def _range(introduced: str, fixed: str) -> tuple[AffectedRange, ...]:
    return (AffectedRange("ECOSYSTEM", (RangeEvent(EventKind.INTRODUCED, introduced),
                                        RangeEvent(EventKind.FIXED, fixed))),)


def corpus() -> list[Record]:
    v3 = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
    return [
        Advisory(source=Source.OSV, id="PYSEC-2026-1", modified=T0, aliases=("CVE-2026-0001",),
                 severities=(Severity("CVSS_V3", v3),),
                 packages=(AffectedPackage("PyPI", "Django", ranges=_range("4.2", "4.2.8")),)),
        # a second source about the same CVE: merged into one finding with both sources
        Advisory(source=Source.NVD, id="CVE-2026-0001", modified=T0,
                 severities=(Severity("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N",
                                      5.3),),
                 packages=(AffectedPackage("PyPI", "django", ranges=_range("4.0", "4.2.9")),)),
        Advisory(source=Source.OSV, id="GHSA-aaaa-bbbb-cccc", modified=T0,
                 packages=(AffectedPackage("npm", "lodash", ranges=_range("0", "4.17.12")),)),
        Advisory(source=Source.OSV, id="PYSEC-2026-9", modified=T0, withdrawn=T0,
                 packages=(AffectedPackage("PyPI", "flask", ranges=_range("0", "1.0")),)),
        Advisory(source=Source.NVD, id="CVE-2026-0002", modified=T0,
                 configurations=(CpeConfiguration(nodes=(CpeNode("OR", (CpeMatch(
                     "cpe:2.3:a:apache:http_server:*:*:*:*:*:*:*:*",
                     version_start_including="2.4.0", version_end_excluding="2.4.50"),)),)),)),
        # AND with a platform that is not vulnerable itself
        Advisory(source=Source.NVD, id="CVE-2026-0003", modified=T0,
                 configurations=(CpeConfiguration(operator="AND", nodes=(
                     CpeNode("OR", (CpeMatch("cpe:2.3:a:acme:router_os:*:*:*:*:*:*:*:*",
                                             version_end_including="3.2"),)),
                     CpeNode("OR", (CpeMatch("cpe:2.3:o:microsoft:windows_10:-:*:*:*:*:*:*:*",
                                             vulnerable=False),)))),)),
        Advisory(source=Source.JVN, id="JVNDB-2026-000001", modified=T0,
                 aliases=("CVE-2026-0004", "CVE-2026-0005"),
                 products=(ProductVersions("example", "viewer", text="1.2 より前",
                                           upper=VersionBound("1.2", False)),)),
        KevEntry(cve="CVE-2026-0002", vendor="Apache", product="HTTP Server", name="traversal",
                 date_added=T0),
        EpssScore(cve="CVE-2026-0001", epss=0.42, percentile=0.9),
    ]


def _json(findings: list[service.Finding]) -> list[dict[str, object]]:
    return [f.as_json() for f in findings]


def test_the_resident_index_finds_what_the_one_shot_match_finds(
        db_session: Session, clock: FixedClock) -> None:
    import_records(db_session, clock, corpus())
    components = parse_inventory(INVENTORY, "inventory.txt").components
    one_shot = _json(service.match_components(db_session, components))
    index = ResidentIndex.build(db_session)
    assert _json(index.findings(components)) == one_shot
    found = {(f["component"], f["vulnerability"]) for f in one_shot}
    assert found == {
        ("pkg:pypi/django@4.2.1", "CVE-2026-0001"),
        ("pkg:npm/lodash@4.17.4", "GHSA-aaaa-bbbb-cccc"),
        ("cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:*", "CVE-2026-0002"),
        ("cpe:2.3:a:acme:router_os:3.1:*:*:*:*:*:*:*", "CVE-2026-0003"),
        ("cpe:2.3:a:example:viewer:1.0:*:*:*:*:*:*:*", "CVE-2026-0004"),
        ("cpe:2.3:a:example:viewer:1.0:*:*:*:*:*:*:*", "CVE-2026-0005"),
    }  # the withdrawn flask record finds nothing; django 5.0 is fixed
    assert len(index.facts) == 6



# The same component twice at two places, a purl the shortcut reads and one it leaves to
# packageurl (qualifiers), an unknown version, a CPE without one, and a JVN record of two
# CVEs: every path from hits to findings (one hit, merged hits, several vulnerabilities).
AWKWARD = (b"pkg:pypi/Django@4.2.1\n"
           b"pkg:pypi/django@4.2.1?repository_url=https://mirror.example/simple\n"
           b"pkg:pypi/django\n"
           b"pkg:npm/lodash@4.17.4\n"
           b"cpe:2.3:a:apache:http_server:*:*:*:*:*:*:*:*\n"
           b"cpe:2.3:a:example:viewer:1.1:*:*:*:*:*:*:*\n")


def test_every_finding_path_agrees_between_the_index_and_the_one_shot_match(
        db_session: Session, clock: FixedClock) -> None:
    import_records(db_session, clock, corpus())
    components = parse_inventory(AWKWARD, "inventory.txt").components
    components.append(replace(components[-1], location="another.txt:9"))
    one_shot = _json(service.match_components(db_session, components))
    index = ResidentIndex.build(db_session)
    try:
        assert _json(index.findings(components)) == one_shot
        assert _json(index.findings(components)) == one_shot  # nothing kept from the first
        hits = index.matcher.match(components)  # Hit objects: the same findings
        assert _json(service.assemble(hits, index.facts, index.notes)) == one_shot
    finally:
        gc.unfreeze()
    merged = [f for f in one_shot if f["vulnerability"] == "CVE-2026-0001"]
    assert {str(f["sources"]) for f in merged} == {"['osv:PYSEC-2026-1', 'nvd:CVE-2026-0001']"}
    assert len([f for f in one_shot if str(f["component"]).startswith("cpe:2.3:a:example")]) == 4
    assert any(not f["certain"] for f in one_shot)  # the versionless purl and the ANY CPE

def test_the_index_is_used_only_while_it_reflects_the_store(empty_database_url: str) -> None:
    clock = FixedClock(T0)
    database = Database(empty_database_url)
    components = parse_inventory(INVENTORY, "inventory.txt").components
    holder = IndexHolder(database)
    try:
        with database.session() as session:
            import_records(session, clock, corpus()[:3])
        with database.session() as session:
            assert holder.current(session) is None  # not built yet: answered the one-shot way
            first = _json(match_components(holder, session, components))
        holder.refresh().join()
        with database.session() as session:
            index = holder.current(session)
            assert index is not None
            assert index.version == store_version(session)
            assert _json(index.findings(components)) == first
        with database.session() as session:  # an import lands: the held index is stale
            import_records(session, clock, corpus()[3:])
        with database.session() as session:
            assert holder.current(session) is None
            fresh = _json(match_components(holder, session, components))
        holder.refresh().join()
        with database.session() as session:
            index = holder.current(session)
            assert index is not None
            assert _json(index.findings(components)) == fresh != first
        assert holder.failures == 0
    finally:
        database.dispose()
        gc.unfreeze()  # the holder froze the test process's objects, as a server's
