"""Sign-in throttling: too many failures for one e-mail address from one source address,
from one source in all, or for one address from everywhere, in a window, and sign-in is
refused there until the window has moved past them.

Counts live in the database (``console_sign_in_failures``), so every server process sees
them. A refused attempt is not itself counted, so a locked pair opens again ``WINDOW``
after its last real failure. The account's own limit counts per source: a stranger who
knows an administrator's address cannot lock the administrator out from elsewhere with a
few bad passwords. Only a flood from many sources (``MAX_PER_ACCOUNT``, far above what a
person mistypes) closes an account everywhere; with the second factor a guessed password
alone opens nothing. The limit per source is higher: many people may sign in from behind
one NAT.

An attempt is counted before it is judged (``begin_attempt``): under a lock, the count is
read and, unless it is at a limit, a failure is written for this attempt and committed;
only then is the password or code checked, and a right one takes its failure back
(``forgive``). Reading the count and writing the failure after the check, a burst of
parallel wrong passwords all read the count before any was written, and each was judged.
The lock is held for milliseconds, never across the slow password hash: on PostgreSQL a
transaction-scoped advisory lock per address and per source (taken in one order, so two
attempts never wait for each other in a circle); on SQLite the database's write lock,
which the first write of the transaction takes (waiting ``busy_timeout`` for it, as
``BEGIN IMMEDIATE`` would). An attempt whose request fails before it is judged stays
counted as a failure. So do attempts still being judged: more right sign-ins in flight at
once from one source than its limit are refused until some finish (a NAT's people, in
the same second).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from renkei.console.store import SOURCE_MAX, SignInFailure
from renkei.core.time import Clock

WINDOW = timedelta(minutes=15)
MAX_PER_ACCOUNT_AND_SOURCE = 5
MAX_PER_SOURCE = 20
MAX_PER_ACCOUNT = 50
KEEP = timedelta(days=1)  # rows older than this are deleted as attempts come
PURGE_BATCH = 1000  # old rows deleted per attempt at most: the work of one is bounded
EMAIL_MAX = 254


class Throttled(Exception):  # noqa: N818  (an answer, not a fault)
    """Too many failures lately: ``which`` limit (``account``, ``source``,
    ``account-everywhere``)."""

    def __init__(self, which: str) -> None:
        self.which = which
        super().__init__(which)


def _lock_key(kind: str, value: str) -> int:
    """A signed 64-bit advisory-lock key for one address or source (a collision only makes
    two unrelated sign-ins wait a moment for each other)."""
    digest = hashlib.blake2b(f"renkei.sign-in\0{kind}\0{value}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big", signed=True)


def _purge(session: Session, now: datetime) -> None:
    """Delete rows past ``KEEP``. On PostgreSQL rows another attempt is deleting are left
    to it (SKIP LOCKED): two attempts never wait on each other's old rows."""
    old = (select(SignInFailure.id).where(SignInFailure.at < now - KEEP)
           .limit(PURGE_BATCH).with_for_update(skip_locked=True))
    session.execute(delete(SignInFailure).where(SignInFailure.id.in_(old))
                    .execution_options(synchronize_session=False))


def _lock(session: Session, now: datetime, email: str, source: str) -> None:
    """Hold the address and the source until the transaction ends (module docstring)."""
    if session.get_bind().dialect.name == "postgresql":
        keys = {_lock_key("source", source)} | ({_lock_key("email", email)} if email else set())
        for key in sorted(keys):
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
    _purge(session, now)  # on SQLite this first write takes (or waits for) the write lock


def is_throttled(session: Session, clock: Clock, *, email: str, source: str) -> str | None:
    """``account``, ``source`` or ``account-everywhere`` when that has failed too often
    lately; None otherwise. Only reads: ``begin_attempt`` is the atomic check-and-count."""
    email, source = email[:EMAIL_MAX], source[:SOURCE_MAX]
    recent = select(func.count()).select_from(SignInFailure).where(
        SignInFailure.at > clock.now() - WINDOW)
    of_account = recent.where(SignInFailure.email == email)
    if email and (session.scalar(of_account.where(SignInFailure.source == source))
                  or 0) >= MAX_PER_ACCOUNT_AND_SOURCE:
        return "account"
    if email and (session.scalar(of_account) or 0) >= MAX_PER_ACCOUNT:
        return "account-everywhere"
    if (session.scalar(recent.where(SignInFailure.source == source)) or 0) >= MAX_PER_SOURCE:
        return "source"
    return None


def record_failure(session: Session, clock: Clock, *, email: str, source: str) -> int:
    """Count one failed password or code for ``email`` from ``source``; the row's id."""
    row = SignInFailure(at=clock.now(), email=email[:EMAIL_MAX], source=source[:SOURCE_MAX])
    session.add(row)
    session.flush()
    return row.id


def begin_attempt(session: Session, clock: Clock, *, email: str, source: str) -> int:
    """Count an attempt as a failure before it is judged, or raise ``Throttled`` (counting
    nothing). Commits the session's transaction either way, which ends the lock and lets
    every other attempt see this one; the caller's work goes on in a new transaction.
    Returns what ``forgive`` takes back when the password or code is right."""
    email, source = email[:EMAIL_MAX], source[:SOURCE_MAX]
    _lock(session, clock.now(), email, source)
    which = is_throttled(session, clock, email=email, source=source)
    attempt = record_failure(session, clock, email=email, source=source) if which is None else 0
    session.commit()  # ends the lock
    if which is not None:
        raise Throttled(which)
    return attempt


def forgive(session: Session, attempt: int) -> None:
    """A right password or code: the attempt ``begin_attempt`` counted was no failure."""
    session.execute(delete(SignInFailure).where(SignInFailure.id == attempt)
                    .execution_options(synchronize_session=False))
