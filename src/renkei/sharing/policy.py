"""Who may read what: the one place that decides, under TLP 2.0.

Every read path (REST API, TAXII, search, exports, reports, the console) asks this module,
either object by object (``may_read``), over a list (``visible``) or inside a query
(``visible_clause``); the three agree, and tests hold them to the same table. Inside a
query the policy also hides an object that refers to a held object the viewer may not
read (``References``), so a relationship, sighting or report never betrays a hidden one.

The rules (docs/decisions/0004-tlp-policy.md explains them):

============== ======================================================================
CLEAR          every authenticated viewer
GREEN          the owner, the hub's staff, every organisation in a community, and any
               organisation named as a recipient
AMBER          the owner, the hub's staff, and the named recipient organisations; when
               none are named, the organisations that share a community with the object
               (by default the owner's communities)
AMBER+STRICT   the owner organisation and the hub's staff
RED            the named recipient users and the author, no one else: not the hub's
               staff, not the rest of the author's organisation, not an organisation token
============== ======================================================================

"The hub's staff" are users of the hub organisation in a hub role (administrator or
analyst), and the hub's own organisation tokens. From AMBER+STRICT down to CLEAR each
level's audience contains the next stricter one's, so lowering an object's marking never
hides it from anyone; RED stands apart, as it names people, not organisations. The
functions are pure and fail closed: a marking that is not a TLP 2.0 level hides the
object from everyone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, exists, false, or_, select, true

from renkei.core.members import Principal
from renkei.core.models import Role
from renkei.core.tlp import Tlp

T = TypeVar("T")


@dataclass(frozen=True)
class Viewer:
    """Who is reading: a user (or an organisation token, ``user_id`` None) of an organisation."""

    user_id: int | None
    org_id: int
    role: Role
    communities: frozenset[int] = frozenset()
    is_hub: bool = False

    @classmethod
    def of(cls, principal: Principal) -> Viewer:
        return cls(user_id=principal.user_id, org_id=principal.organisation_id,
                   role=principal.role, communities=principal.communities,
                   is_hub=principal.is_hub)

    @property
    def is_hub_staff(self) -> bool:
        """A hub role in the hub organisation; a hub role claimed elsewhere counts for nothing."""
        return self.is_hub and self.role in (Role.HUB_ADMIN, Role.HUB_ANALYST)


@dataclass(frozen=True)
class Shared:
    """What the policy needs to know of a shared object.

    ``communities`` is the default audience of TLP:AMBER when ``recipient_orgs`` is empty;
    the sharing service fills it with the owner's communities unless told otherwise.
    ``author_user_id`` is the user who submitted it, who may always read it back.
    """

    owner_org_id: int
    marking: Tlp
    recipient_orgs: frozenset[int] = frozenset()
    recipient_users: frozenset[int] = frozenset()
    communities: frozenset[int] = frozenset()
    author_user_id: int | None = None


def may_read(viewer: Viewer, shared: Shared) -> bool:
    """True when ``viewer`` may see ``shared`` (or that it exists) under its TLP marking."""
    marking = shared.marking
    if marking is Tlp.RED:
        return viewer.user_id is not None and (
            viewer.user_id in shared.recipient_users or viewer.user_id == shared.author_user_id)
    if marking is Tlp.CLEAR:
        return True
    insider = viewer.org_id == shared.owner_org_id or viewer.is_hub_staff
    if marking is Tlp.GREEN:
        return insider or bool(viewer.communities) or viewer.org_id in shared.recipient_orgs
    if marking is Tlp.AMBER_STRICT:
        return insider
    if marking is Tlp.AMBER:
        if insider:
            return True
        if shared.recipient_orgs:
            return viewer.org_id in shared.recipient_orgs
        return not viewer.communities.isdisjoint(shared.communities)
    return False  # not a TLP 2.0 level: nobody


def visible(viewer: Viewer, items: Iterable[T], shared_of: Callable[[T], Shared]) -> list[T]:
    """The items ``viewer`` may read, in their order."""
    return [item for item in items if may_read(viewer, shared_of(item))]


# --- inside a query ---------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    """A link table's two columns: the shared object it points at and the member it names
    (an organisation, a user or a community)."""

    shared: ColumnElement[Any]
    member: ColumnElement[int]


@dataclass(frozen=True)
class SharedColumns:
    """Where a table of shared objects keeps what ``Shared`` holds.

    ``marking`` holds ``Tlp`` values (``"amber+strict"``); ``key`` is the column the link
    tables point at.
    """

    key: ColumnElement[Any]
    owner_org: ColumnElement[int]
    marking: ColumnElement[str]
    recipient_orgs: Link
    recipient_users: Link
    communities: Link
    author_user: ColumnElement[int | None] | None = None


def _linked(link: Link, key: ColumnElement[Any], members: Iterable[int]) -> ColumnElement[bool]:
    wanted = sorted(set(members))
    if not wanted:
        return false()
    return exists(select(link.shared).where(link.shared == key, link.member.in_(wanted)))


def _literal(value: bool) -> ColumnElement[bool]:
    return true() if value else false()


@dataclass(frozen=True)
class References:
    """What each shared object refers to, for hiding an object that would reveal another.

    ``link`` maps an object's row to the STIX ids it refers to (a relationship's ends, a
    report's ``object_refs`` …); ``target_stix_id`` and ``target`` are the same table of
    shared objects under a second name, where the referred-to objects are looked up.
    """

    link: Link
    target_stix_id: ColumnElement[str]
    target: SharedColumns


def visible_clause(viewer: Viewer, columns: SharedColumns,
                   references: References | None = None) -> ColumnElement[bool]:
    """A WHERE condition that keeps exactly the rows ``may_read`` allows ``viewer``; with
    ``references``, also hides a row that refers to an object the hub holds but the viewer
    may not read (a relationship to it would reveal that it exists). An id the hub does not
    hold (an external or not-yet-shared object) hides nothing."""
    base = _marking_clause(viewer, columns)
    if references is None:
        return base
    ref, target = references.link, references.target
    held = exists(select(target.key).where(references.target_stix_id == ref.member))
    readable = exists(select(target.key).where(references.target_stix_id == ref.member,
                                               _marking_clause(viewer, target)))
    # OFFSET 0: asked row by row (an index probe), not joined over the whole table
    hides = exists(select(ref.shared).where(ref.shared == columns.key, held, ~readable)
                   .offset(0))
    return and_(base, ~hides)


def _marking_clause(viewer: Viewer, columns: SharedColumns) -> ColumnElement[bool]:
    marking = columns.marking
    hub = _literal(viewer.is_hub_staff)
    owner = columns.owner_org == viewer.org_id
    red: ColumnElement[bool] = false()
    if viewer.user_id is not None:
        by_name = _linked(columns.recipient_users, columns.key, [viewer.user_id])
        if columns.author_user is not None:
            by_name = or_(by_name, columns.author_user == viewer.user_id)
        red = and_(marking == Tlp.RED.value, by_name)
    named = exists(select(columns.recipient_orgs.shared)
                   .where(columns.recipient_orgs.shared == columns.key))
    named_recipient = _linked(columns.recipient_orgs, columns.key, [viewer.org_id])
    amber_audience = or_(
        named_recipient,
        and_(~named, _linked(columns.communities, columns.key, viewer.communities)),
    )
    return or_(
        marking == Tlp.CLEAR.value,
        and_(marking == Tlp.GREEN.value, or_(owner, hub, _literal(bool(viewer.communities)),
                                             named_recipient)),
        and_(marking == Tlp.AMBER.value, or_(owner, hub, amber_audience)),
        and_(marking == Tlp.AMBER_STRICT.value, or_(owner, hub)),
        red,
    )


def filter_visible(stmt: Select[Any], viewer: Viewer, columns: SharedColumns,
                   references: References | None = None) -> Select[Any]:
    """``stmt`` narrowed to the rows ``viewer`` may read."""
    return stmt.where(visible_clause(viewer, columns, references))
