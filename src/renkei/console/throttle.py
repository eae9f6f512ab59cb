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
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from renkei.console.store import SOURCE_MAX, SignInFailure
from renkei.core.time import Clock

WINDOW = timedelta(minutes=15)
MAX_PER_ACCOUNT_AND_SOURCE = 5
MAX_PER_SOURCE = 20
MAX_PER_ACCOUNT = 50
KEEP = timedelta(days=1)  # rows older than this are deleted as new ones are written


def is_throttled(session: Session, clock: Clock, *, email: str, source: str) -> str | None:
    """``account``, ``source`` or ``account-everywhere`` when that has failed too often
    lately; None otherwise."""
    since = clock.now() - WINDOW
    recent = select(func.count()).select_from(SignInFailure).where(SignInFailure.at > since)
    of_account = recent.where(SignInFailure.email == email[:254])
    if email and (session.scalar(of_account.where(SignInFailure.source == source[:SOURCE_MAX]))
                  or 0) >= MAX_PER_ACCOUNT_AND_SOURCE:
        return "account"
    if email and (session.scalar(of_account) or 0) >= MAX_PER_ACCOUNT:
        return "account-everywhere"
    if (session.scalar(recent.where(SignInFailure.source == source[:SOURCE_MAX]))
            or 0) >= MAX_PER_SOURCE:
        return "source"
    return None


def record_failure(session: Session, clock: Clock, *, email: str, source: str) -> None:
    """Count one failed password or code for ``email`` from ``source``."""
    now = clock.now()
    session.execute(delete(SignInFailure).where(SignInFailure.at < now - KEEP))
    session.add(SignInFailure(at=now, email=email[:254], source=source[:SOURCE_MAX]))
    session.flush()
