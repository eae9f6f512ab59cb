"""Organisations: the hub's members (and the hub itself)."""

from __future__ import annotations

import unicodedata

from sqlalchemy import select
from sqlalchemy.orm import Session

from renkei.core import audit
from renkei.core.models import Organisation
from renkei.core.time import Clock


class OrganisationError(ValueError):
    """An organisation name is missing, empty or already taken."""


def get_by_name(session: Session, name: str) -> Organisation | None:
    return session.scalar(select(Organisation).where(Organisation.name == name))


def add(session: Session, clock: Clock, name: str) -> Organisation:
    clean = name.strip()
    if not clean or len(clean) > 200:
        raise OrganisationError("organisation name must be 1 to 200 characters")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs") for ch in clean):
        raise OrganisationError("organisation name must not contain control characters")
    if get_by_name(session, clean) is not None:
        raise OrganisationError(f"organisation {clean!r} already exists")
    org = Organisation(name=clean, created_at=clock.now())
    session.add(org)
    session.flush()
    audit.record(session, clock, action="orgs.add", target=f"organisation:{org.id}",
                 details={"name": clean})
    return org


def require(session: Session, name: str) -> Organisation:
    org = get_by_name(session, name)
    if org is None:
        raise OrganisationError(f"no organisation named {name!r} (add it with `renkei orgs add`)")
    return org


def list_all(session: Session) -> list[Organisation]:
    return list(session.scalars(select(Organisation).order_by(Organisation.name)))
