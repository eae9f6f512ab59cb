"""The vulnerability pages as members and the hub's staff use them: search, a
vulnerability's records, assets and their upload, matches, subscriptions, feed imports and
the overview's panel; and every attempt to read or change what another member owns."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

import renkei
from renkei.core import audit, i18n, orgs
from renkei.core.models import AuditEvent, Role
from renkei.vulns import alerts
from renkei.vulns.ingest import import_records
from renkei.vulns.inventory import parse_inventory
from renkei.vulns.model import (
    Advisory,
    AffectedPackage,
    AffectedRange,
    EpssScore,
    EventKind,
    FeedProblem,
    KevEntry,
    ProductVersions,
    RangeEvent,
    Severity,
    Source,
)
from tests.console.conftest import Hub, csrf_of
from tests.message_templates import page_templates, templates

TEMPLATES = Path(renkei.__file__).parent / "console" / "templates" / "vulns"
SQL = "CVE-2026-0001"
ROUTER = "CVE-2026-0002"


def django() -> Advisory:
    return Advisory(
        source=Source.OSV, id="PYSEC-2026-1", modified=datetime(2026, 3, 1, tzinfo=UTC),
        aliases=(SQL,), title="Django SQL injection",
        summary="SQL injection <script>alert(1)</script>",
        # the publisher says 9.0; the vector computes to 9.8: both are shown
        severities=(Severity("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.0,
                             "osv"),),
        packages=(AffectedPackage("PyPI", "django", ranges=(AffectedRange("ECOSYSTEM", (
            RangeEvent(EventKind.INTRODUCED, "4.2"), RangeEvent(EventKind.FIXED, "4.2.8"))),)),))


def router() -> Advisory:
    return Advisory(source=Source.JVN, id="JVNDB-2026-000001",
                    modified=datetime(2026, 3, 2, tzinfo=UTC), aliases=(ROUTER,),
                    title="Acme router <b>overflow</b>", language="ja",
                    products=(ProductVersions("Acme", "RouterOS", text="2.4.1 より前"),))


@pytest.fixture(scope="module")
def seeded(hub: Hub) -> Hub:
    """Two advisories (one known exploited), an import with a problem, a second member;
    the member and the other member each have an asset that matches."""
    with hub.db.session() as session:
        other = orgs.add(session, hub.clock, "other", communities=["telecom"])
        import_records(session, hub.clock, [
            django(), router(),
            KevEntry(SQL, "djangoproject", "django", "Django SQL injection",
                     datetime(2026, 3, 5, tzinfo=UTC), ransomware=True),
            EpssScore(SQL, 0.42, 0.97),
            FeedProblem("feed.json:7", "GHSA-bad", "not a JSON object")],
            paths=["feeds/osv.zip"])
        components = parse_inventory(b"django==4.2.1\n", "requirements.txt").components
        member = orgs.require(session, "member")
        alerts.register_asset(session, hub.clock, member.id, "web shop", components,
                              "requirements", actor="test")
        alerts.register_asset(session, hub.clock, other.id, "other secret app", components,
                              "requirements", actor="test")
        alerts.subscribe(session, hub.clock, other.id, "keyword", "secretword", actor="test")
    return hub


@pytest.fixture(scope="module")
def admin(seeded: Hub) -> TestClient:
    client = seeded.client()
    seeded.sign_in(client, seeded.admin)
    return client


@pytest.fixture(scope="module")
def reader(seeded: Hub) -> TestClient:
    client = seeded.client()
    seeded.sign_in(client, seeded.member)
    return client


@pytest.fixture(scope="module")
def submitter(seeded: Hub) -> TestClient:
    client = seeded.client()
    seeded.sign_in(client, seeded.add_user("member", Role.MEMBER_SUBMITTER))
    return client


def test_the_pages_need_a_signed_in_user(seeded: Hub) -> None:
    client = seeded.client()
    for path in ("/vulns/", "/vulns/alerts", "/vulns/assets", "/vulns/feeds",
                 f"/vulns/v/{SQL}"):
        answer = client.get(path)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/login")


@pytest.mark.parametrize(("query", "kind", "found", "not_found"), [
    ("cve-2026-0001", "any", SQL, ROUTER),
    ("PYSEC-2026", "id", SQL, ROUTER),
    ("injection", "keyword", SQL, ROUTER),
    ("routeros", "product", ROUTER, SQL),
    ("django", "product", SQL, ROUTER),
    ("CVE-2026", "any", SQL, "no such"),
])
def test_search_by_id_keyword_or_product(reader: TestClient, query: str, kind: str,
                                         found: str, not_found: str) -> None:
    page = reader.get("/vulns/", params={"q": query, "kind": kind})
    assert page.status_code == 200
    assert f'href="/vulns/v/{found}"' in page.text
    assert f'href="/vulns/v/{not_found}"' not in page.text


def test_search_escapes_titles_and_takes_hostile_queries(reader: TestClient) -> None:
    page = reader.get("/vulns/", params={"q": "overflow"})
    assert "Acme router &lt;b&gt;overflow&lt;/b&gt;" in page.text
    assert "<b>overflow" not in page.text
    for hostile in ("%", "_", "' OR 1=1 --", "\x07", "x" * 5000):
        answer = reader.get("/vulns/", params={"q": hostile, "kind": "junk", "page": "-3"})
        assert answer.status_code == 200
        assert 'href="/vulns/v/' not in answer.text
    assert reader.get("/vulns/", params={"q": "\x00"}).status_code == 400  # refused first


def test_a_vulnerability_shows_each_source_side_by_side(reader: TestClient) -> None:
    page = reader.get(f"/vulns/v/{SQL}")
    assert page.status_code == 200
    text = page.text
    assert "PYSEC-2026-1" in text
    assert "<td>9.0</td>" in text
    assert "9.8" in text
    assert "differs" in text
    assert "ransomware" in text
    assert "0.420" in text
    assert "ECOSYSTEM: introduced 4.2, fixed 4.2.8" in text
    assert "&lt;script&gt;" in text
    assert "<script>" not in text
    by_alias = reader.get("/vulns/v/JVNDB-2026-000001")
    assert "Acme RouterOS" in by_alias.text
    assert "2.4.1 より前" in by_alias.text
    assert reader.get("/vulns/v/CVE-1999-9999").status_code == 404


def test_a_member_sees_its_own_matches_only(reader: TestClient) -> None:
    page = reader.get("/vulns/alerts")
    assert page.status_code == 200
    assert f'href="/vulns/v/{SQL}"' in page.text
    assert "web shop" in page.text
    assert "other secret app" not in page.text
    assert "secretword" not in page.text
    for org in ("other", "hub", "nobody"):
        refused = reader.get("/vulns/alerts", params={"org": org})
        assert refused.status_code == 400
        assert "other secret app" not in refused.text


def test_the_hub_staff_see_every_member_s_matches(admin: TestClient) -> None:
    page = admin.get("/vulns/alerts")
    assert "web shop" in page.text
    assert "other secret app" in page.text
    assert "known exploited (KEV)" in page.text
    one = admin.get("/vulns/alerts", params={"org": "other"})
    assert "other secret app" in one.text
    assert "web shop" not in one.text
    assert admin.get("/vulns/alerts", params={"org": "nobody"}).status_code == 400
    # control characters are dropped from names and ids; a NUL is refused before any page
    assert "other secret app" in admin.get("/vulns/alerts", params={"org": "oth\x07er"}).text
    assert admin.get("/vulns/alerts", params={"org": "oth\x00er"}).status_code == 400
    assert admin.get("/vulns/v/CVE-2026-0001%00").status_code == 400
    assert admin.get("/vulns/v/%00").status_code == 400


def test_assets_are_listed_per_member(reader: TestClient, admin: TestClient) -> None:
    mine = reader.get("/vulns/assets").text
    assert "web shop" in mine
    assert "other secret app" not in mine
    assert 'enctype="multipart/form-data"' not in mine  # a reader may not upload
    every = admin.get("/vulns/assets").text
    assert "web shop" in every
    assert "other secret app" in every


def test_a_reader_may_not_upload_an_inventory(seeded: Hub, reader: TestClient) -> None:
    csrf = csrf_of(reader.get("/"))
    answer = reader.post("/vulns/assets", data={"csrf": csrf, "name": "x"},
                         files={"file": ("requirements.txt", b"django==4.2.1\n")})
    assert answer.status_code == 403
    with seeded.db.session() as session:
        assert audit.search(session, action="console.forbidden", limit=1)[0].target == \
            "/vulns/assets"
    assert "x" not in _asset_names(seeded, "member")


def _asset_names(hub: Hub, org: str) -> list[str]:
    with hub.db.session() as session:
        return [a.name for a, _n in alerts.assets_of(session, orgs.require(session, org).id)]


def test_a_submitter_uploads_an_inventory(seeded: Hub, submitter: TestClient) -> None:
    page = submitter.get("/vulns/assets")
    csrf = csrf_of(page)
    without = submitter.post("/vulns/assets", data={"name": "api"},
                             files={"file": ("requirements.txt", b"django==4.2.1\n")})
    assert without.status_code == 403
    answer = submitter.post("/vulns/assets", data={"csrf": csrf, "name": "api <v2>"},
                            files={"file": ("requirements.txt", b"django==4.2.1\nrequests\n")})
    assert answer.status_code == 200, answer.text
    assert "api &lt;v2&gt;: 2 components read as requirements; 1 new matches." in answer.text
    assert "api <v2>" in _asset_names(seeded, "member")
    with seeded.db.session() as session:
        event = session.scalar(select(AuditEvent).where(
            AuditEvent.action == "vulns.asset.register").order_by(AuditEvent.id.desc()))
        assert event is not None
        assert event.source.startswith("http:")
    unknown = submitter.post("/vulns/assets", data={"csrf": csrf},
                             files={"file": ("notes.bin", b"\x00\x01junk")})
    assert unknown.status_code == 400
    assert "not an inventory format" in unknown.text
    empty = submitter.post("/vulns/assets", data={"csrf": csrf},
                           files={"file": ("requirements.txt", b"")})
    assert empty.status_code == 400
    hostile = submitter.post("/vulns/assets", data={"csrf": csrf, "name": "nul\x00name"},
                             files={"file": ("requirements\x00.txt",
                                             b"django==4.2.1\nfoo\x00bar==1.0\n")})
    assert hostile.status_code in (200, 400)
    big = submitter.post("/vulns/assets", data={"csrf": csrf},
                         files={"file": ("requirements.txt", b"#" * (4 * 1024 * 1024 + 1))})
    assert big.status_code == 413
    assert "at most" in big.text


def test_subscriptions_belong_to_their_member(seeded: Hub, reader: TestClient,
                                             submitter: TestClient) -> None:
    csrf = csrf_of(submitter.get("/vulns/subscriptions"))
    answer = submitter.post("/vulns/subscriptions",
                            data={"csrf": csrf, "kind": "product", "value": "RouterOS"})
    assert answer.status_code == 303
    page = submitter.get("/vulns/subscriptions").text
    assert "RouterOS" in page
    assert "secretword" not in page
    assert f'href="/vulns/v/{ROUTER}"' in submitter.get("/vulns/alerts").text
    short = submitter.post("/vulns/subscriptions", data={"csrf": csrf, "kind": "keyword",
                                                         "value": "ab"})
    assert short.status_code == 400
    assert "at least 3 characters" in short.text
    bad = submitter.post("/vulns/subscriptions", data={"csrf": csrf, "kind": "cve",
                                                       "value": "abc"})
    assert bad.status_code == 400
    refused = reader.post("/vulns/subscriptions", data={
        "csrf": csrf_of(reader.get("/vulns/subscriptions")), "kind": "keyword", "value": "xyz"})
    assert refused.status_code == 403


def test_feed_imports_are_for_the_hub_staff(reader: TestClient, admin: TestClient) -> None:
    assert reader.get("/vulns/feeds").status_code == 403
    assert 'href="/vulns/feeds"' not in reader.get("/vulns/").text
    page = admin.get("/vulns/feeds")
    assert page.status_code == 200
    assert "feeds/osv.zip" in page.text
    link = page.text.split('href="/vulns/feeds/')[1].split('"')[0]
    assert reader.get(f"/vulns/feeds/{link}").status_code == 403
    problems = admin.get(f"/vulns/feeds/{link}").text
    assert "GHSA-bad" in problems
    assert "not a JSON object" in problems


def test_the_overview_counts_new_matches_kev_first(reader: TestClient,
                                                  admin: TestClient) -> None:
    mine = reader.get("/").text
    assert 'id="panel-vulns-matches"' in mine
    panel = mine.split('id="panel-vulns-matches"')[1].split("</section>")[0]
    assert 'class="chart"' in panel
    assert "known exploited (KEV)" in panel
    every = admin.get("/").text.split('id="panel-vulns-matches"')[1].split("</section>")[0]
    count = int(every.split(" new matches in the last 7 days")[0].rsplit(">", 1)[1])
    assert count >= 2  # both members' alerts


def test_pages_speak_japanese(seeded: Hub) -> None:
    client = seeded.client()
    seeded.sign_in(client, seeded.add_user("member", Role.MEMBER_SUBMITTER))
    client.post("/language", data={"csrf": csrf_of(client.get("/")), "lang": "ja"})
    assert "脆弱性" in client.get("/vulns/").text
    assert "既知の悪用" in client.get("/").text


@pytest.mark.parametrize("path", sorted(TEMPLATES.glob("*.html")), ids=lambda p: p.name)
def test_every_page_word_has_japanese(path: Path) -> None:
    japanese = i18n.messages("ja")
    missing = [t for t in page_templates(path) if t not in japanese]
    assert not missing, f"add to src/renkei/vulns/locale/ja/vulns.po: {missing}"


def test_every_message_of_the_pages_has_japanese() -> None:
    source = Path(renkei.__file__).parent / "vulns" / "pages.py"
    japanese = i18n.messages("ja")
    missing = [t for t in templates(source, {"gettext_noop": 0, "t": 0}) if t not in japanese]
    missing += [w for w in alerts.SUBSCRIPTION_KINDS if w not in japanese]
    assert not missing, f"add to src/renkei/vulns/locale/ja/vulns.po: {missing}"
