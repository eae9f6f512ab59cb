"""The hub, its members in their communities, and a user per role."""

from __future__ import annotations

from renkei.core import members, orgs
from renkei.demo.cast import HUB, MEMBERS, PASSWORD, USERS
from renkei.demo.seed.context import Context

ACTOR = "demo:seed"
SOURCE = "demo"


def seed_orgs(ctx: Context) -> int:
    """Organisations and users, a month ago; returns the number of users."""
    clock = ctx.at(30)
    with ctx.database.session() as session:
        orgs.add(session, clock, HUB, hub=True, actor=ACTOR, source=SOURCE)
        for member in MEMBERS:
            orgs.add(session, clock, member.name, communities=member.communities, actor=ACTOR,
                     source=SOURCE)
        for user in USERS:
            members.add_user(session, clock, organisation=orgs.require(session, user.organisation),
                             email=user.email, role=user.role, password=PASSWORD,
                             name=user.name, actor=ACTOR, source=SOURCE)
    return len(USERS)
