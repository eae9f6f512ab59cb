"""Pages name people, not ``user:3``: the hub's staff see everyone's name and address, a
member only its own organisation's (the hub's users are "hub staff", anyone else
"another organisation"), and a page reads them in one query however many rows it has."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.orm import Session

from renkei.console.actors import ActorNames, user_id_of
from renkei.console.auth import principal_of
from renkei.core import audit, i18n, members, orgs
from renkei.core.models import Organisation, Role, User
from renkei.core.time import FixedClock
from tests.console.conftest import PASSWORD, Hub


@pytest.fixture(scope="module")
def admin(hub: Hub) -> TestClient:
    client = hub.client()
    hub.sign_in(client, hub.admin)
    return client


def user_of(hub: Hub, email: str) -> User:
    with hub.db.session() as session:
        return members.require_user(session, email)


@contextmanager
def user_queries(hub: Hub) -> Iterator[list[str]]:
    """The statements that read the users table while the block runs."""
    seen: list[str] = []

    def watch(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if re.search(r"\bFROM users\b", statement):
            seen.append(statement)

    event.listen(hub.db.engine, "before_cursor_execute", watch)
    try:
        yield seen
    finally:
        event.remove(hub.db.engine, "before_cursor_execute", watch)


def test_the_audit_log_names_users(hub: Hub, admin: TestClient) -> None:
    with hub.db.session() as session:
        named = members.add_user(session, hub.clock, organisation=orgs.require(session, "member"),
                                 email="named@member.example", role=Role.MEMBER_READER,
                                 password=PASSWORD, name="Hanako <Sato>")
        audit.record(session, hub.clock, action="test.named", actor=f"user:{named.id}",
                     target=f"user:{named.id}")
        audit.record(session, hub.clock, action="test.named", actor="user:999999",
                     target="token:abc")
    page = admin.get("/admin/audit", params={"action": "test.named"}).text
    assert "Hanako &lt;Sato&gt; &lt;named@member.example&gt;" in page  # escaped
    assert f'title="user:{named.id}"' in page  # the stored value stays at hand
    assert ">user:999999<" in page  # no such user: the value as it is
    assert ">token:abc<" in page
    by_address = admin.get("/admin/audit", params={"actor": "NAMED@member.example",
                                                   "action": "test."}).text
    assert by_address.count("<td>test.named</td>") == 1
    assert admin.get("/admin/audit", params={"actor": "no@one.example"}).text.count("<tr>") == 2
    assert admin.get("/admin/audit", params={"actor": "@@"}).status_code == 200
    assert "named@member.example" in admin.get("/").text  # the overview's recent events


def test_a_page_reads_its_names_in_one_query(hub: Hub, admin: TestClient) -> None:
    def queries_for(action: str) -> int:
        with user_queries(hub) as seen:
            page = admin.get("/admin/audit", params={"action": action})
        assert page.status_code == 200
        return len(seen)

    with hub.db.session() as session:
        org = orgs.require(session, "member")
        many = [members.add_user(session, hub.clock, organisation=org,
                                 email=f"many{n}@member.example", role=Role.MEMBER_READER,
                                 password=PASSWORD) for n in range(8)]
        for user in many:
            audit.record(session, hub.clock, action="test.many", actor=f"user:{user.id}",
                         target=f"user:{user.id}")
        audit.record(session, hub.clock, action="test.one", actor=f"user:{many[0].id}")
    assert queries_for("test.many") == queries_for("test.one")
    assert queries_for("test.many") <= 2  # the signed-in user, then every name at once


@pytest.fixture
def people(db_session: Session, clock: FixedClock) -> dict[str, User]:
    made = {"hub": orgs.add(db_session, clock, "the hub", hub=True),
            "member": orgs.add(db_session, clock, "a member"),
            "other": orgs.add(db_session, clock, "another member")}
    roles = {"hub": Role.HUB_ANALYST, "member": Role.MEMBER_READER,
             "other": Role.MEMBER_SUBMITTER}
    return {key: members.add_user(db_session, clock, organisation=org, email=f"{key}@x.example",
                                  role=roles[key], password=PASSWORD, name=key.title())
            for key, org in made.items()}


def test_a_member_learns_no_other_organisation_s_people(db_session: Session,
                                                          people: dict[str, User]) -> None:
    t = i18n.translator("en")
    values = [f"user:{u.id}" for u in people.values()]
    staff = ActorNames(db_session, principal_of(db_session, people["hub"]), t)
    assert [staff.label(v) for v in values] == [
        "Hub <hub@x.example>", "Member <member@x.example>", "Other <other@x.example>"]
    member = ActorNames(db_session, principal_of(db_session, people["member"]), t)
    member.preload(values)
    assert [member.label(v) for v in values] == [
        "hub staff", "Member <member@x.example>", "another organisation"]
    assert member.label("user:123456789") == "another organisation"
    ja = ActorNames(db_session, principal_of(db_session, people["member"]),
                    i18n.translator("ja"))
    assert ja.label(values[0]) == "ハブの職員"
    for plain in ("cli", "anonymous", "token:0123", "", None, "user:", "user:1x", "USER:1"):
        assert member.label(plain) == (plain or "-")


@contextmanager
def session_user_queries(session: Session) -> Iterator[list[str]]:
    """The statements that read the users table through ``session`` while the block runs."""
    seen: list[str] = []

    def watch(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if re.search(r"\bFROM users\b", statement):
            seen.append(statement)

    engine = session.get_bind().engine
    event.listen(engine, "before_cursor_execute", watch)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", watch)


def test_a_name_not_preloaded_reads_that_user_alone(db_session: Session, clock: FixedClock,
                                                     people: dict[str, User]) -> None:
    """A miss reads the one user asked, not every user the viewer may know; what a member
    learns is the same either way: nothing of another organisation's people."""
    t = i18n.translator("en")
    other = f"user:{people['other'].id}"
    member = ActorNames(db_session, principal_of(db_session, people["member"]), t)
    with session_user_queries(db_session) as seen:
        assert member.label(other) == "another organisation"
        assert member.label(f"user:00{people['other'].id}") == "another organisation"
        assert member.label(other) == "another organisation"  # asked once, read once
    assert len(seen) == 1
    own = db_session.get(Organisation, people["member"].organisation_id)
    assert own is not None
    colleague = members.add_user(db_session, clock, organisation=own, email="late@x.example",
                                 role=Role.MEMBER_READER, password=PASSWORD, name="Late")
    with session_user_queries(db_session) as seen:  # made after the first read: read now
        assert member.label(f"user:{colleague.id}") == "Late <late@x.example>"
        assert member.label(f"user:{people['hub'].id}") == "hub staff"
    assert len(seen) == 2
    preloaded = ActorNames(db_session, principal_of(db_session, people["member"]), t)
    preloaded.preload([other, f"user:{colleague.id}", "cli", None])
    with session_user_queries(db_session) as seen:
        assert [preloaded.label(other), preloaded.label(f"user:{colleague.id}")] == [
            "another organisation", "Late <late@x.example>"]
    assert seen == []  # both were read in the preload's one query
    staff = ActorNames(db_session, principal_of(db_session, people["hub"]), t)
    assert staff.label(other) == "Other <other@x.example>"


def test_user_ids_are_read_strictly() -> None:
    assert user_id_of("user:42") == 42
    for value in ("user:", "user:-1", "user:4 2", "user:٤٢", "user:" + "9" * 11, "xuser:1",
                  None):
        assert user_id_of(value) is None


def test_a_member_reads_an_incident_s_handlers_as_hub_staff(hub: Hub) -> None:
    """A domain's page (the incident timeline) names people through the same filter."""
    from renkei.console.auth import principal_of as principal
    from renkei.incidents import service as incidents

    analyst = hub.add_user("hub", Role.HUB_ANALYST)
    reporter = hub.add_user("member", Role.MEMBER_SUBMITTER)
    with hub.db.session() as session:
        staff = incidents.Caller.of(principal(session, members.require_user(session, analyst)))
        member = incidents.Caller.of(principal(session, members.require_user(session, reporter)))
        opened = incidents.create(session, hub.clock, member, title="Phishing wave",
                                  severity="high", category="fraud",
                                  organisations=["member"])
        incidents.add_note(session, hub.clock, staff, opened.id, "looking into it")
        incident_id = opened.id
    client = hub.client()
    hub.sign_in(client, reporter)
    page = client.get(f"/incidents/{incident_id}").text
    assert "<td>hub staff</td>" in page
    assert analyst not in page
    assert f"<td>{reporter}</td>" in page  # its own organisation's user, by address
    staff_client = hub.client()
    hub.sign_in(staff_client, analyst)
    seen_by_staff = staff_client.get(f"/incidents/{incident_id}").text
    assert f"<td>{reporter}</td>" in seen_by_staff
    assert f"<td>{analyst}</td>" in seen_by_staff
