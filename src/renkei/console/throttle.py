"""Sign-in throttling: too many failures for one e-mail address, or from one source
address, in a window, and sign-in is refused for that address or source until the window
has moved past them.

Counts live in the database (``console_sign_in_failures``), so every server process sees
them. A refused attempt is not itself counted, so a locked account opens again
``WINDOW`` after its last real failure. The limit per source is higher than per account:
many people may sign in from behind one NAT.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from renkei.console.store import SOURCE_MAX, SignInFailure
from renkei.core.time import Clock

WINDOW = timedelta(minutes=15)
MAX_PER_ACCOUNT = 5
MAX_PER_SOURCE = 20
KEEP = timedelta(days=1)  # rows older than this are deleted as new ones are written


def is_throttled(session: Session, clock: Clock, *, email: str, source: str) -> str | None:
    """``account`` or ``source`` when that has failed too often lately; None otherwise."""
    since = clock.now() - WINDOW
    recent = select(func.count()).select_from(SignInFailure).where(SignInFailure.at > since)
    if email and (session.scalar(recent.where(SignInFailure.email == email[:254]))
                  or 0) >= MAX_PER_ACCOUNT:
        return "account"
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
