"""The TLP 2.0 policy: one table of who may read what, held by the function, the list
filter and the SQL filter alike, and properties no random viewer or object can break."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import replace
from typing import cast

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table, insert, select
from sqlalchemy.orm import Session

from renkei.core.members import Principal
from renkei.core.models import Role, Scope
from renkei.core.tlp import Tlp
from renkei.sharing.policy import (
    Link,
    Shared,
    SharedColumns,
    Viewer,
    filter_visible,
    may_read,
    visible,
)

# --- the world of the table -------------------------------------------------------------

HUB, OWNER, PEER, RECIPIENT, ELSEWHERE, OUTSIDER = 1, 2, 3, 4, 5, 6
FINANCE, TELECOM = 10, 11
AUTHOR, COLLEAGUE, PEER_USER, RECIPIENT_USER, ELSEWHERE_USER, OUTSIDER_USER = range(100, 106)
NAMED_USER, HUB_USER, HUB_NAMED = 106, 107, 108

COMMUNITIES = {HUB: frozenset(), OWNER: frozenset({FINANCE}), PEER: frozenset({FINANCE}),
               RECIPIENT: frozenset(), ELSEWHERE: frozenset({TELECOM}), OUTSIDER: frozenset()}
HUB_ROLES = (Role.HUB_ADMIN, Role.HUB_ANALYST)
MEMBER_ROLES = (Role.MEMBER_SUBMITTER, Role.MEMBER_READER)

# Every object is owned by OWNER, written by AUTHOR and by default meant for the owner's
# community; the "named" variant also names RECIPIENT as recipient organisation and
# NAMED_USER and HUB_NAMED as recipient users.
OBJECTS: dict[str, Shared] = {}
for level in Tlp:
    base = Shared(owner_org_id=OWNER, marking=level, communities=frozenset({FINANCE}),
                  author_user_id=AUTHOR)
    OBJECTS[f"{level.value} default"] = base
    OBJECTS[f"{level.value} named"] = replace(
        base, recipient_orgs=frozenset({RECIPIENT}),
        recipient_users=frozenset({NAMED_USER, HUB_NAMED}))
COLUMNS = list(OBJECTS)

# (user, organisation, roles, is_hub) of each kind of viewer; every listed role is tried.
VIEWERS: dict[str, tuple[int | None, int, tuple[Role, ...], bool]] = {
    "author": (AUTHOR, OWNER, MEMBER_ROLES, False),
    "owner's colleague": (COLLEAGUE, OWNER, MEMBER_ROLES, False),
    "owner's organisation token": (None, OWNER, MEMBER_ROLES, False),
    "peer in the owner's community": (PEER_USER, PEER, MEMBER_ROLES, False),
    "recipient organisation (no community)": (RECIPIENT_USER, RECIPIENT, MEMBER_ROLES, False),
    "named user in another community": (NAMED_USER, ELSEWHERE, MEMBER_ROLES, False),
    "member of another community": (ELSEWHERE_USER, ELSEWHERE, MEMBER_ROLES, False),
    "outsider (no community)": (OUTSIDER_USER, OUTSIDER, MEMBER_ROLES, False),
    "outsider claiming a hub role": (OUTSIDER_USER, OUTSIDER, HUB_ROLES, False),
    "hub staff": (HUB_USER, HUB, HUB_ROLES, True),
    "hub staff named as recipient": (HUB_NAMED, HUB, HUB_ROLES, True),
    "hub organisation token": (None, HUB, HUB_ROLES, True),
    "hub user with a member role": (HUB_USER, HUB, MEMBER_ROLES, True),
}

# The table. Columns: CLEAR, GREEN, AMBER, AMBER+STRICT, RED, each as "default named".
EXPECTED: dict[str, str] = {
    "author":                                "YY YY YY YY YY",
    "owner's colleague":                     "YY YY YY YY NN",
    "owner's organisation token":            "YY YY YY YY NN",
    "peer in the owner's community":         "YY YY YN NN NN",
    "recipient organisation (no community)": "YY NY NY NN NN",
    "named user in another community":       "YY YY NN NN NY",
    "member of another community":           "YY YY NN NN NN",
    "outsider (no community)":               "YY NN NN NN NN",
    "outsider claiming a hub role":          "YY NN NN NN NN",
    "hub staff":                             "YY YY YY YY NN",
    "hub staff named as recipient":          "YY YY YY YY NY",
    "hub organisation token":                "YY YY YY YY NN",
    "hub user with a member role":           "YY NN NN NN NN",
}


def viewers_of(kind: str) -> Iterator[Viewer]:
    user, org, roles, is_hub = VIEWERS[kind]
    for role in roles:
        yield Viewer(user_id=user, org_id=org, role=role, communities=COMMUNITIES[org],
                     is_hub=is_hub)


def expected_row(kind: str) -> dict[str, bool]:
    flags = EXPECTED[kind].replace(" ", "")
    assert len(flags) == len(COLUMNS)
    return {column: flag == "Y" for column, flag in zip(COLUMNS, flags, strict=True)}


def test_the_table_covers_every_marking_and_role() -> None:
    assert set(EXPECTED) == set(VIEWERS)
    assert {o.marking for o in OBJECTS.values()} == set(Tlp)
    assert {role for _, _, roles, _ in VIEWERS.values() for role in roles} == set(Role)


@pytest.mark.parametrize("kind", list(VIEWERS))
def test_may_read_follows_the_table(kind: str) -> None:
    for viewer in viewers_of(kind):
        got = {column: may_read(viewer, shared) for column, shared in OBJECTS.items()}
        assert got == expected_row(kind), f"{kind} as {viewer.role}"


@pytest.mark.parametrize("kind", list(VIEWERS))
def test_visible_filters_a_list_in_order(kind: str) -> None:
    items = list(OBJECTS.items())
    for viewer in viewers_of(kind):
        shown = visible(viewer, items, lambda item: item[1])
        assert [name for name, _ in shown] == [c for c, ok in expected_row(kind).items() if ok]


# --- the same table inside a query --------------------------------------------------------

TEST_TABLES = MetaData()
THINGS = Table(
    "policy_test_things", TEST_TABLES,
    Column("id", Integer, primary_key=True),
    Column("owner_org", Integer, nullable=False),
    Column("marking", String(20), nullable=False),
    Column("author_user", Integer, nullable=True),
)


def _link_table(name: str, member: str) -> Table:
    return Table(name, TEST_TABLES,
                 Column("thing_id", ForeignKey("policy_test_things.id"), primary_key=True),
                 Column(member, Integer, primary_key=True))


THING_ORGS = _link_table("policy_test_recipient_orgs", "org_id")
THING_USERS = _link_table("policy_test_recipient_users", "user_id")
THING_COMMUNITIES = _link_table("policy_test_communities", "community_id")
SQL_COLUMNS = SharedColumns(
    key=THINGS.c.id, owner_org=THINGS.c.owner_org, marking=THINGS.c.marking,
    author_user=THINGS.c.author_user,
    recipient_orgs=Link(THING_ORGS.c.thing_id, THING_ORGS.c.org_id),
    recipient_users=Link(THING_USERS.c.thing_id, THING_USERS.c.user_id),
    communities=Link(THING_COMMUNITIES.c.thing_id, THING_COMMUNITIES.c.community_id),
)


def store(session: Session, objects: list[Shared | tuple[int, str]]) -> None:
    """Rows for ``objects`` with ids 1, 2, …; a (owner, marking text) pair is stored as is."""
    TEST_TABLES.create_all(session.connection())  # inside the test's transaction: rolled back
    for number, shared in enumerate(objects, start=1):
        if isinstance(shared, tuple):
            session.execute(insert(THINGS).values(id=number, owner_org=shared[0],
                                                  marking=shared[1]))
            continue
        session.execute(insert(THINGS).values(id=number, owner_org=shared.owner_org_id,
                                              marking=shared.marking.value,
                                              author_user=shared.author_user_id))
        for table, column, members in (
            (THING_ORGS, "org_id", shared.recipient_orgs),
            (THING_USERS, "user_id", shared.recipient_users),
            (THING_COMMUNITIES, "community_id", shared.communities),
        ):
            for member in members:
                session.execute(insert(table).values({"thing_id": number, column: member}))


def visible_ids(session: Session, viewer: Viewer) -> list[int]:
    stmt = filter_visible(select(THINGS.c.id).order_by(THINGS.c.id), viewer, SQL_COLUMNS)
    return list(session.scalars(stmt))


def test_the_sql_filter_follows_the_table(db_session: Session) -> None:
    store(db_session, list(OBJECTS.values()))
    for kind in VIEWERS:
        wanted = [n for n, ok in enumerate(expected_row(kind).values(), start=1) if ok]
        for viewer in viewers_of(kind):
            assert visible_ids(db_session, viewer) == wanted, f"{kind} as {viewer.role}"


def random_shared(rng: random.Random) -> Shared:
    def some(pool: range, most: int) -> frozenset[int]:
        return frozenset(rng.sample(pool, rng.randint(0, most)))

    return Shared(owner_org_id=rng.randint(1, 6), marking=rng.choice(list(Tlp)),
                  recipient_orgs=some(range(1, 7), 2), recipient_users=some(range(100, 110), 2),
                  communities=some(range(10, 14), 2),
                  author_user_id=rng.choice([None, *range(100, 110)]))


def random_viewer(rng: random.Random) -> Viewer:
    return Viewer(user_id=rng.choice([None, *range(100, 110)]), org_id=rng.randint(1, 6),
                  role=rng.choice(list(Role)),
                  communities=frozenset(rng.sample(range(10, 14), rng.randint(0, 2))),
                  is_hub=rng.random() < 0.3)


def test_the_sql_filter_agrees_with_may_read_on_random_data(db_session: Session) -> None:
    rng = random.Random(20260401)
    objects = [random_shared(rng) for _ in range(300)]
    store(db_session, list(objects))
    for _ in range(60):
        viewer = random_viewer(rng)
        wanted = [n for n, shared in enumerate(objects, start=1) if may_read(viewer, shared)]
        assert visible_ids(db_session, viewer) == wanted, viewer


def test_unknown_markings_are_hidden_from_everyone(db_session: Session) -> None:
    store(db_session, [(OWNER, "AMBER"), (OWNER, "white"), (OWNER, ""), (OWNER, "amber+strict ")])
    everyone = [v for kind in VIEWERS for v in viewers_of(kind)]
    assert all(visible_ids(db_session, v) == [] for v in everyone)
    bogus = Shared(owner_org_id=OWNER, marking=cast(Tlp, "white"))
    assert not any(may_read(v, bogus) for v in everyone)
    assert not any(may_read(v, Shared(owner_org_id=OWNER, marking=cast(Tlp, "clear")))
                   for v in everyone)  # a look-alike string is not the level


# --- properties over any viewer and any object -----------------------------------------

ORGS = st.integers(1, 6)
USERS = st.integers(100, 109)
COMMUNITY_IDS = st.frozensets(st.integers(10, 13), max_size=3)
viewers = st.builds(Viewer, user_id=st.none() | USERS, org_id=ORGS, role=st.sampled_from(Role),
                    communities=COMMUNITY_IDS, is_hub=st.booleans())
shareds = st.builds(Shared, owner_org_id=ORGS, marking=st.sampled_from(Tlp),
                    recipient_orgs=st.frozensets(ORGS, max_size=3),
                    recipient_users=st.frozensets(USERS, max_size=3),
                    communities=COMMUNITY_IDS, author_user_id=st.none() | USERS)


def reference(viewer: Viewer, shared: Shared) -> bool:
    """The rules restated as audiences by rank (0 CLEAR … 3 AMBER+STRICT; RED apart)."""
    if shared.marking == Tlp.RED:
        named = shared.recipient_users | {shared.author_user_id}
        return viewer.user_id is not None and viewer.user_id in named
    rank = shared.marking.rank
    staff = viewer.is_hub and viewer.role in HUB_ROLES
    audiences = [
        (3, viewer.org_id == shared.owner_org_id or staff),
        (2, viewer.org_id in shared.recipient_orgs),
        (2, not shared.recipient_orgs and bool(viewer.communities & shared.communities)),
        (1, bool(viewer.communities)),
        (0, True),
    ]
    return any(rank <= widest for widest, member in audiences if member)


@given(viewers, shareds)
def test_nobody_reads_outside_the_rules(viewer: Viewer, shared: Shared) -> None:
    assert may_read(viewer, shared) == reference(viewer, shared)


@given(viewers, shareds)
def test_amber_strict_and_red_never_leak(viewer: Viewer, shared: Shared) -> None:
    strict = may_read(viewer, replace(shared, marking=Tlp.AMBER_STRICT))
    staff = viewer.is_hub and viewer.role in HUB_ROLES
    assert strict == (viewer.org_id == shared.owner_org_id or staff)
    red = may_read(viewer, replace(shared, marking=Tlp.RED))
    if red:
        assert viewer.user_id is not None
        assert viewer.user_id in shared.recipient_users | {shared.author_user_id}


@given(viewers, shareds)
def test_an_unrelated_member_sees_only_clear(viewer: Viewer, shared: Shared) -> None:
    unrelated = replace(viewer, communities=frozenset(), is_hub=False)
    if (unrelated.org_id == shared.owner_org_id or unrelated.org_id in shared.recipient_orgs
            or unrelated.user_id in shared.recipient_users | {shared.author_user_id}):
        return
    assert may_read(unrelated, shared) == (shared.marking == Tlp.CLEAR)


@given(viewers, shareds)
def test_lowering_the_marking_never_hides_an_object(viewer: Viewer, shared: Shared) -> None:
    chain = [Tlp.AMBER_STRICT, Tlp.AMBER, Tlp.GREEN, Tlp.CLEAR]
    allowed = [may_read(viewer, replace(shared, marking=level)) for level in chain]
    assert allowed == sorted(allowed)  # once allowed, allowed at every wider level


@given(viewers, shareds)
def test_a_role_grants_nothing_outside_its_side(viewer: Viewer, shared: Shared) -> None:
    as_reader = may_read(replace(viewer, role=Role.MEMBER_READER), shared)
    assert may_read(replace(viewer, role=Role.MEMBER_SUBMITTER), shared) == as_reader
    if not viewer.is_hub:  # a hub role claimed outside the hub is a member's
        assert may_read(replace(viewer, role=Role.HUB_ADMIN), shared) == as_reader
    staff = [may_read(replace(viewer, role=r, is_hub=True), shared) for r in HUB_ROLES]
    assert staff[0] == staff[1]


@given(st.frozensets(USERS, max_size=3), shareds)
def test_organisation_tokens_never_read_red(users: frozenset[int], shared: Shared) -> None:
    red = replace(shared, marking=Tlp.RED, recipient_users=users)
    for role in Role:
        for is_hub in (False, True):
            token = Viewer(user_id=None, org_id=shared.owner_org_id, role=role, is_hub=is_hub)
            assert not may_read(token, red)


def test_viewer_of_a_principal() -> None:
    principal = Principal(organisation_id=3, organisation_name="Bank", is_hub=False,
                          communities=frozenset({10}), role=Role.MEMBER_READER,
                          scopes=frozenset({Scope.READ}), user_id=7, token_key="abc")
    assert Viewer.of(principal) == Viewer(user_id=7, org_id=3, role=Role.MEMBER_READER,
                                          communities=frozenset({10}), is_hub=False)
