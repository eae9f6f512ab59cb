"""Storing feed records: idempotent upserts, merging by CVE, KEV and EPSS, problems kept."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from renkei.core.time import FixedClock
from renkei.vulns.ingest import (
    cpe_vendor_product,
    import_records,
    package_key,
    product_key,
)
from renkei.vulns.model import (
    Advisory,
    AffectedPackage,
    AffectedRange,
    CpeConfiguration,
    CpeMatch,
    CpeNode,
    EpssScore,
    EventKind,
    FeedProblem,
    KevEntry,
    ProductVersions,
    RangeEvent,
    Record,
    Source,
)
from renkei.vulns.store import (
    AffectedName,
    AffectedProduct,
    EpssRow,
    FeedProblemRow,
    KevEntryRow,
    VulnAlias,
    Vulnerability,
    VulnLink,
    VulnRecord,
)

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def osv(ident: str, *aliases: str, modified: datetime = T0, summary: str = "flaw") -> Advisory:
    return Advisory(
        source=Source.OSV, id=ident, modified=modified, aliases=aliases, summary=summary,
        packages=(AffectedPackage(
            ecosystem="PyPI", name="Django_Rest.framework",
            ranges=(AffectedRange("ECOSYSTEM", (RangeEvent(EventKind.INTRODUCED, "0"),
                                                RangeEvent(EventKind.FIXED, "3.1"))),)),),
        raw={"id": ident, "huge": "x" * 1000})


def nvd(cve: str, modified: datetime = T0) -> Advisory:
    return Advisory(
        source=Source.NVD, id=cve, modified=modified, summary="server flaw",
        configurations=(CpeConfiguration(nodes=(
            CpeNode("OR", (CpeMatch("cpe:2.3:a:apache:http_server:*:*:*:*:*:*:*:*",
                                    version_end_excluding="2.4.50"),)),
            CpeNode("OR", (CpeMatch("cpe:2.3:o:linux:linux_kernel:-:*:*:*:*:*:*:*",
                                    vulnerable=False),)),), operator="AND"),))


def count(session: Session, table: type) -> int:
    return session.scalar(select(func.count()).select_from(table)) or 0


def test_reimporting_the_same_records_changes_nothing(db_session: Session,
                                                      clock: FixedClock) -> None:
    records = [osv("PYSEC-2026-1", "CVE-2026-0001"), nvd("CVE-2026-0001"), nvd("CVE-2026-0002")]
    first = import_records(db_session, clock, records)
    assert (first.added, first.changed, first.unchanged) == (3, 0, 0)
    assert count(db_session, Vulnerability) == 2
    again = import_records(db_session, clock, records)
    assert (again.added, again.changed, again.unchanged) == (0, 0, 3)
    assert again.touched == set()
    assert count(db_session, VulnRecord) == 3
    assert count(db_session, VulnLink) == 3


def test_records_about_one_cve_merge_and_keep_their_own_data(db_session: Session,
                                                             clock: FixedClock) -> None:
    import_records(db_session, clock, [osv("PYSEC-2026-1", "CVE-2026-0001", "GHSA-aaaa"),
                                       nvd("CVE-2026-0001")])
    vulnerability = db_session.scalars(select(Vulnerability)).one()
    assert vulnerability.key == "CVE-2026-0001"
    sources = db_session.scalars(
        select(VulnRecord.source).join(VulnLink, VulnLink.record_id == VulnRecord.id)
        .where(VulnLink.vulnerability_id == vulnerability.id).order_by(VulnRecord.source)).all()
    assert sources == ["nvd", "osv"]
    data = orjson.loads(db_session.scalar(select(VulnRecord.data)
                                          .where(VulnRecord.source == "osv")) or "")
    assert data["packages"][0]["ranges"][0]["events"][1] == {"kind": "fixed", "version": "3.1"}
    assert data["raw"] == {}, "the raw document is not stored twice"
    assert set(db_session.scalars(select(VulnAlias.alias))) == {
        "PYSEC-2026-1", "CVE-2026-0001", "GHSA-aaaa"}


def test_one_jvn_entry_naming_several_cves_links_to_each(db_session: Session,
                                                          clock: FixedClock) -> None:
    jvn = Advisory(source=Source.JVN, id="JVNDB-2026-000001", modified=T0, language="ja",
                   aliases=("CVE-2026-0010", "CVE-2026-0011", "CVE-2026-0012"),
                   title="複数の脆弱性",
                   products=(ProductVersions("サイボウズ", "Garoon", text="5.0.0 より前"),))
    result = import_records(db_session, clock, [jvn])
    assert len(result.touched) == 3
    assert sorted(db_session.scalars(select(Vulnerability.key))) == [
        "CVE-2026-0010", "CVE-2026-0011", "CVE-2026-0012"]
    assert count(db_session, VulnLink) == 3
    assert db_session.execute(select(AffectedProduct.vendor, AffectedProduct.product)).all() == [
        ("サイボウズ", "garoon")]


def test_a_record_without_cve_joins_the_vulnerability_its_alias_keys(
        db_session: Session, clock: FixedClock) -> None:
    import_records(db_session, clock, [osv("GHSA-bbbb")])
    import_records(db_session, clock, [osv("PYSEC-2026-9", "GHSA-bbbb")])
    assert db_session.scalars(select(Vulnerability.key)).all() == ["GHSA-bbbb"]
    assert count(db_session, VulnLink) == 2


def test_newer_records_replace_older_ones_are_skipped(db_session: Session,
                                                       clock: FixedClock) -> None:
    import_records(db_session, clock, [osv("PYSEC-2026-1", "CVE-2026-0001")])
    later = osv("PYSEC-2026-1", "CVE-2026-0001", "CVE-2026-0003",
                modified=T0 + timedelta(days=1), summary="worse")
    changed = import_records(db_session, clock, [later])
    assert (changed.added, changed.changed) == (0, 1)
    assert len(changed.touched) == 2
    assert db_session.scalar(select(VulnRecord.title)) == "worse"
    assert count(db_session, VulnLink) == 2
    stale = import_records(db_session, clock, [osv("PYSEC-2026-1", summary="stale")])
    assert (stale.older, stale.changed) == (1, 0)
    assert db_session.scalar(select(VulnRecord.title)) == "worse"


def test_lookup_keys_for_matching(db_session: Session, clock: FixedClock) -> None:
    import_records(db_session, clock, [osv("PYSEC-2026-1"), nvd("CVE-2026-0002")])
    assert db_session.execute(select(AffectedName.ecosystem, AffectedName.name)).all() == [
        ("pypi", "django-rest-framework")]
    assert db_session.execute(select(AffectedProduct.vendor, AffectedProduct.product)).all() == [
        ("apache", "http_server")], "a platform (vulnerable: false) is not a product to match"
    assert package_key("Debian:12", "OpenSSL") == ("debian", "openssl")
    assert product_key("Apache Software", "HTTP Server") == ("apache_software", "http_server")
    assert cpe_vendor_product(r"cpe:2.3:a:foo\:bar:baz:1:*:*:*:*:*:*:*") == (r"foo\:bar", "baz")
    assert cpe_vendor_product("cpe:/a:apache:http_server:2.4") == ("apache", "http_server")
    assert cpe_vendor_product("not a cpe") is None


def test_kev_and_epss_upsert_by_cve(db_session: Session, clock: FixedClock) -> None:
    kev = KevEntry("CVE-2026-0001", "Apache", "HTTP Server", "Path traversal", T0)
    scores = [EpssScore("CVE-2026-0001", 0.5, 0.9, T0), EpssScore("CVE-2026-0002", 0.01, 0.2, T0)]
    result = import_records(db_session, clock, [kev, *scores])
    assert (result.kev, result.epss) == (1, 2)
    import_records(db_session, clock, [dataclasses.replace(kev, ransomware=True),
                                       EpssScore("CVE-2026-0001", 0.75, 0.95, T0)])
    assert db_session.scalar(select(KevEntryRow.ransomware)) is True
    assert db_session.scalar(select(EpssRow.epss).where(EpssRow.cve == "CVE-2026-0001")) == 0.75
    assert count(db_session, EpssRow) == 2


def test_problems_are_counted_kept_and_do_not_stop_the_rest(db_session: Session,
                                                            clock: FixedClock) -> None:
    records: list[Record] = [FeedProblem("feed.json#3", "CVE-bad", "modified is not a timestamp"),
               nvd("CVE-2026-0002"), FeedProblem("feed.json#7", None, "not an object")]
    result = import_records(db_session, clock, records, batch_size=2)
    assert (result.added, result.problems) == (1, 2)
    assert db_session.scalars(select(FeedProblemRow.location)
                              .order_by(FeedProblemRow.id)).all() == ["feed.json#3",
                                                                      "feed.json#7"]


def test_duplicates_within_a_batch_keep_the_newest(db_session: Session,
                                                   clock: FixedClock) -> None:
    older, newer = osv("PYSEC-1", summary="old"), osv("PYSEC-1", modified=T0 + timedelta(1),
                                                      summary="new")
    result = import_records(db_session, clock, [newer, older])
    assert (result.read, result.added) == (2, 1)
    assert db_session.scalar(select(VulnRecord.title)) == "new"


def test_a_stored_record_loads_back_as_it_was() -> None:
    from renkei.vulns.ingest import load_advisory, record_json
    from renkei.vulns.model import Severity, VersionBound

    jvn = Advisory(source=Source.JVN, id="JVNDB-2026-000001", modified=T0, language="ja",
                   aliases=("CVE-2026-0010",), severities=(Severity("CVSS_V3", "CVSS:3.0/AV:N",
                                                                    9.8, "JVN"),),
                   products=(ProductVersions("v", "p", None, "1.0 以上 2.0 未満",
                                             VersionBound("1.0", True),
                                             VersionBound("2.0", False)),))
    for advisory in (osv("PYSEC-1", "CVE-1"), nvd("CVE-2026-0002"), jvn):
        assert load_advisory(record_json(advisory)) == dataclasses.replace(advisory, raw={})


def every_field() -> Advisory:
    from renkei.vulns.model import Severity, VersionBound

    return Advisory(
        source=Source.CSAF, id="example-2026-001", modified=T0, published=T0 - timedelta(1),
        withdrawn=T0 + timedelta(1), aliases=("CVE-2026-0100", "GHSA-zzzz"), title="t",
        summary="s", details="d\n\"quoted\"\t\\ 日本語", language="ja",
        severities=(Severity("CVSS_V3", "CVSS:3.1/AV:N", 9.8, "vendor"),),
        packages=(AffectedPackage("npm", "@scope/pkg", "pkg:npm/%40scope/pkg",
                                  versions=("1.0.0",), ranges=(AffectedRange(
                                      "SEMVER", (RangeEvent(EventKind.INTRODUCED, "1.0.0"),
                                                 RangeEvent(EventKind.LAST_AFFECTED, "1.2.0")),
                                      "https://example.org/repo"),)),),
        configurations=(CpeConfiguration(nodes=(CpeNode("OR", (CpeMatch(
            "cpe:2.3:a:v:p:*:*:*:*:*:*:*:*", version_start_including="1",
            version_end_excluding="2"),), negate=True),), operator="AND", negate=False),),
        products=(ProductVersions("v", "p", "cpe:2.3:a:v:p:*:*:*:*:*:*:*:*", "1 以上",
                                  VersionBound("1", True), None, ("1.5",), parsed=False),),
        cwes=("CWE-79",), references=("https://example.org/a",), raw={"anything": [1, {"b": 2}]})


def test_the_stored_form_is_what_it_was_so_held_digests_stay_valid() -> None:
    """``record_json`` builds the stored text without copying the advisory; it must be the
    bytes the copy serialised to, or a re-import after an upgrade would change every record."""
    from renkei.vulns.ingest import record_json

    for advisory in (osv("PYSEC-1", "CVE-1"), nvd("CVE-2026-0002"), every_field(),
                     Advisory(source=Source.HUB, id="x", modified=None)):
        assert record_json(advisory) == orjson.dumps(
            dataclasses.replace(advisory, raw={}),
            option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)


HOSTILE = "a\x00b\tc\nd\\e \\N \\. 'f\" 日本 🛡"


def test_hostile_text_is_stored_and_read_back_alike_on_every_database(
        db_session: Session, clock: FixedClock) -> None:
    """Tabs, newlines, backslashes and COPY's own markers go in as they are; NUL, which
    PostgreSQL cannot hold, becomes U+FFFD on every database instead of failing the import."""
    stored = HOSTILE.replace("\x00", "\ufffd")
    advisory = Advisory(
        source=Source.OSV, id=f"GHSA-{HOSTILE}", modified=T0, aliases=(f"CVE-{HOSTILE}",),
        summary=HOSTILE, packages=(AffectedPackage(ecosystem="npm", name=HOSTILE),),
        products=(ProductVersions(HOSTILE, HOSTILE, text="1.0 より前"),))
    kev = KevEntry(f"CVE-{HOSTILE}", HOSTILE, HOSTILE, HOSTILE, T0, notes=HOSTILE)
    records: list[Record] = [advisory, kev, EpssScore("CVE-" + "9" * 60, 0.5, 0.5, T0),
                             FeedProblem(HOSTILE, HOSTILE, HOSTILE)]
    first = import_records(db_session, clock, records)
    assert (first.added, first.kev, first.epss, first.problems) == (1, 1, 1, 1)
    assert db_session.execute(select(VulnRecord.record_id, VulnRecord.title)).one() == (
        f"GHSA-{stored}", stored)
    assert set(db_session.scalars(select(VulnAlias.alias))) == {f"GHSA-{stored}",
                                                                f"CVE-{stored}"}
    assert db_session.scalars(select(Vulnerability.key)).all() == [f"CVE-{stored}"]
    assert db_session.execute(select(AffectedName.ecosystem, AffectedName.name)).all() == [
        ("npm", stored.strip().lower())]
    assert db_session.execute(select(AffectedProduct.vendor, AffectedProduct.product)).all() == [
        product_key(stored, stored)]
    assert db_session.execute(select(KevEntryRow.cve, KevEntryRow.notes)).one() == (
        f"CVE-{stored}"[:40], stored)
    assert db_session.scalars(select(EpssRow.cve)).all() == [("CVE-" + "9" * 60)[:40]]
    assert db_session.execute(select(FeedProblemRow.location, FeedProblemRow.message)).one() == (
        stored, stored)
    data = orjson.loads(db_session.scalar(select(VulnRecord.data)) or "")
    assert data["summary"] == HOSTILE, "the record itself keeps what the feed said"
    again = import_records(db_session, clock, records)
    assert (again.added, again.changed, again.unchanged) == (0, 0, 1)


def test_many_batches_in_a_row(db_session: Session, clock: FixedClock) -> None:
    """The feed is read ahead in a thread, batch by batch: all of it lands, once."""
    records: list[Record] = [nvd(f"CVE-2026-{n:04d}") for n in range(50)]
    records += [osv(f"PYSEC-2026-{n}", f"CVE-2026-{n:04d}") for n in range(0, 50, 5)]
    seen: list[int] = []
    result = import_records(db_session, clock, records, batch_size=7, on_batch=seen.append)
    assert sum(seen) == len(records)
    assert (result.read, result.added) == (60, 60)
    assert count(db_session, Vulnerability) == 50
    assert count(db_session, VulnLink) == 60
    again = import_records(db_session, clock, records, batch_size=7)
    assert (again.unchanged, again.touched) == (60, set())
