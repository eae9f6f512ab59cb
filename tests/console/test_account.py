"""A signed-in user changes their own password: the current one is checked (and wrong
guesses throttled like sign-in), the new one typed twice under the CLI's length rule,
and every other session of theirs ends while this browser goes on."""

from __future__ import annotations

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select

from renkei.console import throttle
from renkei.console.store import ConsoleSession
from renkei.core import members
from renkei.core.models import AuditEvent
from tests.console.conftest import PASSWORD, Hub, csrf_of
from tests.console.signed_in import browser

NEW = "a brand new passphrase 42"



def change(client: TestClient, current: str, new: str, repeat: str | None = None,
           csrf: str | None = None) -> Response:
    token = csrf_of(client.get("/account/password")) if csrf is None else csrf
    return client.post("/account/password", data={
        "csrf": token, "current": current, "new": new,
        "repeat": new if repeat is None else repeat})


def events(hub: Hub, action: str, target: str) -> list[AuditEvent]:
    with hub.db.session() as session:
        return list(session.scalars(select(AuditEvent).where(
            AuditEvent.action == action, AuditEvent.target == target)))


def user_id(hub: Hub, email: str) -> int:
    with hub.db.session() as session:
        return members.require_user(session, email).id


def test_the_overview_leads_to_the_form(hub: Hub) -> None:
    client = browser(hub, hub.add_user())
    assert 'href="/account/password"' in client.get("/").text
    form = client.get("/account/password")
    assert form.status_code == 200
    assert 'autocomplete="current-password"' in form.text
    assert 'minlength="12"' in form.text


def test_a_changed_password_ends_every_other_session(hub: Hub) -> None:
    email = hub.add_user()
    here, elsewhere = browser(hub, email), browser(hub, email)
    old_cookie = here.cookies["renkei_session"]
    with hub.db.session() as session:
        old_expiry = session.scalar(select(ConsoleSession.expires_at).where(
            ConsoleSession.key_id == old_cookie.split(".")[0]))
    hub.tick(600)
    answer = change(here, PASSWORD, NEW)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/account/password?changed=1"
    new_cookie = here.cookies["renkei_session"]
    assert new_cookie != old_cookie
    assert "Your password is changed" in here.get(answer.headers["location"]).text
    assert here.get("/").status_code == 200  # this browser goes on
    assert elsewhere.get("/").status_code == 303  # the other one is signed out
    assert elsewhere.get("/").headers["location"] == "/login"
    stale = hub.client()
    stale.cookies.set("renkei_session", old_cookie)
    assert stale.get("/").status_code == 303  # the old cookie of this browser too
    with hub.db.session() as session:
        rows = {r.key_id: r for r in session.scalars(select(ConsoleSession).where(
            ConsoleSession.user_id == user_id(hub, email)))}
        live = [r for r in rows.values() if r.revoked_at is None]
        assert [r.key_id for r in live] == [new_cookie.split(".")[0]]
        assert live[0].expires_at == old_expiry  # no longer than the session it replaces
    me = f"user:{user_id(hub, email)}"
    [audited] = events(hub, "users.password", me)
    assert audited.actor == me
    assert audited.source.startswith("http")
    [ended] = events(hub, "console.sessions.ended", me)
    assert ended.details["sessions_ended"] == 2  # this one and the other
    wrong = hub.client().post("/login", data={"email": email, "password": PASSWORD})
    assert wrong.status_code == 400
    hub.sign_in(hub.client(), email, NEW)


def test_a_wrong_current_password_changes_nothing_and_is_throttled(hub: Hub) -> None:
    email = hub.add_user()
    client = browser(hub, email)
    token = csrf_of(client.get("/account/password"))
    for _ in range(throttle.MAX_PER_ACCOUNT_AND_SOURCE):
        wrong = change(client, "not my password", NEW, csrf=token)
        assert wrong.status_code == 400
        assert "the current password is not accepted" in wrong.text
    right = change(client, PASSWORD, NEW, csrf=token)
    assert right.status_code == 400  # throttled: the same answer as a wrong password
    assert "the current password is not accepted" in right.text
    me = f"user:{user_id(hub, email)}"
    assert len(events(hub, "auth.failed", me)) == throttle.MAX_PER_ACCOUNT_AND_SOURCE
    assert [e.details["step"] for e in events(hub, "console.throttled", me)] == [
        "password-change"]
    assert events(hub, "users.password", me) == []
    # sign-in from this source is throttled as well: the failures are the same count
    assert hub.client().post("/login", data={"email": email, "password": PASSWORD}
                             ).status_code == 400
    hub.tick(int(throttle.WINDOW.total_seconds()) + 1)
    assert change(client, PASSWORD, NEW, csrf=token).status_code == 303


def test_the_new_password_must_be_typed_twice_and_follow_the_rules(hub: Hub) -> None:
    email = hub.add_user()
    client = browser(hub, email)
    differ = change(client, PASSWORD, NEW, NEW + "!")
    assert differ.status_code == 400
    assert "the two new passwords differ" in differ.text
    short = change(client, PASSWORD, "short", "short")
    assert short.status_code == 400
    assert "password must be 12 to 1024 characters" in short.text
    control = change(client, PASSWORD, "tab\tin the password")
    assert control.status_code == 400
    same = change(client, PASSWORD, PASSWORD)
    assert same.status_code == 400
    assert "the new password is the current one" in same.text
    too_long = change(client, PASSWORD, "x" * 5000)
    assert too_long.status_code == 400
    assert events(hub, "users.password", f"user:{user_id(hub, email)}") == []
    assert client.get("/").status_code == 200  # still signed in


def test_the_form_needs_its_csrf_token_and_this_site(hub: Hub) -> None:
    email = hub.add_user()
    client = browser(hub, email)
    data = {"current": PASSWORD, "new": NEW, "repeat": NEW}
    assert client.post("/account/password", data=data).status_code == 403
    assert client.post("/account/password", data=data | {"csrf": "x" * 43}).status_code == 403
    token = csrf_of(client.get("/account/password"))
    assert client.post("/account/password", data=data | {"csrf": token},
                       headers={"Origin": "https://evil.example"}).status_code == 403
    assert events(hub, "users.password", f"user:{user_id(hub, email)}") == []
    stranger = hub.client()
    answer = stranger.post("/account/password", data=data | {"csrf": token})
    assert answer.headers["location"] == "/login"


def test_it_speaks_japanese(hub: Hub) -> None:
    client = browser(hub, hub.add_user())
    token = csrf_of(client.get("/"))
    client.post("/language", data={"lang": "ja", "csrf": token})
    assert "パスワードの変更" in client.get("/account/password").text
    assert "一致しません" in change(client, PASSWORD, NEW, NEW + "x").text
