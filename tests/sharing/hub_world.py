"""A small hub, made through the real services and committed: organisations in communities,
users of every role, their tokens, and one published report per TLP marking.

The HTTP tests run ``renkei serve`` on it; ``expected_readers`` says, from the policy's own
table of rules, who may read what, so each read path can be held to it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from renkei.core import members, orgs
from renkei.core.db import Database
from renkei.core.models import ApiToken, Organisation, Role
from renkei.core.time import SystemClock
from renkei.core.tlp import Tlp
from renkei.sharing import service
from renkei.sharing.policy import Shared, Viewer, may_read
from renkei.sharing.store import (
    SharedCommunity,
    SharedObject,
    SharedRecipientOrg,
    SharedRecipientUser,
)

PASSWORD = "correct horse battery staple"
ORGS = {"hub": ("Hub", None), "acme": ("Acme Bank", "finance"),
        "peer": ("Peer Bank", "finance"), "telco": ("Telco", "telecom"), "loner": ("Loner", None)}
# who: (organisation key, role or None for an organisation token, scopes)
PEOPLE: dict[str, tuple[str, Role | None, str]] = {
    "hub admin": ("hub", Role.HUB_ADMIN, "read,submit,admin"),
    "hub analyst": ("hub", Role.HUB_ANALYST, "read,submit"),
    "hub token": ("hub", None, "read,submit"),
    "acme submitter": ("acme", Role.MEMBER_SUBMITTER, "read,submit"),
    "acme colleague": ("acme", Role.MEMBER_SUBMITTER, "read,submit"),
    "acme reader": ("acme", Role.MEMBER_READER, "read"),
    "acme token": ("acme", None, "read,submit"),
    "peer submitter": ("peer", Role.MEMBER_SUBMITTER, "read,submit"),
    "telco reader": ("telco", Role.MEMBER_READER, "read"),
    "loner reader": ("loner", Role.MEMBER_READER, "read"),
}
# the reports Acme's submitter publishes: name -> (marking, recipient org keys, recipient people)
REPORTS: dict[str, tuple[Tlp, list[str], list[str]]] = {
    "clear": (Tlp.CLEAR, [], []),
    "green": (Tlp.GREEN, [], []),
    "amber": (Tlp.AMBER, [], []),
    "amber to telco": (Tlp.AMBER, ["telco"], []),
    "amber+strict": (Tlp.AMBER_STRICT, [], []),
    "red to telco": (Tlp.RED, [], ["telco reader"]),
}


@dataclass
class HubWorld:
    """What the tests need to know of the seeded hub."""

    tokens: dict[str, str] = field(default_factory=dict)
    emails: dict[str, str] = field(default_factory=dict)
    org_names: dict[str, str] = field(default_factory=dict)
    indicators: dict[str, str] = field(default_factory=dict)  # report name -> indicator id
    values: dict[str, str] = field(default_factory=dict)  # report name -> its IP address
    relationship: str = ""  # GREEN, pointing at the RED indicator
    readers: dict[str, set[str]] = field(default_factory=dict)  # stix id -> people
    expired_token: str = ""
    revoked_token: str = ""
    collection: str = ""


def _report(name: str, level: Tlp, value: str) -> dict[str, Any]:
    return {"title": f"Report {name}", "description": f"Seen at {name}", "tlp": level.value,
            "indicators": [{"type": "ipv4", "value": value}]}


def seed(url: str) -> HubWorld:
    """Build the hub on the database at ``url`` (migrating it) and commit it."""
    clock = SystemClock()
    world = HubWorld()
    db = Database(url)
    try:
        with db.session() as s:
            made: dict[str, Organisation] = {}
            for key, (name, community) in ORGS.items():
                made[key] = orgs.add(s, clock, name, hub=key == "hub",
                                     communities=[community] if community else [])
                world.org_names[key] = name
            principals = {}
            for who, (org_key, role, scopes) in PEOPLE.items():
                org = made[org_key]
                user = None
                if role is not None:
                    email = f"{who.replace(' ', '.')}@{org_key}.example"
                    user = members.add_user(s, clock, organisation=org, email=email, role=role,
                                            password=PASSWORD)
                    world.emails[who] = email
                issued = members.create_token(s, clock, organisation=org, scopes=scopes,
                                              user=user)
                world.tokens[who] = issued.token
                principals[who] = members.authenticate_token(s, clock, issued.token)
            expired = members.create_token(s, clock, organisation=made["acme"], scopes="read")
            s.scalars(select(ApiToken).where(ApiToken.key_id == expired.key_id)).one() \
                .expires_at = clock.now() - timedelta(days=1)
            world.expired_token = expired.token
            revoked = members.create_token(s, clock, organisation=made["acme"], scopes="read")
            members.revoke_token(s, clock, revoked.key_id)
            world.revoked_token = revoked.token
            user_ids = {who: p.user_id for who, p in principals.items()}
            for n, (name, (level, to_orgs, to_people)) in enumerate(REPORTS.items(), start=1):
                value = f"203.0.113.{n}"
                world.values[name] = value
                submission = service.submit(
                    s, clock, principals["acme submitter"], _report(name, level, value),
                    recipient_orgs=[made[k].id for k in to_orgs],
                    recipient_users=[u for k in to_people if (u := user_ids[k]) is not None])
                service.sanitise(s, clock, principals["hub analyst"], submission.id)
                service.approve(s, clock, principals["acme submitter"], submission.id)
                rows = service.publish(s, clock, principals["hub analyst"], submission.id)
                world.indicators[name] = next(r.stix_id for r in rows
                                              if r.stix_type == "indicator")
            world.relationship = _publish_relationship(s, clock, principals, world)
            for row in s.scalars(select(SharedObject)):
                shared = _shared_of(s, row)
                world.readers[row.stix_id] = {
                    who for who, p in principals.items() if may_read(Viewer.of(p), shared)}
            red = world.indicators["red to telco"]
            world.readers[world.relationship] &= world.readers[red]  # the reference rule
            from renkei.sharing import taxii
            world.collection = taxii.ensure_default_collection(s, clock).id
    finally:
        db.dispose()
    return world


def _publish_relationship(s: Session, clock: SystemClock, principals: dict[str, Any],
                          world: HubWorld) -> str:
    """A GREEN relationship from the GREEN indicator to the RED one."""
    green = Tlp.GREEN.marking_id
    now = "2026-04-01T09:00:00.000Z"
    rel_id = f"relationship--{uuid.uuid4()}"
    bundle = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": [
        {"type": "relationship", "spec_version": "2.1", "id": rel_id, "created": now,
         "modified": now, "relationship_type": "related-to",
         "source_ref": world.indicators["green"], "target_ref": world.indicators["red to telco"],
         "object_marking_refs": [green]}]}
    submission = service.submit(s, clock, principals["acme submitter"], bundle)
    service.sanitise(s, clock, principals["hub analyst"], submission.id)
    service.approve(s, clock, principals["acme submitter"], submission.id)
    service.publish(s, clock, principals["hub analyst"], submission.id)
    return rel_id


def _shared_of(s: Session, row: SharedObject) -> Shared:
    def ids(model: Any, column: Any) -> frozenset[int]:
        return frozenset(s.scalars(select(column).where(model.shared_object_id == row.id)))

    return Shared(owner_org_id=row.owner_org_id, marking=Tlp(row.marking),
                  recipient_orgs=ids(SharedRecipientOrg, SharedRecipientOrg.organisation_id),
                  recipient_users=ids(SharedRecipientUser, SharedRecipientUser.user_id),
                  communities=ids(SharedCommunity, SharedCommunity.community_id),
                  author_user_id=row.author_user_id)
