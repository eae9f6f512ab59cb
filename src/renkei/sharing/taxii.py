"""TAXII 2.1 over the shared objects: collections, filters, paging, envelopes, statuses.

Independent of HTTP (``sharing.api`` maps requests and responses). Every query over
object versions is narrowed by the TLP policy (``store.readable_clause``), for the rows it returns and for
the rows it only looks at (``match[version]=last`` compares with newer versions the
viewer may read, never with hidden ones), so counts, manifests, versions and cursors say
nothing of what the viewer may not see; an object the viewer may not read is "not found",
exactly as one that does not exist.

Paging is keyset paging on (date added, row id): a ``next`` cursor is that position,
encoded, so it survives restarts and works on any server process, and page N costs what
page 1 does. Bodies are read as the JSON text the database holds and joined into the
envelope without decoding.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Text, cast, delete, exists, false, func, or_, select, true, tuple_
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement, Select

from renkei.core import audit, orgs
from renkei.core.bulk import insert_many
from renkei.core.errors import UserError
from renkei.core.members import Principal
from renkei.core.models import Community, Scope
from renkei.core.time import Clock, as_utc
from renkei.core.tlp import Tlp
from renkei.sharing import stix
from renkei.sharing.policy import SharedColumns, Viewer
from renkei.sharing.store import (
    SHARED_COLUMNS,
    CollectionEntry,
    SharedObject,
    Submission,
    SubmissionState,
    TaxiiCollection,
    TaxiiStatus,
    readable_clause,
)

TAXII_MEDIA_TYPE = "application/taxii+json;version=2.1"
STIX_MEDIA_TYPE = "application/stix+json;version=2.1"
DEFAULT_LIMIT = 1_000
MAX_LIMIT = 5_000
MAX_FILTER_VALUES = 100
DEFAULT_COLLECTION_ALIAS = "hub"
COLLECTION_NAMESPACE = uuid.UUID("1d3b4a0e-7f0a-4c55-8a8e-72656e6b6569")
_STIX_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,249}--[0-9a-fA-F-]{36}")
_TYPE = re.compile(r"[a-z0-9][a-z0-9-]{0,249}")
_MAX_ROW = 2**31 - 1  # a cursor's row is an INTEGER id: 32 bits on PostgreSQL

OBJECTS = SharedObject.__table__
ENTRIES = CollectionEntry.__table__


class TaxiiError(UserError):
    """A request TAXII answers with an error resource: ``status`` is the HTTP status."""

    def __init__(self, status: int, template: str, *, details: dict[str, Any] | None = None,
                 **fields: object) -> None:
        self.status = status
        self.details = details
        super().__init__(template, **fields)


# --- time and cursors --------------------------------------------------------------------


def timestamp(at: datetime) -> str:
    """TAXII's timestamp form, to the microsecond (the precision the store keeps)."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_timestamp(text: str, what: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise TaxiiError(400, "{what} is not a timestamp: {value}", what=what,
                         value=text[:60]) from None
    if value.tzinfo is None:
        raise TaxiiError(400, "{what} needs a time zone (Z): {value}", what=what, value=text[:60])
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+01:00: before the first instant a datetime holds
        raise TaxiiError(400, "{what} is not a timestamp: {value}", what=what,
                         value=text[:60]) from None


@dataclass(frozen=True)
class Cursor:
    """A position in a collection: after the entry added at ``added`` with row ``row``."""

    added: datetime
    row: int

    def encode(self) -> str:
        micros = int(self.added.timestamp() * 1_000_000)
        raw = f"{micros}.{self.row}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
            micros, row = raw.split(".")
            added = datetime.fromtimestamp(int(micros) / 1_000_000, UTC)
            if not 0 <= int(row) <= _MAX_ROW:
                raise ValueError(row)
            return cls(added=added, row=int(row))
        except (ValueError, binascii.Error, UnicodeDecodeError, OverflowError, OSError):
            raise TaxiiError(400, "the next cursor is not one this server gave") from None


# --- filters ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """A request's ``added_after``, ``limit``, ``next`` and ``match[...]`` parameters."""

    added_after: datetime | None = None
    limit: int = DEFAULT_LIMIT
    cursor: Cursor | None = None
    ids: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    versions: tuple[str, ...] = ("last",)
    spec_versions: tuple[str, ...] = ()


def _values(params: Mapping[str, Sequence[str]], name: str) -> tuple[str, ...]:
    found = [value.strip() for raw in params.get(name, ()) for value in raw.split(",")]
    found = [value for value in found if value]
    if len(found) > MAX_FILTER_VALUES:
        raise TaxiiError(400, "{name} has more than {most} values", name=name,
                         most=MAX_FILTER_VALUES)
    return tuple(dict.fromkeys(found))


def parse_filters(params: Mapping[str, Sequence[str]], *, default_version: str = "last",
                  ) -> Filters:
    """Filters from query parameters; a malformed value is a 400, an unknown one ignored."""
    added_after = None
    if params.get("added_after"):
        added_after = parse_timestamp(params["added_after"][-1], "added_after")
    limit = DEFAULT_LIMIT
    if params.get("limit"):
        digits = params["limit"][-1].strip().lstrip("0")
        # ASCII only: str.isdigit() takes "²", which int() refuses; a long number is many.
        if not digits or not digits.isascii() or not digits.isdigit():
            raise TaxiiError(400, "limit must be a positive whole number")
        limit = MAX_LIMIT if len(digits) > len(str(MAX_LIMIT)) else min(int(digits), MAX_LIMIT)
    cursor = Cursor.decode(params["next"][-1].strip()) if params.get("next") else None
    ids = _values(params, "match[id]")
    if bad := [i for i in ids if not _STIX_ID.fullmatch(i)]:
        raise TaxiiError(400, "match[id] is not a STIX id: {value}", value=bad[0][:120])
    types = _values(params, "match[type]")
    if bad := [t for t in types if not _TYPE.fullmatch(t)]:
        raise TaxiiError(400, "match[type] is not a STIX type: {value}", value=bad[0][:120])
    versions = _values(params, "match[version]") or (default_version,)
    for version in versions:
        if version not in ("last", "first", "all"):
            parse_timestamp(version, "match[version]")
    spec_versions = _values(params, "match[spec_version]")
    if bad := [v for v in spec_versions if not re.fullmatch(r"2\.[01]", v)]:
        raise TaxiiError(400, "match[spec_version] is not a STIX version: {value}",
                         value=bad[0][:20])
    return Filters(added_after=added_after, limit=limit, cursor=cursor, ids=ids, types=types,
                   versions=versions, spec_versions=spec_versions)


# --- collections ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CollectionView:
    """A collection as one caller sees it."""

    collection: TaxiiCollection
    can_read: bool
    can_write: bool

    def resource(self) -> dict[str, Any]:
        c = self.collection
        return {"id": c.id, "title": c.title, "description": c.description, "alias": c.alias,
                "can_read": self.can_read, "can_write": self.can_write,
                "media_types": [STIX_MEDIA_TYPE]}


def collection_id_for(alias: str) -> str:
    return str(uuid.uuid5(COLLECTION_NAMESPACE, alias))


def ensure_default_collection(session: Session, clock: Clock) -> TaxiiCollection:
    """The hub's general collection (every marking, every member), made on first use."""
    found = session.get(TaxiiCollection, collection_id_for(DEFAULT_COLLECTION_ALIAS))
    if found is not None:
        return found
    return add_collection(session, clock, DEFAULT_COLLECTION_ALIAS,
                          title="Shared by the hub",
                          description="Everything the hub publishes; each member sees what "
                                      "its TLP markings allow.")


def add_collection(session: Session, clock: Clock, alias: str, *, title: str,
                   description: str = "", markings: Iterable[Tlp] = (),
                   community: str | None = None, members_write: bool = True,
                   actor: str | None = None) -> TaxiiCollection:
    """A new collection; objects published later are routed to it by marking and community."""
    clean = alias.strip().lower()
    if clean != DEFAULT_COLLECTION_ALIAS:
        ensure_default_collection(session, clock)  # the general collection comes first
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,99}", clean):
        raise TaxiiError(400, "a collection alias is 1 to 100 of a-z, 0-9, - and _")
    if session.scalar(select(TaxiiCollection.id).where(TaxiiCollection.alias == clean)):
        raise TaxiiError(409, "collection {alias} already exists", alias=clean)
    community_id = None
    if community is not None:
        name = orgs.normalise_community(community)
        community_id = session.scalar(select(Community.id).where(Community.name == name))
        if community_id is None:
            raise TaxiiError(404, "no community {name}", name=name)
    row = TaxiiCollection(id=collection_id_for(clean), alias=clean, title=title[:200],
                          description=description[:2000],
                          markings=sorted({m.value for m in markings}),
                          community_id=community_id, members_write=members_write,
                          created_at=clock.now())
    session.add(row)
    audit.record(session, clock, action="taxii.collection.add", actor=actor,
                 target=f"collection:{row.id}", details={"alias": clean, "title": row.title})
    session.flush()
    return row


def all_collections(session: Session, clock: Clock) -> list[tuple[TaxiiCollection, str | None]]:
    """Every collection (the general one made if missing) with its community's name."""
    ensure_default_collection(session, clock)
    names = {c.id: c.name for c in session.scalars(select(Community))}
    rows = session.scalars(select(TaxiiCollection).order_by(TaxiiCollection.created_at,
                                                            TaxiiCollection.id))
    return [(row, names.get(row.community_id) if row.community_id else None) for row in rows]


def _can_read(viewer: Viewer, scopes: frozenset[Scope], collection: TaxiiCollection) -> bool:
    if Scope.READ not in scopes:
        return False
    return (viewer.is_hub_staff or collection.community_id is None
            or collection.community_id in viewer.communities)


def _can_write(viewer: Viewer, scopes: frozenset[Scope], collection: TaxiiCollection) -> bool:
    if Scope.SUBMIT not in scopes or not _can_read(viewer, scopes, collection):
        return False
    return viewer.is_hub_staff or collection.members_write


def collections_for(session: Session, principal: Principal) -> list[CollectionView]:
    """The collections ``principal`` may read, oldest first; the others stay unseen."""
    viewer = Viewer.of(principal)
    rows = session.scalars(select(TaxiiCollection).order_by(TaxiiCollection.created_at,
                                                            TaxiiCollection.id))
    return [CollectionView(row, True, _can_write(viewer, principal.scopes, row))
            for row in rows if _can_read(viewer, principal.scopes, row)]


def collection_for(session: Session, principal: Principal, key: str) -> CollectionView:
    """One collection by id (or alias) that ``principal`` may read; 404 otherwise."""
    row = session.get(TaxiiCollection, key) if len(key) == 36 else None
    if row is None:
        row = session.scalar(select(TaxiiCollection).where(TaxiiCollection.alias == key[:100]))
    viewer = Viewer.of(principal)
    if row is None or not _can_read(viewer, principal.scopes, row):
        raise TaxiiError(404, "no collection {id}", id=key[:100])
    return CollectionView(row, True, _can_write(viewer, principal.scopes, row))


def route_to_collections(session: Session, rows: Sequence[SharedObject],
                         communities: Iterable[int], now: datetime) -> None:
    """Put newly published object versions in each collection their marking and community
    allow (the general collection takes every marking)."""
    reach = set(communities)
    collections = list(session.scalars(select(TaxiiCollection)))
    entries = []
    for row in rows:
        for collection in collections:
            if collection.markings and row.marking not in collection.markings:
                continue
            if collection.community_id is not None and collection.community_id not in reach:
                continue
            entries.append({"collection_id": collection.id, "shared_object_id": row.id,
                            "date_added": now})
    insert_many(session, CollectionEntry, entries)


# --- reading -----------------------------------------------------------------------------


def _columns_of(table: Any) -> SharedColumns:
    base = SHARED_COLUMNS
    return SharedColumns(key=table.c.id, owner_org=table.c.owner_org_id,
                         marking=table.c.marking, author_user=table.c.author_user_id,
                         recipient_orgs=base.recipient_orgs,
                         recipient_users=base.recipient_users, communities=base.communities)


def _readable(viewer: Viewer, table: Any = None) -> ColumnElement[bool]:
    return readable_clause(viewer, SHARED_COLUMNS if table is None else _columns_of(table))


def _other_version(viewer: Viewer, collection_id: str, newer: bool) -> ColumnElement[bool]:
    """Another version of the same object, newer (or older), in the collection and visible."""
    other = OBJECTS.alias("other_version")
    entry = ENTRIES.alias("other_entry")
    later = other.c.version > OBJECTS.c.version if newer else other.c.version < OBJECTS.c.version
    # OFFSET 0 keeps PostgreSQL from turning this into a join over every version in the
    # collection: asked row by row, it is one probe of the (stix_id, version) index.
    return exists(
        select(other.c.id).join(entry, entry.c.shared_object_id == other.c.id)
        .where(entry.c.collection_id == collection_id, other.c.stix_id == OBJECTS.c.stix_id,
               later, _readable(viewer, other)).offset(0)
    )


def _version_clause(viewer: Viewer, collection_id: str,
                    versions: tuple[str, ...]) -> ColumnElement[bool]:
    if "all" in versions:
        return true()
    parts: list[ColumnElement[bool]] = []
    for version in versions:
        if version == "last":  # the exact look only where a newer version exists at all
            parts.append(or_(OBJECTS.c.superseded.is_(False),
                             ~_other_version(viewer, collection_id, newer=True)))
        elif version == "first":
            parts.append(~_other_version(viewer, collection_id, newer=False))
        else:
            parts.append(OBJECTS.c.version == parse_timestamp(version, "match[version]"))
    return or_(*parts) if parts else false()


#: The columns each listing reads besides the paging key (date added, row).
_LISTED: dict[str, tuple[Any, ...]] = {
    "objects": (cast(OBJECTS.c.body, Text).label("body"),),
    "manifest": (OBJECTS.c.stix_id, OBJECTS.c.version),
    "versions": (OBJECTS.c.version,),
    "owners": (OBJECTS.c.owner_org_id,),
}


@lru_cache(maxsize=256)
def _listing(viewer: Viewer, collection_id: str, listing: str, types: tuple[str, ...],
             spec_versions: tuple[str, ...], versions: tuple[str, ...]) -> Select[Any]:
    """What a page's query holds apart from its position: built once per reader, collection
    and filters in a process, because building the policy's expression costs more than
    the database takes to answer it (~8 of a page's ~27 ms)."""
    stmt = (select(ENTRIES.c.date_added, OBJECTS.c.id, *_LISTED[listing])
            .select_from(ENTRIES.join(OBJECTS, OBJECTS.c.id == ENTRIES.c.shared_object_id))
            .where(ENTRIES.c.collection_id == collection_id, _readable(viewer)))
    if types:
        stmt = stmt.where(OBJECTS.c.stix_type.in_(types))
    if spec_versions:
        stmt = stmt.where(OBJECTS.c.spec_version.in_(spec_versions))
    stmt = stmt.where(_version_clause(viewer, collection_id, versions))
    return stmt.order_by(ENTRIES.c.date_added, ENTRIES.c.shared_object_id)


def _select(viewer: Viewer, collection_id: str, filters: Filters, listing: str,
            upper: Cursor | None = None) -> Select[Any]:
    stmt = _listing(viewer, collection_id, listing, filters.types, filters.spec_versions,
                    filters.versions).where(*_after(filters))
    if upper is not None:
        stmt = stmt.where(tuple_(ENTRIES.c.date_added, ENTRIES.c.shared_object_id)
                          <= tuple_(upper.added, upper.row))
    if filters.ids:
        stmt = stmt.where(OBJECTS.c.stix_id.in_(filters.ids))
    return stmt.limit(filters.limit + 1)


def _after(filters: Filters) -> list[ColumnElement[bool]]:
    """The entries after the cursor (and ``added_after``)."""
    conditions = []
    if filters.added_after is not None:
        conditions.append(ENTRIES.c.date_added > filters.added_after)
    if filters.cursor is not None:  # a row-value comparison, so the index seeks to it
        conditions.append(tuple_(ENTRIES.c.date_added, ENTRIES.c.shared_object_id)
                          > tuple_(filters.cursor.added, filters.cursor.row))
    return conditions


def _window_end(session: Session, collection_id: str, filters: Filters,
                size: int) -> Cursor | None:
    """The position of the ``size``-th entry after the cursor; None when fewer remain."""
    row = session.execute(
        select(ENTRIES.c.date_added, ENTRIES.c.shared_object_id)
        .where(ENTRIES.c.collection_id == collection_id, *_after(filters))
        .order_by(ENTRIES.c.date_added, ENTRIES.c.shared_object_id)
        .offset(size - 1).limit(1)).first()
    return None if row is None else Cursor(as_utc(row.date_added), row.shared_object_id)


def _rows(session: Session, viewer: Viewer, collection_id: str, filters: Filters,
          listing: str) -> list[Any]:
    """Up to ``limit + 1`` readable rows after the cursor, in paging order.

    Read window by window: the window's end comes from the paging index alone, and the
    policy only ever looks at one window's rows. One query over the whole collection would
    leave PostgreSQL's planner guessing how many rows the policy keeps, and it then sorts
    the whole rest of the collection for every page. A request for named ids is selective
    by itself and asks once."""
    if filters.ids:
        return list(session.execute(_select(viewer, collection_id, filters, listing)))
    wanted = filters.limit + 1
    found: list[Any] = []
    size = max(2 * wanted, 512)
    window = filters
    while True:
        upper = _window_end(session, collection_id, window, size)
        rows = session.execute(_select(viewer, collection_id, window, listing,
                                       upper=upper).limit(wanted - len(found))).all()
        found.extend(rows)
        if len(found) >= wanted or upper is None:
            return found
        window = replace(window, cursor=upper)
        size = min(size * 2, 50_000)


@dataclass
class Page:
    """One page of a listing: its items, whether more follow, and the TAXII headers."""

    items: list[Any] = field(default_factory=list)
    more: bool = False
    next: str | None = None
    first_added: datetime | None = None
    last_added: datetime | None = None

    def resource(self, key: str) -> dict[str, Any]:
        """The page as TAXII writes it: ``more``, ``next`` and the items under ``key``."""
        body: dict[str, Any] = {"more": self.more}
        if self.next:
            body["next"] = self.next
        if self.items:
            body[key] = self.items
        return body

    def headers(self) -> dict[str, str]:
        if self.first_added is None or self.last_added is None:
            return {}
        return {"X-TAXII-Date-Added-First": timestamp(self.first_added),
                "X-TAXII-Date-Added-Last": timestamp(self.last_added)}


def _page(rows: list[Any], limit: int, item: Any) -> Page:
    more = len(rows) > limit
    rows = rows[:limit]
    if not rows:
        return Page()
    last = rows[-1]
    return Page(items=[item(r) for r in rows], more=more,
                next=Cursor(last.date_added, last.id).encode() if more else None,
                first_added=rows[0].date_added, last_added=last.date_added)


def objects_page(session: Session, viewer: Viewer, collection_id: str,
                 filters: Filters) -> Page:
    """Object bodies (JSON text, as stored) of one page."""
    rows = _rows(session, viewer, collection_id, filters, "objects")
    return _page(rows, filters.limit, lambda r: r.body)


def envelope_bytes(page: Page) -> bytes:
    """The TAXII envelope of a page of JSON texts, joined without decoding them."""
    head = b'{"more":true,"next":"' + page.next.encode() + b'"' if page.next else b'{"more":false'
    if not page.items:
        return head + b"}"
    return head + b',"objects":[' + ",".join(page.items).encode() + b"]}"


def manifest_page(session: Session, viewer: Viewer, collection_id: str,
                  filters: Filters) -> Page:
    rows = _rows(session, viewer, collection_id, filters, "manifest")
    return _page(rows, filters.limit, lambda r: {
        "id": r.stix_id, "date_added": timestamp(as_utc(r.date_added)),
        "version": timestamp(as_utc(r.version)), "media_type": STIX_MEDIA_TYPE})


def versions_page(session: Session, viewer: Viewer, collection_id: str, stix_id: str,
                  filters: Filters) -> Page:
    require_visible(session, viewer, collection_id, stix_id)
    narrowed = Filters(added_after=filters.added_after, limit=filters.limit,
                       cursor=filters.cursor, ids=(stix_id,), versions=("all",),
                       spec_versions=filters.spec_versions)
    stmt = _select(viewer, collection_id, narrowed, "versions")
    return _page(list(session.execute(stmt)), filters.limit,
                 lambda r: timestamp(as_utc(r.version)))


def require_visible(session: Session, viewer: Viewer, collection_id: str, stix_id: str) -> None:
    """404 unless some version of ``stix_id`` in the collection is readable by ``viewer``."""
    if not _STIX_ID.fullmatch(stix_id):
        raise TaxiiError(404, "no object {id}", id=stix_id[:120])
    found = session.scalar(
        select(func.count()).select_from(ENTRIES.join(OBJECTS,
                                                      OBJECTS.c.id == ENTRIES.c.shared_object_id))
        .where(ENTRIES.c.collection_id == collection_id, OBJECTS.c.stix_id == stix_id,
               _readable(viewer)))
    if not found:
        raise TaxiiError(404, "no object {id}", id=stix_id)


# --- writing -------------------------------------------------------------------------------


def _status_entry(obj: dict[str, Any], message: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": str(obj.get("id", ""))[:120],
                             "version": str(obj.get("modified") or obj.get("created") or "")[:40]}
    if message:
        entry["message"] = message[:300]
    return entry


def add_objects(session: Session, clock: Clock, principal: Principal, view: CollectionView,
                payload: bytes, *, source: str) -> TaxiiStatus:
    """A TAXII POST: all objects valid, or nothing written (a 422 listing each problem).

    The hub's staff publish at once (as the hub, under the markings they give); a member's
    objects become a submission, pending until sanitised, approved and published.
    """
    from renkei.sharing import service  # the workflow imports this module to route objects

    if not view.can_write:
        audit.record(session, clock, action="taxii.add.refused", actor=principal.actor,
                     target=f"collection:{view.collection.id}", source=source,
                     organisation_id=principal.organisation_id,
                     details={"reason": "no write access"})
        raise TaxiiError(403, "you may not add objects to this collection")
    envelope = _envelope(payload)
    objects = envelope["objects"]
    bundle = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects}
    now = clock.now()
    status = TaxiiStatus(id=str(uuid.uuid4()), collection_id=view.collection.id,
                         organisation_id=principal.organisation_id, request_timestamp=now,
                         total_count=len(objects), successes=[], failures=[], pendings=[])
    try:
        if Viewer.of(principal).is_hub_staff:
            rows = service.publish_direct(session, clock, principal, bundle, view.collection,
                                          source=source)
            status.successes = [_status_entry(obj) for obj in objects]
            audit_details = {"published": len(rows)}
        else:
            submission = service.submit(session, clock, principal, bundle, source=source)
            status.submission_id = submission.id
            status.pendings = [_status_entry(obj) for obj in objects]
            audit_details = {"submission": submission.id}
    except stix.SubmissionError as error:
        raise TaxiiError(422, "the objects are not valid STIX 2.1: {count} problems",
                         count=len(error.problems),
                         details={"problems": [{"where": p.where, "message": p.message}
                                               for p in error.problems]}) from None
    session.add(status)
    audit.record(session, clock, action="taxii.add", actor=principal.actor,
                 target=f"collection:{view.collection.id}", source=source,
                 organisation_id=principal.organisation_id,
                 details={"status": status.id, "objects": len(objects), **audit_details})
    session.flush()
    return status


def _envelope(payload: bytes) -> dict[str, Any]:
    try:
        envelope = stix.load(payload)
    except stix.SubmissionError as error:
        problem = error.problems[0] if error.problems else None
        raise TaxiiError(400, "the request body is not a TAXII envelope: {reason}",
                         reason=str(problem) if problem else "unreadable") from None
    objects = envelope.get("objects")
    if not isinstance(objects, list) or not objects:
        raise TaxiiError(400, "the request body is not a TAXII envelope: {reason}",
                         reason="it needs a non-empty list of objects")
    return envelope


def status_resource(session: Session, principal: Principal, status_id: str) -> dict[str, Any]:
    """A POST's status, for the organisation that posted it; 404 for anyone else."""
    status = session.get(TaxiiStatus, status_id[:36])
    if status is None or status.organisation_id != principal.organisation_id:
        raise TaxiiError(404, "no status {id}", id=status_id[:40])
    successes, failures, pendings = status.successes, status.failures, status.pendings
    if status.submission_id is not None:
        submission = session.get(Submission, status.submission_id)
        state = submission.state if submission is not None else SubmissionState.REJECTED
        if state is SubmissionState.PUBLISHED:
            successes, pendings = pendings, []
        elif state is SubmissionState.REJECTED:
            failures = [{**p, "message": "the submission was not published"} for p in pendings]
            pendings = []
    return {"id": status.id, "status": "pending" if pendings else "complete",
            "request_timestamp": timestamp(status.request_timestamp),
            "total_count": status.total_count,
            "success_count": len(successes), "successes": successes,
            "failure_count": len(failures), "failures": failures,
            "pending_count": len(pendings), "pendings": pendings}


def delete_object(session: Session, clock: Clock, principal: Principal, view: CollectionView,
                  stix_id: str, filters: Filters, *, source: str) -> int:
    """Remove versions of an object from a collection (all versions unless
    ``match[version]`` says otherwise); a version left in no collection is deleted."""
    viewer = Viewer.of(principal)
    collection_id = view.collection.id
    require_visible(session, viewer, collection_id, stix_id)
    narrowed = Filters(limit=MAX_LIMIT, ids=(stix_id,), versions=filters.versions,
                       spec_versions=filters.spec_versions)
    rows = list(session.execute(_select(viewer, collection_id, narrowed, "owners")))
    may_delete = Scope.SUBMIT in principal.scopes and all(
        viewer.is_hub_staff or r.owner_org_id == principal.organisation_id for r in rows)
    if not may_delete:
        audit.record(session, clock, action="taxii.delete.refused", actor=principal.actor,
                     target=stix_id, source=source, organisation_id=principal.organisation_id,
                     details={"collection": collection_id})
        raise TaxiiError(403, "you may not delete this object")
    ids = [r.id for r in rows]
    if ids:
        session.execute(delete(CollectionEntry).where(
            CollectionEntry.collection_id == collection_id,
            CollectionEntry.shared_object_id.in_(ids)))
        orphans = list(session.scalars(select(SharedObject.id).where(
            SharedObject.id.in_(ids),
            ~exists(select(CollectionEntry.shared_object_id)
                    .where(CollectionEntry.shared_object_id == SharedObject.id)))))
        if orphans:  # their links, entries and submitter rows go by ON DELETE CASCADE
            session.execute(delete(SharedObject).where(SharedObject.id.in_(orphans)))
    audit.record(session, clock, action="taxii.delete", actor=principal.actor, target=stix_id,
                 source=source, organisation_id=principal.organisation_id,
                 details={"collection": collection_id, "versions": len(ids)})
    session.flush()
    return len(ids)
