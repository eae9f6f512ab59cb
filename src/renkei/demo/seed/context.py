"""What every seeding step shares: the database, "now", a folder for files, and callers.

Steps act at moments in the past (``at``) so that the demo's history spreads over the
month before ``now``: every service takes its clock as an argument, and a fixed clock
per action is all it needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from renkei.core import members, orgs
from renkei.core.db import Database
from renkei.core.members import ALLOWED_SCOPES, Principal
from renkei.core.time import FixedClock


@dataclass(frozen=True)
class Context:
    database: Database
    now: datetime
    workdir: Path

    def at(self, days_ago: float = 0.0, hours: float = 0.0) -> FixedClock:
        """A clock stopped ``days_ago`` days (and ``hours`` hours) before now, never later."""
        moment = self.now - timedelta(days=days_ago) + timedelta(hours=hours)
        return FixedClock(min(moment, self.now))

    def folder(self, name: str) -> Path:
        path = self.workdir / name
        path.mkdir(parents=True, exist_ok=True)
        return path


def principal(session: Session, email: str) -> Principal:
    """The demo user ``email`` as a signed-in user with every scope of their role (what
    ``members.authenticate_password`` gives, without a password check per action)."""
    user = members.require_user(session, email)
    org = next(o for o in orgs.list_all(session) if o.id == user.organisation_id)
    return Principal(organisation_id=org.id, organisation_name=org.name, is_hub=org.is_hub,
                     communities=orgs.community_ids_of(session, org.id), role=user.role,
                     scopes=ALLOWED_SCOPES[user.role], user_id=user.id)
