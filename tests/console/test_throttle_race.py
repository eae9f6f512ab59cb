"""The sign-in throttle under a parallel burst: attempts sent at once, each a request of its
own (its own connection and transaction), are judged no more often than the limit allows.

Before the throttle locked, every attempt of a burst read the count before any failure was
written, and each had its password checked."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import partial

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from renkei.console import throttle
from renkei.console.store import SignInFailure
from renkei.core.models import AuditEvent
from renkei.core.time import FixedClock
from tests.console.conftest import ORIGIN, PASSWORD, Hub, csrf_of

BURST = 12


def browser(hub: Hub, address: str) -> TestClient:
    """A browser at ``address``: its requests run on an event loop of their own, so a
    burst from several threads reaches the app at once."""
    return TestClient(hub.app, base_url=ORIGIN, headers={"Origin": ORIGIN},
                      follow_redirects=False, client=(address, 40000))


def at_once(attempts: list[Callable[[], Response]]) -> list[Response]:
    """Run the attempts in threads released together."""
    start = threading.Barrier(len(attempts))

    def run(attempt: Callable[[], Response]) -> Response:
        start.wait()
        return attempt()

    with ThreadPoolExecutor(len(attempts)) as pool:
        return list(pool.map(run, attempts))


def count(hub: Hub, action: str, source: str, since: int, **details: str) -> int:
    with hub.db.session() as session:
        stmt = select(AuditEvent.details).where(AuditEvent.action == action,
                                                AuditEvent.source == f"http:{source}",
                                                AuditEvent.id > since)
        return sum(1 for d in session.scalars(stmt) if details.items() <= d.items())


def last_event(hub: Hub) -> int:
    with hub.db.session() as session:
        return session.scalar(select(func.max(AuditEvent.id))) or 0


def test_a_burst_of_wrong_passwords_is_judged_at_most_the_limit(hub: Hub) -> None:
    email, source, before = hub.add_user(), "198.51.100.7", last_event(hub)
    clients = [browser(hub, source) for _ in range(BURST)]
    answers = at_once([partial(c.post, "/login", data={"email": email,
                                                        "password": "wrong password 123"})
                       for c in clients])
    assert [a.status_code for a in answers] == [400] * BURST
    assert len({a.text for a in answers}) == 1, "a throttled attempt reads as a wrong password"
    judged = count(hub, "auth.failed", source, before, method="password")
    assert judged == throttle.MAX_PER_ACCOUNT_AND_SOURCE
    assert count(hub, "console.throttled", source, before) == BURST - judged
    # and the right password is refused too, until the window has passed
    assert browser(hub, source).post("/login", data={"email": email, "password": PASSWORD}
                                     ).status_code == 400
    hub.tick(int(throttle.WINDOW.total_seconds()) + 1)
    assert browser(hub, source).post("/login", data={"email": email, "password": PASSWORD}
                                     ).status_code == 303


def test_a_burst_over_many_addresses_from_one_source_is_judged_at_most_its_limit(
        hub: Hub) -> None:
    source, before = "198.51.100.8", last_event(hub)
    burst = throttle.MAX_PER_SOURCE + 6
    attempts = [partial(browser(hub, source).post, "/login",
                        data={"email": f"nobody{n}@member.example", "password": "wrong password"})
                for n in range(burst)]
    assert [a.status_code for a in at_once(attempts)] == [400] * burst
    assert count(hub, "auth.failed", source, before) == throttle.MAX_PER_SOURCE
    assert count(hub, "console.throttled", source, before, by="source") == \
        burst - throttle.MAX_PER_SOURCE
    hub.tick(int(throttle.WINDOW.total_seconds()) + 1)


def test_a_burst_of_wrong_codes_is_judged_at_most_the_limit(hub: Hub) -> None:
    email, source = hub.add_user(), "198.51.100.9"
    hub.sign_in(hub.client(), email)  # enrols the second factor
    pending = []
    for _ in range(BURST):  # each browser past the password (a right one counts nothing)
        client = browser(hub, source)
        assert client.post("/login", data={"email": email, "password": PASSWORD}
                           ).headers["location"] == "/login/totp"
        pending.append((client, csrf_of(client.get("/login/totp"))))
    before = last_event(hub)
    answers = at_once([partial(c.post, "/login/totp", data={"code": "000000", "csrf": t})
                       for c, t in pending])
    assert [a.status_code for a in answers] == [400] * BURST
    judged = count(hub, "auth.failed", source, before, method="totp")
    assert judged == throttle.MAX_PER_ACCOUNT_AND_SOURCE
    assert count(hub, "console.throttled", source, before) == BURST - judged
    hub.tick(int(throttle.WINDOW.total_seconds()) + 1)


def test_an_attempt_is_counted_before_it_is_judged_and_a_right_one_taken_back(
        db_session: Session, clock: FixedClock) -> None:
    email, source = "someone@member.example", "192.0.2.50"
    throttle.record_failure(db_session, clock, email=email, source=source)
    clock.at += throttle.KEEP + timedelta(seconds=1)
    kept = throttle.begin_attempt(db_session, clock, email=email, source=source)
    assert db_session.scalars(select(SignInFailure.at).where(
        SignInFailure.email == email)).all() == [clock.now()], "rows past KEEP go as attempts come"
    right = throttle.begin_attempt(db_session, clock, email=email, source=source)
    throttle.forgive(db_session, right)
    assert db_session.scalars(select(SignInFailure.id).where(
        SignInFailure.email == email)).all() == [kept]
    for _ in range(throttle.MAX_PER_ACCOUNT_AND_SOURCE - 1):
        throttle.begin_attempt(db_session, clock, email=email, source=source)
    with pytest.raises(throttle.Throttled) as refused:
        throttle.begin_attempt(db_session, clock, email=email, source=source)
    assert refused.value.which == "account"
    assert db_session.scalar(select(func.count()).select_from(SignInFailure).where(
        SignInFailure.email == email)) == throttle.MAX_PER_ACCOUNT_AND_SOURCE, \
        "a refused attempt is not counted"
