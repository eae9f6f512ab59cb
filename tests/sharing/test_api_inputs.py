"""Inputs that used to be server errors on the sharing API and the TAXII server (found by
tests/test_openapi_fuzz.py and the probes written alongside it): each is now a 4xx that
names what is wrong, or a plain answer."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from renkei.app import create_app
from renkei.core import members, orgs
from renkei.core.config import load_config
from renkei.core.db import Database
from renkei.core.models import Role
from renkei.core.time import SystemClock
from renkei.sharing import taxii

TAXII = "application/taxii+json;version=2.1"
REPORT = {"title": "Scan", "tlp": "amber", "indicators": [{"type": "ipv4", "value": "192.0.2.1"}]}


@dataclass
class Hub:
    client: TestClient
    headers: dict[str, str]  # a hub analyst's
    collection: str

    def problems_at(self, response: httpx.Response) -> list[str]:
        assert response.status_code == 400, response.text
        return [p["where"] for p in response.json()["details"]["problems"]]


@pytest.fixture
def hub(tmp_path: Path, empty_database_url: str) -> Iterator[Hub]:
    clock = SystemClock()
    db = Database(empty_database_url)
    with db.session() as s:
        made = orgs.add(s, clock, "Hub", hub=True)
        orgs.add(s, clock, "Acme Bank", communities=["finance"])
        analyst = members.add_user(s, clock, organisation=made, email="analyst@hub.example",
                                   role=Role.HUB_ANALYST, password="correct horse battery")
        token = members.create_token(s, clock, organisation=made, user=analyst,
                                     scopes="read,submit").token
        collection = taxii.ensure_default_collection(s, clock).id
    db.dispose()
    config = load_config({"RENKEI_HOME": str(tmp_path), "RENKEI_DATABASE_URL": empty_database_url})
    with TestClient(create_app(config, validation_workers=1)) as client:
        yield Hub(client, {"Authorization": f"Bearer {token}"}, collection)


def test_the_hub_rejecting_a_submission_that_does_not_exist_is_told_so(hub: Hub) -> None:
    response = hub.client.post("/api/v1/sharing/submissions/7/reject", json={"reason": "no"},
                               headers=hub.headers)
    assert response.status_code == 404, response.text  # was an AssertionError: 500
    assert response.json()["description"] == "no submission 7"


@pytest.mark.parametrize("too_big", [2**31, 2**63])  # PostgreSQL's INTEGER; SQLite's
def test_numbers_past_any_id_are_malformed(hub: Hub, too_big: int) -> None:
    for method, path in (("GET", f"/api/v1/sharing/submissions/{too_big}"),
                         ("POST", f"/api/v1/sharing/submissions/{too_big}/approve"),
                         ("POST", f"/api/v1/sharing/submissions/{too_big}/publish")):
        response = hub.client.request(method, path, headers=hub.headers)
        assert hub.problems_at(response) == ["path.submission_id"], path
    response = hub.client.post(f"/api/v1/sharing/submissions?recipient_org={too_big}",
                               json=REPORT, headers=hub.headers)
    assert hub.problems_at(response) == ["query.recipient_org.0"]


def test_times_are_utc_and_those_no_datetime_holds_are_malformed(hub: Hub) -> None:
    response = hub.client.post("/api/v1/sharing/objects/indicator--x/sightings",
                               json={"first_seen": "0001-01-01T00:00:00+01:00"},
                               headers=hub.headers)
    assert hub.problems_at(response) == ["body.first_seen"]
    naive = hub.client.get("/api/v1/sharing/misp/events", params={"since": "2026-01-01T00:00"},
                           headers=hub.headers)
    assert naive.status_code == 200, naive.text  # was a naive/aware comparison: 500


@pytest.mark.parametrize("timestamp", ["²", "999999999999"])
def test_a_misp_timestamp_that_is_no_time_is_named(hub: Hub, timestamp: str) -> None:
    event = {"Event": {"info": "Scan", "timestamp": timestamp,
                       "Attribute": [{"type": "ip-dst", "value": "192.0.2.1"}]}}
    response = hub.client.post("/api/v1/sharing/misp/events", content=json.dumps(event),
                               headers={**hub.headers, "Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert "$.Event.timestamp: must be seconds since 1970" in response.json()["description"]


def test_a_nul_character_is_refused_in_urls_and_bodies(hub: Hub) -> None:
    """PostgreSQL keeps no NUL in a text: these were server errors there."""
    for path in ("/api/v1/sharing/objects?contains=%00", "/api/v1/sharing/objects/a%00b"):
        response = hub.client.get(path, headers=hub.headers)
        assert response.status_code == 400, response.text
        assert response.json()["description"] == "a URL may not hold a NUL character (%00)"
    taxii_path = f"/taxii2/hub/collections/{hub.collection}/objects/?match[id]=%00"
    response = hub.client.get(taxii_path, headers=hub.headers)
    assert response.status_code == 400
    assert response.headers["content-type"] == TAXII
    response = hub.client.post("/api/v1/sharing/submissions/1/reject",
                               json={"reason": "no\u0000"}, headers=hub.headers)
    assert hub.problems_at(response) == ["body"]
    assert "reason holds a NUL character" in response.json()["details"]["problems"][0]["message"]


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(("params", "status", "said"), [
    ({"limit": "²"}, 400, "limit must be a positive whole number"),
    ({"limit": "0"}, 400, "limit must be a positive whole number"),
    ({"limit": "9" * 5000}, 200, None),  # past int()'s digit bound: as many as the server gives
    ({"added_after": "0001-01-01T00:00:00+01:00"}, 400, "added_after is not a timestamp"),
    ({"next": _cursor(f"1.{2**63}")}, 400, "the next cursor is not one this server gave"),
    ({"next": _cursor("1.-1")}, 400, "the next cursor is not one this server gave"),
])
def test_taxii_filters_that_used_to_crash(hub: Hub, params: dict[str, str], status: int,
                                          said: str | None) -> None:
    response = hub.client.get(f"/taxii2/hub/collections/{hub.collection}/objects/",
                              params=params, headers={**hub.headers, "Accept": TAXII})
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == TAXII
    if said is not None:
        assert response.json()["description"].startswith(said)
