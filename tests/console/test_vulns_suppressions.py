"""Suppressions in the console: a member lists, adds (from a match) and removes its own;
another member neither sees nor removes them; the hub's staff read every member's and
change none; every change is audited through the service."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select

from renkei.core import orgs
from renkei.core.models import AuditEvent, Role
from renkei.vulns import alerts
from renkei.vulns.ingest import import_records
from renkei.vulns.inventory import parse_inventory
from renkei.vulns.store import Alert, Suppression
from tests.console.conftest import Hub, csrf_of
from tests.console.signed_in import browser
from tests.console.test_vulns_pages import SQL, django


@pytest.fixture(scope="module")
def seeded(hub: Hub) -> Hub:
    """One advisory matching an asset of the member and one of another member."""
    with hub.db.session() as session:
        other = orgs.add(session, hub.clock, "other")
        import_records(session, hub.clock, [django()], paths=["osv.zip"])
        components = parse_inventory(b"django==4.2.1\nflask==2.0\n",
                                     "requirements.txt").components
        alerts.register_asset(session, hub.clock, orgs.require(session, "member").id,
                              "web shop", components, "requirements", actor="test")
        alerts.register_asset(session, hub.clock, other.id, "other app", components,
                              "requirements", actor="test")
    return hub



@pytest.fixture(scope="module")
def mine(seeded: Hub) -> TestClient:
    return browser(seeded, seeded.add_user("member", Role.MEMBER_SUBMITTER))


@pytest.fixture(scope="module")
def theirs(seeded: Hub) -> TestClient:
    return browser(seeded, seeded.add_user("other", Role.MEMBER_SUBMITTER))


@pytest.fixture(scope="module")
def admin(seeded: Hub) -> TestClient:
    return browser(seeded, seeded.admin)


def alert_id(hub: Hub, org: str) -> int:
    with hub.db.session() as session:
        found = session.scalar(select(Alert.id).where(
            Alert.organisation_id == orgs.require(session, org).id, Alert.asset_id != 0))
        assert found is not None
        return found


def suppression_ids(hub: Hub, org: str) -> list[int]:
    with hub.db.session() as session:
        return list(session.scalars(select(Suppression.id).where(
            Suppression.organisation_id == orgs.require(session, org).id)))


def add(client: TestClient, **fields: str) -> Response:
    token = csrf_of(client.get("/vulns/suppressions"))
    data = {"vulnerability": SQL, "component": "*", "kind": "accepted_risk",
            "reason": "behind the WAF", "days": "30", "csrf": token} | fields
    return client.post("/vulns/suppressions", data=data)


def remove(client: TestClient, suppression_id: int | str) -> Response:
    token = csrf_of(client.get("/vulns/suppressions"))
    return client.post(f"/vulns/suppressions/{suppression_id}/remove", data={"csrf": token})


def audited(hub: Hub, action: str) -> list[AuditEvent]:
    with hub.db.session() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)
                                    .order_by(AuditEvent.id)))


def test_a_member_suppresses_a_match_from_its_row(seeded: Hub, mine: TestClient) -> None:
    matches = mine.get("/vulns/alerts").text
    own = alert_id(seeded, "member")
    assert f'href="/vulns/suppressions?alert={own}#add"' in matches
    form = mine.get("/vulns/suppressions", params={"alert": str(own)}).text
    assert f'name="vulnerability" value="{SQL}"' in form
    assert '<option value="django==4.2.1">' in form
    answer = add(mine, component="django==4.2.1", kind="false_positive",
                 reason="we patched it <b>ourselves</b>")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/vulns/suppressions"
    listed = mine.get("/vulns/suppressions").text
    assert "we patched it &lt;b&gt;ourselves&lt;/b&gt;" in listed
    assert "false positive" in listed
    assert "2026-05-01" in listed  # 30 days after the fixed clock's day
    assert "@member.example" in listed  # who made it, by address: one of its own
    assert 'class="badge">suppressed<' in mine.get("/vulns/alerts").text
    [event] = audited(seeded, "vulns.suppress")
    assert event.target == f"{SQL}:django==4.2.1"
    assert event.actor.startswith("user:")


def test_another_member_neither_sees_nor_removes_them(seeded: Hub, mine: TestClient,
                                                      theirs: TestClient) -> None:
    if not suppression_ids(seeded, "member"):
        assert add(mine, reason="mine alone").status_code == 303
    [first, *_] = suppression_ids(seeded, "member")
    page = theirs.get("/vulns/suppressions").text
    assert "No suppressions." in page
    assert "@member.example" not in page
    named = theirs.get("/vulns/suppressions", params={"org": "member"})
    assert named.status_code == 400  # as for the other vulns pages: "no organisation member"
    assert "@member.example" not in named.text
    refused = remove(theirs, first)
    assert refused.status_code == 404
    assert "no suppression" in refused.text
    assert first in suppression_ids(seeded, "member")
    # the other member's own match row: never prefilled from this member's alert
    form = theirs.get("/vulns/suppressions",
                      params={"alert": str(alert_id(seeded, "member"))}).text
    assert 'name="vulnerability" value=""' in form
    assert add(theirs, reason="theirs").status_code == 303
    assert "theirs" not in mine.get("/vulns/suppressions").text
    assert [e.organisation_id for e in audited(seeded, "vulns.unsuppress")] == []


def test_the_hub_s_staff_read_all_and_change_none(seeded: Hub, mine: TestClient,
                                                  theirs: TestClient, admin: TestClient) -> None:
    for client, reason in ((mine, "seen by staff"), (theirs, "also seen")):
        assert add(client, reason=reason, component="flask==2.0").status_code == 303
    page = admin.get("/vulns/suppressions").text
    assert "seen by staff" in page
    assert "also seen" in page
    assert "<td>other</td>" in page  # the member's name
    assert "/remove" not in page
    assert 'id="add"' not in page
    assert "also seen" not in admin.get("/vulns/suppressions", params={"org": "member"}).text
    assert add(admin).status_code == 403
    [first, *_] = suppression_ids(seeded, "member")
    assert remove(admin, first).status_code == 403
    assert first in suppression_ids(seeded, "member")
    assert "Suppress</a>" not in admin.get("/vulns/alerts").text


def test_a_reader_may_not_change_them(seeded: Hub) -> None:
    reader = browser(seeded, seeded.member)
    page = reader.get("/vulns/suppressions").text
    assert 'id="add"' not in page
    assert "/remove" not in page
    assert add(reader).status_code == 403
    [first, *_] = suppression_ids(seeded, "member")
    assert remove(reader, first).status_code == 403


def test_a_member_removes_its_own(seeded: Hub, mine: TestClient) -> None:
    assert add(mine, reason="to be removed", component="removable").status_code == 303
    with seeded.db.session() as session:
        row = session.scalar(select(Suppression).where(Suppression.component == "removable"))
        assert row is not None
    answer = remove(mine, row.id)
    assert answer.status_code == 303
    assert row.id not in suppression_ids(seeded, "member")
    assert "to be removed" not in mine.get("/vulns/suppressions").text
    [event] = audited(seeded, "vulns.unsuppress")
    assert event.target == f"{SQL}:removable"
    assert event.details["reason"] == "to be removed"
    assert remove(mine, row.id).status_code == 404  # twice: it is gone


@pytest.mark.parametrize("fields", [
    {"days": "0"}, {"days": "3651"}, {"days": "abc"}, {"days": "-1"}, {"days": "٣"},
    {"days": ""}, {"vulnerability": ""}, {"vulnerability": "   "}, {"kind": "whatever"},
    {"reason": ""}, {"reason": "\x00\x07"},
    {"component": ""}, {"component": "   "},  # never widened to every component
])
def test_a_bad_form_is_shown_again(mine: TestClient, fields: dict[str, str]) -> None:
    answer = add(mine, **fields)
    assert answer.status_code == 400, answer.text[:300]
    assert 'class="error"' in answer.text


def test_hostile_ids_and_forms(seeded: Hub, mine: TestClient) -> None:
    for value in ("abc", "0", "99999999999999999999", "-1"):
        assert remove(mine, value).status_code == 404
        assert mine.get("/vulns/suppressions", params={"alert": value}).status_code == 200
    assert mine.post("/vulns/suppressions", data={"vulnerability": SQL, "reason": "x",
                                                  "days": "1"}).status_code == 403  # no CSRF
    long = add(mine, vulnerability="V" * 5000, component="c" * 5000, reason="r" * 5000)
    assert long.status_code == 303
    with seeded.db.session() as session:
        row = session.scalar(select(Suppression).where(Suppression.component.startswith("ccc")))
        assert row is not None
        assert len(row.vulnerability) == 200
        assert len(row.component) == 2000
        assert len(row.reason) == 2000
        assert row.expires_at == seeded.clock.now() + timedelta(days=30)


def test_an_expired_suppression_is_marked(seeded: Hub, mine: TestClient) -> None:
    assert add(mine, days="1", reason="short lived", component="brief").status_code == 303
    seeded.tick(2 * 86400)
    mine = browser(seeded, seeded.add_user("member", Role.MEMBER_SUBMITTER))  # idle ended
    page = mine.get("/vulns/suppressions").text
    row = re.search(r"<tr>(?:(?!</tr>).)*short lived(?:(?!</tr>).)*</tr>", page, re.S)
    assert row is not None
    assert "expired" in row.group(0)
