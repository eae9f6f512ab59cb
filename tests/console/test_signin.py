"""Signing in: password, then a second factor; enrolment; reuse, throttling, expiry."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from renkei.console import sessions, throttle, totp
from renkei.core.models import AuditEvent, User
from renkei.core.time import FixedClock
from tests.console.conftest import PASSWORD, Hub, csrf_of


def actions(hub: Hub, since_id: int = 0) -> list[str]:
    with hub.db.session() as session:
        return list(session.scalars(select(AuditEvent.action).where(AuditEvent.id > since_id)
                                    .order_by(AuditEvent.id)))


def last_event_id(hub: Hub) -> int:
    with hub.db.session() as session:
        return session.scalar(select(func.max(AuditEvent.id))) or 0


def test_first_sign_in_enrols_a_second_factor_then_opens_the_overview(hub: Hub) -> None:
    email = hub.add_user()
    client = hub.client()
    before = last_event_id(hub)
    answer = client.post("/login", data={"email": email, "password": PASSWORD})
    assert answer.headers["location"] == "/login/enrol"
    pending = client.cookies["renkei_session"]
    assert client.get("/").headers["location"] == "/login"  # a pending session opens nothing
    enrol = client.get("/login/enrol")
    assert 'src="data:image/svg+xml' in enrol.text
    secret = enrol.text.split('id="totp-secret">')[1].split("<")[0].replace(" ", "")
    answer = client.post("/login/enrol", data={"code": "000000", "csrf": csrf_of(enrol)})
    assert answer.status_code == 400
    assert "not accepted" in answer.text
    code = totp.code_at(secret, hub.clock.now())
    answer = client.post("/login/enrol", data={"code": code, "csrf": csrf_of(enrol)})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/"
    assert client.cookies["renkei_session"] != pending
    assert client.get("/").status_code == 200
    with hub.db.session() as session:
        user = session.scalar(select(User).where(User.email == email))
        assert user is not None
        assert user.totp_enabled_at is not None
        assert user.totp_secret == secret
    assert {"console.signin.password", "console.totp.enrolled", "console.signin",
            "auth.failed"} <= set(actions(hub, before))


def test_sign_in_with_a_code_opens_a_new_session(hub: Hub) -> None:
    email = hub.add_user()
    hub.sign_in(hub.client(), email)
    client = hub.client()
    answer = client.post("/login", data={"email": email, "password": PASSWORD})
    assert answer.headers["location"] == "/login/totp"
    pending = client.cookies["renkei_session"]
    answer = hub.sign_in(client, email)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/"
    assert client.cookies["renkei_session"] != pending
    overview = client.get("/")
    assert overview.status_code == 200
    assert "Your account" in overview.text


def test_a_code_is_not_accepted_twice(hub: Hub) -> None:
    email = hub.add_user()
    hub.sign_in(hub.client(), email)
    hub.tick()
    code = totp.code_at(hub.secrets[email], hub.clock.now())
    first, second = hub.client(), hub.client()
    for client in (first, second):
        client.post("/login", data={"email": email, "password": PASSWORD})
    answer = first.post("/login/totp", data={"code": code, "csrf": csrf_of(first.get("/login/totp"))})
    assert answer.status_code == 303
    answer = second.post("/login/totp", data={"code": code, "csrf": csrf_of(second.get("/login/totp"))})
    assert answer.status_code == 400


def test_the_previous_and_next_steps_are_accepted(hub: Hub) -> None:
    email = hub.add_user()
    hub.sign_in(hub.client(), email)
    secret = hub.secrets[email]
    hub.tick(90)
    assert totp.accepted_step(secret, totp.code_at(secret, hub.clock.now() - timedelta(seconds=30)),
                              hub.clock.now(), after=None) is not None
    assert totp.accepted_step(secret, totp.code_at(secret, hub.clock.now() + timedelta(seconds=30)),
                              hub.clock.now(), after=None) is not None
    assert totp.accepted_step(secret, totp.code_at(secret, hub.clock.now() - timedelta(seconds=90)),
                              hub.clock.now(), after=None) is None


def test_wrong_passwords_are_throttled_per_account_with_the_same_answer(hub: Hub) -> None:
    email = hub.add_user()
    client = hub.client()
    for _ in range(throttle.MAX_PER_ACCOUNT_AND_SOURCE):
        wrong = client.post("/login", data={"email": email, "password": "wrong password 123"})
        assert wrong.status_code == 400
    before = last_event_id(hub)
    right = client.post("/login", data={"email": email, "password": PASSWORD})
    assert right.status_code == 400
    assert right.text == wrong.text  # the same page as a wrong password
    assert actions(hub, before) == ["console.throttled"]
    hub.tick(int(throttle.WINDOW.total_seconds()) + 1)
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 303


def test_wrong_codes_count_towards_the_throttle(hub: Hub) -> None:
    email = hub.add_user()
    hub.sign_in(hub.client(), email)
    client = hub.client()
    client.post("/login", data={"email": email, "password": PASSWORD})
    csrf = csrf_of(client.get("/login/totp"))
    for _ in range(throttle.MAX_PER_ACCOUNT_AND_SOURCE):
        assert client.post("/login/totp", data={"code": "123456", "csrf": csrf}).status_code == 400
    hub.tick()
    code = totp.code_at(hub.secrets[email], hub.clock.now())
    assert client.post("/login/totp", data={"code": code, "csrf": csrf}).status_code == 400


def test_sessions_end_when_idle_and_at_the_absolute_limit(hub: Hub) -> None:
    email = hub.add_user()
    client = hub.client()
    hub.sign_in(client, email)
    hub.tick(int(sessions.IDLE.total_seconds()) - 60)
    assert client.get("/").status_code == 200
    hub.tick(int(sessions.IDLE.total_seconds()) + 1)
    assert client.get("/").status_code == 303
    hub.sign_in(client, email)
    ends = hub.clock.now() + sessions.ABSOLUTE
    while hub.clock.now() + sessions.IDLE < ends:  # used all the time, never idle
        hub.tick(int(sessions.IDLE.total_seconds()) - 60)
        assert client.get("/").status_code == 200
    hub.tick(int((ends - hub.clock.now()).total_seconds()))
    assert client.get("/").headers["location"] == "/login"


def test_sign_out_ends_the_session(hub: Hub) -> None:
    client = hub.client()
    hub.sign_in(client, hub.add_user())
    cookie = client.cookies["renkei_session"]
    answer = client.post("/logout", data={"csrf": csrf_of(client.get("/"))})
    assert answer.headers["location"] == "/login"
    client.cookies.set("renkei_session", cookie)
    assert client.get("/").status_code == 303


def test_a_stranger_elsewhere_cannot_lock_an_account_out(db_session: Session,
                                                         clock: FixedClock) -> None:
    """Failures from one source close that pair only; only a flood from many sources closes
    the account everywhere."""
    email = "admin@hub.example"
    for _ in range(throttle.MAX_PER_ACCOUNT_AND_SOURCE):
        throttle.record_failure(db_session, clock, email=email, source="203.0.113.9")
    assert throttle.is_throttled(db_session, clock, email=email,
                                 source="203.0.113.9") == "account"
    assert throttle.is_throttled(db_session, clock, email=email, source="192.0.2.1") is None
    for number in range(throttle.MAX_PER_ACCOUNT):
        throttle.record_failure(db_session, clock, email=email, source=f"198.51.100.{number}")
    assert throttle.is_throttled(db_session, clock, email=email,
                                 source="192.0.2.1") == "account-everywhere"
