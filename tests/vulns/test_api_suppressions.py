"""Suppressions through the REST API: a member lists and removes only its own, the hub's
staff read every member's; a removal is audited, and the alerts the suppression hid come
back at once when the member's assets still match."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from renkei.core.db import Database
from renkei.core.models import AuditEvent
from renkei.vulns.ingest import import_records
from tests.hub_fixtures import ApiHub as Hub
from tests.hub_fixtures import api_client, seed_hub
from tests.vulns.test_api import REQUIREMENTS, TOKENS, django

BASE = "/api/v1/vulns"


@pytest.fixture
def hub(tmp_path: Path, empty_database_url: str) -> Iterator[Hub]:
    tokens = seed_hub(empty_database_url, ("hub", "acme", "telco"), TOKENS,
                      then=lambda s, clock, _made: import_records(s, clock, [django()]))
    with api_client(tmp_path, empty_database_url) as client:
        yield Hub(client, tokens, empty_database_url)


def suppress(hub: Hub, who: str, vulnerability: str, component: str = "*") -> int:
    made = hub.client.post(f"{BASE}/suppressions", headers=hub.as_(who), json={
        "vulnerability": vulnerability, "component": component, "kind": "accepted_risk",
        "reason": "not exposed", "expires_at": (datetime.now(UTC) + timedelta(days=30)).isoformat()})
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def listed(hub: Hub, who: str, org: str | None = None) -> list[dict[str, Any]]:
    answer = hub.client.get(f"{BASE}/suppressions", headers=hub.as_(who),
                            params={"org": org} if org else None)
    assert answer.status_code == 200, answer.text
    return list(answer.json())


def register(hub: Hub, who: str) -> int:
    put = hub.client.put(f"{BASE}/assets/web?filename=requirements.txt", content=REQUIREMENTS,
                         headers=hub.as_(who))
    assert put.status_code == 200, put.text
    return int(put.json()["new_alerts"])


def alert_keys(hub: Hub, who: str) -> list[str]:
    return [a["vulnerability"] for a in
            hub.client.get(f"{BASE}/alerts", headers=hub.as_(who)).json()]


def test_a_member_lists_its_own_and_the_hub_every_member_s(hub: Hub) -> None:
    mine = suppress(hub, "acme", "CVE-2026-0001", "django==4.2.1")
    theirs = suppress(hub, "telco", "CVE-2026-0002")
    [row] = listed(hub, "acme-reader")
    assert row["id"] == mine
    assert row["organisation"] == "Acme Bank"
    assert (row["vulnerability"], row["component"], row["kind"], row["reason"]) == (
        "CVE-2026-0001", "django==4.2.1", "accepted_risk", "not exposed")
    assert row["live"] is True
    assert row["created_by"].startswith("token:")
    assert [r["id"] for r in listed(hub, "telco")] == [theirs]
    assert {r["id"] for r in listed(hub, "hub")} == {mine, theirs}
    assert [r["id"] for r in listed(hub, "hub", "Telco")] == [theirs]
    asking = hub.client.get(f"{BASE}/suppressions", params={"org": "Acme Bank"},
                            headers=hub.as_("telco"))
    assert asking.status_code == 404, "a member cannot name another member"
    assert hub.client.get(f"{BASE}/suppressions").status_code == 401


def test_removing_one_raises_the_alerts_it_hid_and_is_audited(hub: Hub) -> None:
    made = suppress(hub, "acme", "CVE-2026-0001")
    assert register(hub, "acme") == 0, "the suppression hides the match"
    assert alert_keys(hub, "acme") == []
    refused = hub.client.delete(f"{BASE}/suppressions/{made}", headers=hub.as_("acme-reader"))
    assert refused.status_code == 403, "removing needs the submit scope"
    removed = hub.client.delete(f"{BASE}/suppressions/{made}", headers=hub.as_("acme"))
    assert removed.status_code == 200, removed.text
    assert removed.json() == {"id": made, "vulnerability": "CVE-2026-0001", "component": "*",
                              "new_alerts": 1}
    assert alert_keys(hub, "acme") == ["CVE-2026-0001"]
    assert listed(hub, "acme") == []
    again = hub.client.delete(f"{BASE}/suppressions/{made}", headers=hub.as_("acme"))
    assert again.status_code == 404
    db = Database(hub.database_url, migrate=False)
    try:
        with db.session() as session:
            [event] = session.scalars(select(AuditEvent).where(
                AuditEvent.action == "vulns.unsuppress"))
            assert event.actor.startswith("token:")
            assert event.target == "CVE-2026-0001:*"
            assert event.details["new_alerts"] == 1
    finally:
        db.dispose()


def test_a_suppression_named_by_an_alias_comes_back_too(hub: Hub) -> None:
    made = suppress(hub, "acme", "PYSEC-2026-1", "django==4.2.1")
    assert register(hub, "acme") == 0
    removed = hub.client.delete(f"{BASE}/suppressions/{made}", headers=hub.as_("acme"))
    assert removed.json()["new_alerts"] == 1
    assert alert_keys(hub, "acme") == ["CVE-2026-0001"]


def test_another_member_s_is_as_if_it_did_not_exist(hub: Hub) -> None:
    theirs = suppress(hub, "telco", "CVE-2026-0001")
    for who in ("acme", "hub"):
        answer = hub.client.delete(f"{BASE}/suppressions/{theirs}", headers=hub.as_(who))
        assert answer.status_code == 404, who
        assert answer.json()["description"] == f"no suppression {theirs}"
    assert [r["id"] for r in listed(hub, "telco")] == [theirs]
    for bad in ("abc", "0", "-1", "99999999999999999999", "1.5"):
        answer = hub.client.delete(f"{BASE}/suppressions/{bad}", headers=hub.as_("acme"))
        assert answer.status_code == 400, (bad, answer.text)
    assert hub.client.delete(f"{BASE}/suppressions/{theirs}").status_code == 401
    assert hub.client.delete(f"{BASE}/suppressions", headers=hub.as_("acme")).status_code == 405


def test_the_openapi_document_describes_them(hub: Hub) -> None:
    paths = hub.client.get("/openapi.json").json()["paths"]
    listing = paths[f"{BASE}/suppressions"]["get"]["responses"]["200"]
    assert listing["content"]["application/json"]["schema"]["items"]["$ref"].endswith(
        "/SuppressionOut")
    removal = paths[f"{BASE}/suppressions/{{suppression_id}}"]["delete"]
    assert removal["responses"]["200"]["content"]["application/json"]["schema"][
        "$ref"].endswith("/SuppressionRemovedOut")
    assert "4XX" in removal["responses"]
