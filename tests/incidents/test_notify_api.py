"""Members' notification contacts and webhooks through the real application: the hub's
staff list, add and remove them, every change audited, a webhook's secret shown once; a
member or a reader gets in nowhere and learns nothing of anyone's contacts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from renkei.core.db import Database
from renkei.core.models import AuditEvent
from tests.hub_fixtures import ApiHub, api_client, seed_hub

BASE = "/api/v1/incidents"
PEER_EMAIL = "soc@peer.example"
PEER_HOOK = "https://hooks.peer.example/renkei?k=1"
TOKENS = {"hub": "read,submit", "hub-reader": "read", "acme": "read,submit",
          "acme-reader": "read"}


class Hub(ApiHub):
    def call(self, who: str, method: str, path: str, body: Any = None) -> Any:
        return self.client.request(method, f"{BASE}{path}", json=body, headers=self.as_(who))

    def actions(self, prefix: str = "incidents.") -> list[str]:
        database = Database(self.database_url, migrate=False)
        try:
            with database.session() as session:
                return list(session.scalars(select(AuditEvent.action).where(
                    AuditEvent.action.startswith(prefix)).order_by(AuditEvent.id)))
        finally:
            database.dispose()


@pytest.fixture
def hub(tmp_path: Path, empty_database_url: str) -> Iterator[Hub]:
    tokens = seed_hub(empty_database_url, ("hub", "acme", "peer"), TOKENS)
    with api_client(tmp_path, empty_database_url) as client:
        yield Hub(client, tokens, empty_database_url)


def test_the_hub_keeps_members_contacts(hub: Hub) -> None:
    made = hub.call("hub", "POST", "/contacts", {"organisation": "Acme Bank",
                                                 "email": "CSIRT@Acme.example", "lang": "ja"})
    assert made.status_code == 201, made.text
    assert {k: made.json()[k] for k in ("organisation", "email", "lang")} == {
        "organisation": "Acme Bank", "email": "csirt@acme.example", "lang": "ja"}
    assert hub.call("hub", "POST", "/contacts", {"organisation": "Peer Bank",
                                                 "email": PEER_EMAIL}).status_code == 201
    listed = hub.call("hub", "GET", "/contacts").json()
    assert [(c["organisation"], c["email"]) for c in listed] == [
        ("Acme Bank", "csirt@acme.example"), ("Peer Bank", PEER_EMAIL)]
    only = hub.client.get(f"{BASE}/contacts", params={"organisation": "Peer Bank"},
                          headers=hub.as_("hub")).json()
    assert [c["email"] for c in only] == [PEER_EMAIL]
    for body, status in (({"organisation": "Acme Bank", "email": "csirt@acme.example"}, 409),
                         ({"organisation": "Nobody", "email": "a@b.example"}, 404),
                         ({"organisation": "Hub", "email": "a@b.example"}, 400),
                         ({"organisation": "Acme Bank", "email": "a@b.example", "lang": "fr"},
                          400),
                         ({"organisation": "Acme Bank", "email": "not an address"}, 400),
                         ({"organisation": "Acme Bank", "email": "a" * 300}, 400)):
        assert hub.call("hub", "POST", "/contacts", body).status_code == status, body
    gone = hub.call("hub", "DELETE", f"/contacts/{made.json()['id']}")
    assert gone.status_code == 200
    assert gone.json()["email"] == "csirt@acme.example"
    assert hub.call("hub", "DELETE", f"/contacts/{made.json()['id']}").status_code == 404
    assert [c["email"] for c in hub.call("hub", "GET", "/contacts").json()] == [PEER_EMAIL]
    assert hub.actions() == ["incidents.contact.add", "incidents.contact.add",
                             "incidents.contact.remove"]


def test_a_webhook_secret_is_shown_once(hub: Hub) -> None:
    made = hub.call("hub", "POST", "/webhooks", {"organisation": "Peer Bank", "url": PEER_HOOK})
    assert made.status_code == 201, made.text
    secret = made.json()["secret"]
    assert secret.startswith("whsec_")
    assert len(secret) > 30
    listed = hub.call("hub", "GET", "/webhooks")
    assert [(h["organisation"], h["url"]) for h in listed.json()] == [("Peer Bank", PEER_HOOK)]
    assert "secret" not in listed.json()[0]
    assert secret not in listed.text
    for url in ("http://hooks.peer.example/", "https://user:pw@hooks.peer.example/",
                "ftp://hooks.peer.example/", "https://hooks.peer.example/\nX-Evil: 1"):
        refused = hub.call("hub", "POST", "/webhooks", {"organisation": "Peer Bank", "url": url})
        assert refused.status_code == 400, url
    gone = hub.call("hub", "DELETE", f"/webhooks/{made.json()['id']}")
    assert gone.status_code == 200
    assert secret not in gone.text
    assert hub.call("hub", "GET", "/webhooks").json() == []
    assert hub.call("hub", "DELETE", f"/webhooks/{made.json()['id']}").status_code == 404
    assert hub.actions() == ["incidents.webhook.add", "incidents.webhook.remove"]


def test_members_and_readers_get_in_nowhere(hub: Hub) -> None:
    contact = hub.call("hub", "POST", "/contacts", {"organisation": "Peer Bank",
                                                    "email": PEER_EMAIL}).json()
    hook = hub.call("hub", "POST", "/webhooks", {"organisation": "Peer Bank",
                                                 "url": PEER_HOOK}).json()
    attempts = [("GET", "/contacts", None), ("GET", "/webhooks", None),
                ("POST", "/contacts", {"organisation": "Acme Bank", "email": "me@acme.example"}),
                ("POST", "/contacts", {"organisation": "Peer Bank", "email": "me@acme.example"}),
                ("POST", "/webhooks", {"organisation": "Acme Bank",
                                       "url": "https://acme.example/hook"}),
                ("DELETE", f"/contacts/{contact['id']}", None),
                ("DELETE", f"/webhooks/{hook['id']}", None),
                ("DELETE", "/contacts/424242", None),  # the same answer as one that exists
                ("DELETE", "/webhooks/424242", None)]
    for who in ("acme", "acme-reader"):
        for method, path, body in attempts:
            answer = hub.call(who, method, path, body)
            assert answer.status_code == 403, (who, method, path, answer.text)
            assert "peer.example" not in answer.text  # neither the address nor the URL
    for method, path, body in attempts[2:]:  # the hub's readers read, and change nothing
        assert hub.call("hub-reader", method, path, body).status_code == 403, (method, path)
    assert [c["email"] for c in hub.call("hub-reader", "GET", "/contacts").json()] == [
        PEER_EMAIL]
    assert [h["id"] for h in hub.call("hub-reader", "GET", "/webhooks").json()] == [hook["id"]]
    for path in ("/contacts", "/webhooks"):
        assert hub.client.get(f"{BASE}{path}").status_code == 401
    # every attempt is audited: by the incidents service, or by the scope check before it
    assert len([a for a in hub.actions() if a.endswith(".refused")]) == 9 + 2
    assert len(hub.actions("auth.scope_refused")) == 7 + 7


def test_incident_ids_are_still_routes_of_their_own(hub: Hub) -> None:
    made = hub.call("hub", "POST", "", {"title": "Phishing", "organisations": ["Acme Bank"]})
    assert made.status_code == 201
    assert hub.call("hub", "GET", f"/{made.json()['id']}").json()["title"] == "Phishing"
    assert hub.call("hub", "GET", "/contacts").json() == []
    assert hub.call("hub", "DELETE", "/contacts/0").status_code == 400


def test_the_hub_notifies_the_affected_members_from_the_api(hub: Hub) -> None:
    """A real local receiver gets the signed webhook; a member may not notify anyone."""
    from tests.incidents.test_notify import Receiver

    receiver = Receiver()
    try:
        hook = hub.call("hub", "POST", "/webhooks", {"organisation": "Acme Bank",
                                                     "url": receiver.url})
        assert hook.status_code == 201, hook.text
        opened = hub.call("hub", "POST", "", {"title": "Phishing", "organisations": ["Acme Bank"]})
        number = opened.json()["id"]
        assert hub.call("acme", "POST", f"/{number}/notify").status_code == 403
        told = hub.call("hub", "POST", f"/{number}/notify")
        assert told.status_code == 200, told.text
        assert told.json() == {"sent": 1, "failed": 0, "email_configured": False}
        assert len(receiver.received) == 1
        events = hub.call("hub", "GET", f"/{number}").json()["events"]
        assert events[-1]["kind"] == "notified"
    finally:
        receiver.close()
