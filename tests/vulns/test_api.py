"""The vulns REST API through the real application: matching, assets, alerts and feeds
that belong to one member, the hub's advisories; and attempts to read another member's."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree

import pytest

from renkei.vulns.ingest import import_records
from renkei.vulns.model import (
    Advisory,
    AffectedPackage,
    AffectedRange,
    EventKind,
    RangeEvent,
    Severity,
    Source,
)
from tests.hub_fixtures import ApiHub as Hub
from tests.hub_fixtures import api_client, seed_hub

REQUIREMENTS = b"django==4.2.1\nrequests==2.32.0\n"
TOKENS = {"hub": "read,submit,admin", "acme": "read,submit", "telco": "read,submit",
          "acme-reader": "read"}


def django() -> Advisory:
    return Advisory(
        source=Source.OSV, id="PYSEC-2026-1", modified=datetime(2026, 3, 1, tzinfo=UTC),
        aliases=("CVE-2026-0001",), summary="SQL injection <script>alert(1)</script>",
        severities=(Severity("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),),
        packages=(AffectedPackage("PyPI", "django", ranges=(AffectedRange("ECOSYSTEM", (
            RangeEvent(EventKind.INTRODUCED, "4.2"), RangeEvent(EventKind.FIXED, "4.2.8"))),)),))


@pytest.fixture
def hub(tmp_path: Path, empty_database_url: str) -> Iterator[Hub]:
    tokens = seed_hub(empty_database_url, ("hub", "acme", "telco"), TOKENS,
                      then=lambda s, clock, _made: import_records(s, clock, [django()]))
    with api_client(tmp_path, empty_database_url) as client:
        yield Hub(client, tokens, empty_database_url)


def test_match_an_inventory_without_storing_it(hub: Hub) -> None:
    response = hub.client.post("/api/v1/vulns/match?name=requirements.txt",
                               content=REQUIREMENTS, headers=hub.as_("acme-reader"))
    assert response.status_code == 200, response.text
    (finding,) = response.json()
    assert finding["component"] == "django==4.2.1"
    assert finding["vulnerability"] == "CVE-2026-0001"
    assert finding["cvss"]["score"] == 9.8
    assert hub.client.post("/api/v1/vulns/match", content=b"").status_code == 401


def test_assets_alerts_and_feeds_are_the_members_own(hub: Hub) -> None:
    put = hub.client.put("/api/v1/vulns/assets/web?filename=requirements.txt",
                         content=REQUIREMENTS, headers=hub.as_("acme"))
    assert put.status_code == 200, put.text
    assert put.json()["new_alerts"] == 1
    refused = hub.client.put("/api/v1/vulns/assets/web?filename=requirements.txt",
                             content=REQUIREMENTS, headers=hub.as_("acme-reader"))
    assert refused.status_code == 403, "registering needs the submit scope"

    mine = hub.client.get("/api/v1/vulns/alerts", headers=hub.as_("acme")).json()
    assert [a["vulnerability"] for a in mine] == ["CVE-2026-0001"]
    assert hub.client.get("/api/v1/vulns/alerts", headers=hub.as_("telco")).json() == []
    asking = hub.client.get("/api/v1/vulns/alerts?org=Acme%20Bank", headers=hub.as_("telco"))
    assert asking.status_code == 404, "a member cannot name another member"
    assert hub.client.get("/api/v1/vulns/assets?org=Acme%20Bank",
                          headers=hub.as_("telco")).status_code == 404
    everyone = hub.client.get("/api/v1/vulns/alerts", headers=hub.as_("hub")).json()
    assert len(everyone) == 1, "the hub's staff see every member's alerts"

    for fmt, media in (("atom", "application/atom+xml"), ("rss", "application/rss+xml")):
        feed = hub.client.get(f"/api/v1/vulns/feed.{fmt}", headers=hub.as_("acme"))
        assert feed.status_code == 200
        assert feed.headers["content-type"].startswith(media)
        ElementTree.fromstring(feed.content)  # well-formed
        assert b"CVE-2026-0001" in feed.content
        other = hub.client.get(f"/api/v1/vulns/feed.{fmt}", headers=hub.as_("telco"))
        assert b"CVE-2026-0001" not in other.content
    items = hub.client.get("/api/v1/vulns/feed.json", headers=hub.as_("acme")).json()["items"]
    assert items[0]["_renkei"]["components"] == ["django==4.2.1"]
    assert hub.client.get("/api/v1/vulns/feed.exe", headers=hub.as_("acme")).status_code == 404


def test_suppressions_and_subscriptions(hub: Hub) -> None:
    hub.client.put("/api/v1/vulns/assets/web?filename=requirements.txt",
                   content=REQUIREMENTS, headers=hub.as_("telco"))
    expires = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    made = hub.client.post("/api/v1/vulns/suppressions", headers=hub.as_("telco"), json={
        "vulnerability": "CVE-2026-0001", "kind": "accepted_risk", "reason": "WAF rule",
        "expires_at": expires})
    assert made.status_code == 201, made.text
    bad = hub.client.post("/api/v1/vulns/suppressions", headers=hub.as_("telco"), json={
        "vulnerability": "CVE-2026-0001", "kind": "ignore", "reason": "x",
        "expires_at": expires})
    assert bad.status_code == 400
    sub = hub.client.post("/api/v1/vulns/subscriptions", headers=hub.as_("acme"),
                          json={"kind": "keyword", "value": "SQL injection"})
    assert sub.status_code == 201
    assert sub.json()["new_alerts"] == 1


def test_a_vulnerability_and_the_hubs_advisories(hub: Hub) -> None:
    shown = hub.client.get("/api/v1/vulns/CVE-2026-0001", headers=hub.as_("acme-reader"))
    assert shown.status_code == 200
    assert shown.json()["records"][0]["cvss"][0]["computed_score"] == 9.8
    osv = hub.client.get("/api/v1/vulns/CVE-2026-0001/osv", headers=hub.as_("acme")).json()
    assert osv["affected"][0]["ranges"][0]["events"] == [{"introduced": "4.2"},
                                                         {"fixed": "4.2.8"}]
    csaf = hub.client.get("/api/v1/vulns/CVE-2026-0001/csaf", headers=hub.as_("acme")).json()
    from renkei.vulns.feeds.csaf import validate_csaf

    problems = validate_csaf(csaf)
    if problems and "unavailable" in problems[0]:
        pytest.skip("the CSAF schema package is not installed")
    assert problems == []
    by_alias = hub.client.get("/api/v1/vulns/PYSEC-2026-1", headers=hub.as_("acme"))
    assert by_alias.json()["records"][0]["id"] == "PYSEC-2026-1"
    missing = hub.client.get("/api/v1/vulns/CVE-1999-0001", headers=hub.as_("acme"))
    assert missing.status_code == 404
    assert "CVE-1999-0001" in missing.text


def test_bodies_are_bounded(hub: Hub) -> None:
    from renkei.core.http import MAX_REQUEST_BYTES
    from renkei.vulns.api import MAX_INVENTORY_BYTES

    sbom = b"pkg:pypi/django@4.2.1\n" * ((MAX_REQUEST_BYTES // 22) + 10)
    allowed = hub.client.post("/api/v1/vulns/match?name=purls.txt", content=sbom,
                              headers=hub.as_("acme"))
    assert allowed.status_code == 200, "an inventory may be larger than other bodies"
    huge = b"x" * (MAX_INVENTORY_BYTES + 1)
    assert hub.client.post("/api/v1/vulns/match", content=huge,
                           headers=hub.as_("acme")).status_code == 413
    elsewhere = hub.client.post("/api/v1/sharing/submissions", content=sbom,
                                headers={**hub.as_("acme"), "Content-Type": "application/json"})
    assert elsewhere.status_code == 413


def test_a_suppression_s_expiry_is_utc_and_must_be_a_time(hub: Hub) -> None:
    """A time without a zone was compared with an aware one: a server error."""
    body = {"vulnerability": "GHSA-xxxx", "kind": "accepted_risk", "reason": "not exposed"}
    naive = hub.client.post("/api/v1/vulns/suppressions",
                            json={**body, "expires_at": "2999-01-01T00:00:00"},
                            headers=hub.as_("acme"))
    assert naive.status_code == 201, naive.text
    assert naive.json()["expires_at"] == "2999-01-01T00:00:00+00:00"
    early = hub.client.post("/api/v1/vulns/suppressions",
                            json={**body, "expires_at": "0001-01-01T00:00:00+01:00"},
                            headers=hub.as_("acme"))
    assert early.status_code == 400, early.text
    assert [p["where"] for p in early.json()["details"]["problems"]] == ["body.expires_at"]


def test_a_nul_character_is_refused_before_the_database(hub: Hub) -> None:
    """PostgreSQL keeps no NUL in a text: these were server errors there."""
    body = hub.client.post("/api/v1/vulns/subscriptions",
                           json={"kind": "keyword", "value": "django\u0000"},
                           headers=hub.as_("acme"))
    assert body.status_code == 400, body.text
    assert "value holds a NUL character" in body.json()["details"]["problems"][0]["message"]
    path = hub.client.put("/api/v1/vulns/assets/web%00", content=b"django==4.2.1\n",
                          headers=hub.as_("acme"))
    assert path.status_code == 400, path.text
