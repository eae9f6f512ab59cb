"""The incidents REST API through the real application: the hub's staff handle every
incident; a member reads and adds to its own, and learns nothing of another member's —
not by id, not in lists, not in counts or metrics."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session

from renkei.core import members
from renkei.core.models import Organisation, Role
from renkei.core.time import Clock
from tests.hub_fixtures import ApiHub, api_client, seed_hub
from tests.incidents.conftest import PASSWORD

TOKENS = {"hub": "read,submit", "acme": "read,submit", "peer": "read,submit",
          "acme-reader": "read"}


class Hub(ApiHub):
    def open(self, who: str = "hub", **body: object) -> dict[str, object]:
        fields = {"title": "Phishing", "severity": "high", "category": "fraud",
                  "organisations": ["Acme Bank"], **body}
        response = self.client.post("/api/v1/incidents", json=fields, headers=self.as_(who))
        assert response.status_code == 201, response.text
        return dict(response.json())


def _analyst(s: Session, clock: Clock, made: dict[str, Organisation]) -> None:
    members.add_user(s, clock, organisation=made["hub"], email="analyst@hub.example",
                     role=Role.HUB_ANALYST, password=PASSWORD)


@pytest.fixture
def hub(tmp_path: Path, empty_database_url: str) -> Iterator[Hub]:
    tokens = seed_hub(empty_database_url, ("hub", "acme", "peer"), TOKENS, then=_analyst)
    with api_client(tmp_path, empty_database_url) as client:
        yield Hub(client, tokens, empty_database_url)


def test_the_hub_handles_an_incident(hub: Hub) -> None:
    made = hub.open(organisations=["Acme Bank", "Peer Bank"])
    assert made["status"] == "new"
    assert made["organisations"] == ["Acme Bank", "Peer Bank"]
    assert made["sla"]["overdue"] == []
    base = f"/api/v1/incidents/{made['id']}"
    for path, body in ((f"{base}/transition", {"status": "acknowledged"}),
                       (f"{base}/assign", {"user": "analyst@hub.example"}),
                       (f"{base}/notes", {"text": "Talking to Acme."}),
                       (f"{base}/tasks", {"title": "Block the sender domain"}),
                       (f"{base}/indicators", {"type": "domain", "value": "evil.example"}),
                       (f"{base}/evidence", {"kind": "reference", "ref": "mail 2026-04-01"})):
        response = hub.client.post(path, json=body, headers=hub.as_("hub"))
        assert response.status_code in (200, 201), (path, response.text)
    detail = hub.client.get(base, headers=hub.as_("hub")).json()
    assert [e["kind"] for e in detail["events"]] == [
        "created", "status", "assigned", "note", "task_added", "indicator", "evidence"]
    assert detail["assignee"] == "analyst@hub.example"
    assert detail["timings"]["acknowledge"] is not None
    metrics = hub.client.get("/api/v1/incidents/metrics", headers=hub.as_("hub")).json()
    assert metrics["incidents"] == 1
    assert metrics["time_to_acknowledge"]["count"] == 1


def test_a_refused_move_says_why(hub: Hub) -> None:
    made = hub.open()
    response = hub.client.post(f"/api/v1/incidents/{made['id']}/transition",
                               json={"status": "resolved"}, headers=hub.as_("hub"))
    assert response.status_code == 409
    assert "can move to acknowledged, closed" in response.json()["description"]
    japanese = hub.client.post(f"/api/v1/incidents/{made['id']}/transition",
                               json={"status": "resolved"},
                               headers={**hub.as_("hub"), "Accept-Language": "ja"})
    assert "移れる状態は" in japanese.json()["description"]


def test_a_member_sees_only_its_own(hub: Hub) -> None:
    acme_only = hub.open(title="Acme only")
    both = hub.open(title="Both", organisations=["Acme Bank", "Peer Bank"])
    listed = hub.client.get("/api/v1/incidents", headers=hub.as_("peer")).json()
    assert [i["title"] for i in listed] == ["Both"]
    assert listed[0]["organisations"] == ["Peer Bank"]
    assert listed[0]["other_organisations"] == 1
    hidden = hub.client.get(f"/api/v1/incidents/{acme_only['id']}", headers=hub.as_("peer"))
    missing = hub.client.get("/api/v1/incidents/999999", headers=hub.as_("peer"))
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["description"].replace(str(acme_only["id"]), "N") == \
        missing.json()["description"].replace("999999", "N")
    peer_metrics = hub.client.get("/api/v1/incidents/metrics", headers=hub.as_("peer")).json()
    assert peer_metrics["incidents"] == 1
    overdue = hub.client.get("/api/v1/incidents?overdue=true", headers=hub.as_("peer")).json()
    assert all(i["id"] == both["id"] for i in overdue)


def test_a_member_cannot_change_another_members_incident(hub: Hub) -> None:
    made = hub.open()
    base = f"/api/v1/incidents/{made['id']}"
    for path, body in ((f"{base}/notes", {"text": "hello"}),
                       (f"{base}/transition", {"status": "acknowledged"}),
                       (f"{base}/indicators", {"type": "ipv4", "value": "192.0.2.1"}),
                       (f"{base}/tasks", {"title": "x"}), (f"{base}/share", {})):
        response = hub.client.post(path, json=body, headers=hub.as_("peer"))
        assert response.status_code == 404, (path, response.text)
    events = hub.client.get(base, headers=hub.as_("hub")).json()["events"]
    assert [e["kind"] for e in events] == ["created"]


def test_an_affected_member_adds_but_does_not_triage(hub: Hub) -> None:
    made = hub.open()
    base = f"/api/v1/incidents/{made['id']}"
    note = hub.client.post(f"{base}/notes", json={"text": "Host isolated."},
                           headers=hub.as_("acme"))
    assert note.status_code == 201
    move = hub.client.post(f"{base}/transition", json={"status": "acknowledged"},
                           headers=hub.as_("acme"))
    assert move.status_code == 403
    reader = hub.client.post(f"{base}/notes", json={"text": "x"}, headers=hub.as_("acme-reader"))
    assert reader.status_code == 403
    own = hub.open("acme", title="Our own", organisations=[])
    assert own["organisations"] == ["Acme Bank"]
    other = hub.client.post("/api/v1/incidents", json={"title": "x", "organisations": [
        "Peer Bank"]}, headers=hub.as_("acme"))
    assert other.status_code == 403


def test_hostile_bodies(hub: Hub) -> None:
    for body, status in (({"title": "x" * 301}, 400), ({"title": "x" * 100_000}, 400),
                         ({"title": "ok", "organisations": ["Nobody"]}, 404),
                         ({"title": "ok", "severity": ["high"]}, 400),
                         ({"title": "<script>alert(1)</script>"}, 201)):
        response = hub.client.post("/api/v1/incidents", json=body, headers=hub.as_("hub"))
        assert response.status_code == status, (body, response.text)
    shown = hub.client.get("/api/v1/incidents", headers=hub.as_("hub")).json()
    assert shown[0]["title"] == "<script>alert(1)</script>"
    assert hub.client.get("/api/v1/incidents").status_code == 401


def _problems(response: httpx.Response) -> list[str]:
    assert response.status_code == 400, response.text
    return [p["where"] for p in response.json()["details"]["problems"]]


def test_numbers_and_times_out_of_range_are_refused_by_name(hub: Hub) -> None:
    """Each of these was a server error (tests/test_openapi_fuzz.py and its probes)."""
    headers, too_big = hub.as_("hub"), 2**31  # past PostgreSQL's INTEGER
    made = hub.open()
    assert _problems(hub.client.get(f"/api/v1/incidents/{too_big}",
                                    headers=headers)) == ["path.incident_id"]
    assert _problems(hub.client.post(f"/api/v1/incidents/{made['id']}/tasks/{too_big}/done",
                                     headers=headers)) == ["path.task_id"]
    early = hub.client.post("/api/v1/incidents", json={
        "title": "x", "occurred_at": "0001-01-01T00:00:00+01:00"}, headers=headers)
    assert _problems(early) == ["body.occurred_at"]
    naive = hub.client.get("/api/v1/incidents/metrics", params={"since": "2026-01-01T00:00"},
                           headers=headers)
    assert naive.status_code == 200, naive.text  # a time without a zone is UTC
    source = hub.client.post("/api/v1/incidents", json={"title": "x", "source": "logs-alert:²"},
                             headers=headers)
    assert source.status_code == 400
    assert source.json()["description"] == "logs-alert records are numbered; got '²'"
    evidence = hub.client.post(f"/api/v1/incidents/{made['id']}/evidence",
                               json={"kind": "logs-alert", "ref": "²"}, headers=headers)
    assert evidence.status_code == 400, evidence.text
    nul = hub.client.post("/api/v1/incidents", json={"title": "x", "organisations": ["\x00"]},
                          headers=headers)  # PostgreSQL keeps no NUL in a text
    assert _problems(nul) == ["body"]
    assert "organisations[0] holds a NUL character" in nul.json()["details"]["problems"][0][
        "message"]
