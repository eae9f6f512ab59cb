"""A small hub for the incidents tests: the hub, two members in a community and one
outside it, a hub analyst, and callers for each (principals made directly: the token
machinery has tests of its own)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from renkei.core import members, orgs
from renkei.core.members import Principal
from renkei.core.models import Organisation, Role, Scope, User
from renkei.core.time import FixedClock
from renkei.incidents.service import Caller

PASSWORD = "correct horse battery staple"


@dataclass
class World:
    hub: Organisation
    acme: Organisation
    peer: Organisation
    loner: Organisation
    analyst: User
    clock: FixedClock

    def principal(self, org: Organisation, role: Role, scopes: str = "read,submit",
                  user: User | None = None) -> Principal:
        return Principal(organisation_id=org.id, organisation_name=org.name, is_hub=org.is_hub,
                         communities=frozenset(), role=role,
                         scopes=frozenset(Scope(s) for s in scopes.split(",")),
                         user_id=user.id if user else None)

    @property
    def staff(self) -> Caller:
        return Caller.of(self.principal(self.hub, Role.HUB_ANALYST, user=self.analyst))

    def member(self, org: Organisation, scopes: str = "read,submit") -> Caller:
        role = Role.MEMBER_SUBMITTER if "submit" in scopes else Role.MEMBER_READER
        return Caller.of(self.principal(org, role, scopes))


@pytest.fixture
def world(db_session: Session, clock: FixedClock) -> World:
    hub = orgs.add(db_session, clock, "Hub", hub=True)
    acme = orgs.add(db_session, clock, "Acme Bank", communities=["finance"])
    peer = orgs.add(db_session, clock, "Peer Bank", communities=["finance"])
    loner = orgs.add(db_session, clock, "Loner")
    analyst = members.add_user(db_session, clock, organisation=hub, email="analyst@hub.example",
                               role=Role.HUB_ANALYST, password=PASSWORD)
    return World(hub, acme, peer, loner, analyst, clock)
