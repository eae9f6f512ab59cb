"""Organisations: the hub's members, the hub itself, and the communities they belong to.

A community is a sector or circle of members ("finance", "telecom", "government"); an
organisation may be in several. Community names are compared in a normal form (NFKC,
case-folded, trimmed), so "Finance" and "ｆｉｎａｎｃｅ" are one community. Exactly one
organisation may be the hub: it is marked when added (``hub=True``) or by ``ensure_hub``.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from renkei.core import audit
from renkei.core.errors import UserError
from renkei.core.models import Community, CommunityMember, Organisation
from renkei.core.text import has_control_characters, is_clean_line
from renkei.core.time import Clock

NAME_MAX = 200
COMMUNITY_MAX = 100
DEFAULT_HUB_NAME = "hub"


class OrganisationError(UserError):
    """An organisation or community name is missing, malformed, unknown or already taken."""


def get_by_name(session: Session, name: str) -> Organisation | None:
    return session.scalar(select(Organisation).where(Organisation.name == name))


def _clean_name(name: str) -> str:
    clean = name.strip()
    if not clean or len(clean) > NAME_MAX:
        raise OrganisationError("organisation name must be 1 to 200 characters")
    if has_control_characters(clean):
        raise OrganisationError("organisation name must not contain control characters")
    return clean


def normalise_community(name: str) -> str:
    """The form a community name is stored and compared in; raises on a malformed name."""
    clean = unicodedata.normalize("NFKC", name).strip().casefold()
    if not is_clean_line(clean, min_chars=1, max_chars=COMMUNITY_MAX):
        raise OrganisationError(
            "community name must be 1 to 100 characters without control characters")
    if "," in clean:
        raise OrganisationError("community name must not contain a comma")
    return clean


def add(
    session: Session,
    clock: Clock,
    name: str,
    *,
    communities: Iterable[str] = (),
    hub: bool = False,
    actor: str | None = None,
    source: str = "cli",
) -> Organisation:
    """Register an organisation, optionally as the hub and in some communities."""
    clean = _clean_name(name)
    wanted = [normalise_community(c) for c in communities]  # all checked before any write
    if get_by_name(session, clean) is not None:
        raise OrganisationError("organisation {name} already exists", name=repr(clean))
    if hub:
        _refuse_second_hub(session)
    org = Organisation(name=clean, created_at=clock.now(), is_hub=hub)
    session.add(org)
    session.flush()
    details: dict[str, object] = {"name": clean}
    if hub:
        details["hub"] = True
    audit.record(session, clock, action="orgs.add", target=f"organisation:{org.id}",
                 details=details, organisation_id=org.id, actor=actor, source=source)
    if wanted:
        join(session, clock, org, wanted, actor=actor, source=source)
    return org


def _refuse_second_hub(session: Session) -> None:
    existing = hub(session)
    if existing is not None:
        raise OrganisationError("the hub is already {name}", name=repr(existing.name))


def by_id(session: Session, organisation_id: int) -> Organisation:
    """An organisation a row names (a token's, a user's): it exists, as the key says."""
    return session.get_one(Organisation, organisation_id)


def require(session: Session, name: str) -> Organisation:
    org = get_by_name(session, name)
    if org is None:
        raise OrganisationError("no organisation named {name} (add it with `renkei orgs add`)",
                                name=repr(name))
    return org


def list_all(session: Session) -> list[Organisation]:
    return list(session.scalars(select(Organisation).order_by(Organisation.name)))


def hub(session: Session) -> Organisation | None:
    """The hub organisation, if one has been made."""
    return session.scalar(select(Organisation).where(Organisation.is_hub.is_(True)))


def ensure_hub(
    session: Session,
    clock: Clock,
    name: str = DEFAULT_HUB_NAME,
    *,
    actor: str | None = None,
    source: str = "cli",
) -> Organisation:
    """The hub, made on first use: an existing organisation ``name`` becomes the hub, or a
    new one is added."""
    found = hub(session)
    if found is not None:
        return found
    existing = get_by_name(session, _clean_name(name))
    if existing is None:
        return add(session, clock, name, hub=True, actor=actor, source=source)
    existing.is_hub = True
    session.flush()
    audit.record(session, clock, action="orgs.set_hub", target=f"organisation:{existing.id}",
                 details={"name": existing.name}, organisation_id=existing.id, actor=actor,
                 source=source)
    return existing


def _community(session: Session, clock: Clock, name: str, *, actor: str | None,
               source: str) -> Community:
    found = session.scalar(select(Community).where(Community.name == name))
    if found is not None:
        return found
    community = Community(name=name, created_at=clock.now())
    session.add(community)
    session.flush()
    audit.record(session, clock, action="communities.add", target=f"community:{community.id}",
                 details={"name": name}, actor=actor, source=source)
    return community


def join(
    session: Session,
    clock: Clock,
    org: Organisation,
    communities: Iterable[str],
    *,
    actor: str | None = None,
    source: str = "cli",
) -> list[Community]:
    """Put ``org`` in each community (made if new); joining one twice changes nothing."""
    names = list(dict.fromkeys(normalise_community(c) for c in communities))
    current = community_ids_of(session, org.id)
    joined: list[Community] = []
    for name in names:
        community = _community(session, clock, name, actor=actor, source=source)
        joined.append(community)
        if community.id in current:
            continue
        session.add(CommunityMember(community_id=community.id, organisation_id=org.id,
                                    joined_at=clock.now()))
        session.flush()
        audit.record(session, clock, action="orgs.join", target=f"organisation:{org.id}",
                     details={"community": name}, organisation_id=org.id, actor=actor,
                     source=source)
    return joined


def leave(
    session: Session,
    clock: Clock,
    org: Organisation,
    communities: Iterable[str],
    *,
    actor: str | None = None,
    source: str = "cli",
) -> None:
    """Take ``org`` out of each community; leaving one it is not in is an error."""
    names = list(dict.fromkeys(normalise_community(c) for c in communities))
    by_name = {c.name: c for c in communities_of(session, org.id)}
    missing = [n for n in names if n not in by_name]
    if missing:
        raise OrganisationError("{org} is not in the community {community}",
                                org=repr(org.name), community=repr(missing[0]))
    for name in names:
        session.execute(delete(CommunityMember).where(
            CommunityMember.organisation_id == org.id,
            CommunityMember.community_id == by_name[name].id))
        audit.record(session, clock, action="orgs.leave", target=f"organisation:{org.id}",
                     details={"community": name}, organisation_id=org.id, actor=actor,
                     source=source)
    session.flush()


def communities_of(session: Session, organisation_id: int) -> list[Community]:
    stmt = (select(Community).join(CommunityMember)
            .where(CommunityMember.organisation_id == organisation_id).order_by(Community.name))
    return list(session.scalars(stmt))


def community_ids_of(session: Session, organisation_id: int) -> frozenset[int]:
    stmt = select(CommunityMember.community_id).where(
        CommunityMember.organisation_id == organisation_id)
    return frozenset(session.scalars(stmt))


def community_names_by_org(session: Session) -> dict[int, list[str]]:
    """Every organisation's community names, sorted; organisations in none are absent."""
    stmt = (select(CommunityMember.organisation_id, Community.name).join(Community)
            .order_by(Community.name))
    found: dict[int, list[str]] = defaultdict(list)
    for org_id, name in session.execute(stmt):
        found[org_id].append(name)
    return dict(found)
