"""The sharing domain's tables and the queries that read them.

Shared objects keep one row per STIX object version (``stix_id`` and ``version``, the
object's ``modified``), with what the TLP policy needs: owner organisation, author, marking
and three link tables (recipient organisations, recipient users, audience communities).
Every read of shared objects goes through ``visible_objects``, which is built from
``policy.visible_clause``; nothing else here compares markings.

TAXII collections are named views of the shared objects: ``collection_entries`` says which
object versions each holds and since when (the TAXII ``date_added``), ``taxii_statuses``
keeps the outcome of each TAXII POST. ``sightings`` counts members' sightings of a shared
object; who saw it is never shown to other members.

Submissions are members' reports on their way to publication. Their state changes are
rows of ``submission_events`` (append-only); ``submissions.state`` is the latest of them.
``published_submitters`` maps a published object back to its real submitter: the service
reads it for the hub's staff only (``service.submitter_of``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    any_,
    bindparam,
    cast,
    false,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.sql import ColumnElement

from renkei.core.bulk import insert_many, is_postgresql, reserve_ids, table_of
from renkei.core.models import Base
from renkei.sharing.policy import Link, References, SharedColumns, Viewer, visible_clause


class SubmissionState(StrEnum):
    """submitted → sanitised → approved (by the submitter) → published; or rejected."""

    SUBMITTED = "submitted"
    SANITISED = "sanitised"
    APPROVED = "approved"
    PUBLISHED = "published"
    REJECTED = "rejected"


def _values(enum: type[StrEnum]) -> list[str]:
    return [member.value for member in enum]


class SharedObject(Base):
    """One version of one shared STIX object."""

    __tablename__ = "shared_objects"
    __table_args__ = (UniqueConstraint("stix_id", "version", name="uq_shared_objects_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # no index of its own: the unique (stix_id, version) index answers every look-up by id,
    # and a second index keyed on random UUIDs doubled the pages each bulk insert dirties
    stix_id: Mapped[str] = mapped_column(String(100))
    stix_type: Mapped[str] = mapped_column(String(100), index=True)
    spec_version: Mapped[str] = mapped_column(String(10))
    version: Mapped[datetime]
    date_added: Mapped[datetime] = mapped_column(index=True)
    body: Mapped[dict[str, Any]]
    owner_org_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True)
    author_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    marking: Mapped[str] = mapped_column(String(20))
    submission_id: Mapped[int | None] = mapped_column(
        ForeignKey("submissions.id", ondelete="SET NULL"), nullable=True, index=True)
    # True once a newer version of the object has been stored: only such rows need the
    # exact (policy-aware) look for a newer version when TAXII asks for the last one.
    superseded: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


@dataclass(frozen=True)
class HeldVersion:
    """An object version the store holds, as a write needs to know it."""

    stix_id: str
    version: datetime
    row_id: int
    owner_org_id: int


def held_versions(session: Session, stix_ids: list[str]) -> list[HeldVersion]:
    """Every version held of the objects ``stix_ids`` names. One query with an array on
    PostgreSQL; elsewhere chunks of an IN list (SQLite binds at most 32,766 values)."""
    wanted = sorted(set(stix_ids))
    if not wanted:
        return []
    columns = (SharedObject.stix_id, SharedObject.version, SharedObject.id,
               SharedObject.owner_org_id)
    if is_postgresql(session):
        # an IN list of 500 values is a statement psycopg parses afresh each time
        chunks = [select(*columns).where(SharedObject.stix_id == any_(
            bindparam("ids", wanted, type_=postgresql.ARRAY(String))))]
    else:
        chunks = [select(*columns).where(SharedObject.stix_id.in_(wanted[start:start + 500]))
                  for start in range(0, len(wanted), 500)]
    return [HeldVersion(*row) for stmt in chunks for row in session.execute(stmt)]


def add_shared_objects(session: Session, values: list[dict[str, Any]]) -> list[SharedObject]:
    """Insert new object versions (``SharedObject`` column values, the same keys in each,
    no two with the same ``stix_id`` and ``version``) in bulk, in their order; return them
    as ``SharedObject`` instances with their ids, for the caller to read (they are not in
    the session: the rows are written already).

    On PostgreSQL the ids come from the sequence first and the rows go by COPY
    (``insert_many``). On SQLite a multi-row ``INSERT … RETURNING``, whose rows SQLite
    returns in no promised order: each id is matched to its row by the unique (stix_id,
    version), not by position. (Asking SQLAlchemy for the parameters' order instead makes
    it send one INSERT per row on SQLite, a fifth of a POST's time.)"""
    if not values:
        return []
    table = table_of(SharedObject)
    if is_postgresql(session):
        ids = reserve_ids(session, SharedObject, len(values))
        values = [{**row, "id": row_id} for row, row_id in zip(values, ids, strict=True)]
        insert_many(session, SharedObject, values)
    else:
        returned = session.execute(
            insert(table).returning(table.c.id, table.c.stix_id, table.c.version), values)
        id_of = {(stix_id, version): row_id for row_id, stix_id, version in returned}
        ids = [id_of[(row["stix_id"], row["version"])] for row in values]
    return [SharedObject(**{"superseded": False, **row, "id": row_id})
            for row, row_id in zip(values, ids, strict=True)]


def mark_superseded(session: Session, rows: list[SharedObject]) -> None:
    """Flag, after new versions were added, every row that a newer version now follows."""
    ids = sorted({row.stix_id for row in rows})
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        newest = (select(func.max(_NEWER.c.version)).where(_NEWER.c.stix_id == SharedObject.stix_id)
                  .scalar_subquery())
        session.execute(update(SharedObject).where(
            SharedObject.stix_id.in_(chunk), SharedObject.version < newest,
            SharedObject.superseded.is_(False)).values(superseded=True)
            .execution_options(synchronize_session=False))


class SharedRecipientOrg(Base):
    __tablename__ = "shared_recipient_orgs"

    shared_object_id: Mapped[int] = mapped_column(
        ForeignKey("shared_objects.id", ondelete="CASCADE"), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True)


class SharedRecipientUser(Base):
    __tablename__ = "shared_recipient_users"

    shared_object_id: Mapped[int] = mapped_column(
        ForeignKey("shared_objects.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)


class SharedCommunity(Base):
    """A community in a shared object's default audience (TLP:AMBER without recipients)."""

    __tablename__ = "shared_communities"

    shared_object_id: Mapped[int] = mapped_column(
        ForeignKey("shared_objects.id", ondelete="CASCADE"), primary_key=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True)


class Submission(Base):
    """A member's report: what it sent, the sanitised version, and who it is meant for."""

    __tablename__ = "submissions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    submitted_by: Mapped[str] = mapped_column(String(200))
    submitted_at: Mapped[datetime]
    state: Mapped[SubmissionState] = mapped_column(
        Enum(SubmissionState, native_enum=False, length=20, values_callable=_values,
             validate_strings=True), index=True)
    marking: Mapped[str] = mapped_column(String(20))
    original: Mapped[dict[str, Any]]
    sanitised: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    diff: Mapped[str] = mapped_column(Text, default="")
    recipients: Mapped[dict[str, Any]]  # {"organisations": [...], "users": [...], "communities": [...]}


class SubmissionEvent(Base):
    """Append-only: every step of a submission, including refused attempts."""

    __tablename__ = "submission_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(50))
    state: Mapped[SubmissionState] = mapped_column(
        Enum(SubmissionState, native_enum=False, length=20, values_callable=_values,
             validate_strings=True))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class PublishedSubmitter(Base):
    """Who really submitted a published object version; for the hub's staff only."""

    __tablename__ = "published_submitters"

    shared_object_id: Mapped[int] = mapped_column(
        ForeignKey("shared_objects.id", ondelete="CASCADE"), primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True)


class SharedReference(Base):
    """A STIX id a shared object version refers to (``*_ref``/``*_refs`` properties but its
    author and markings): the policy hides the object when the referred one is hidden."""

    __tablename__ = "shared_references"

    shared_object_id: Mapped[int] = mapped_column(
        ForeignKey("shared_objects.id", ondelete="CASCADE"), primary_key=True)
    ref_stix_id: Mapped[str] = mapped_column(String(100), primary_key=True)


_NEWER = SharedObject.__table__.alias("newer")


class TaxiiCollection(Base):
    """A TAXII collection: which markings it carries and, optionally, for which community."""

    __tablename__ = "taxii_collections"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    alias: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    markings: Mapped[list[str]] = mapped_column(JSON)  # Tlp values; empty: every marking
    community_id: Mapped[int | None] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), nullable=True)
    members_write: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class CollectionEntry(Base):
    """An object version in a collection, since ``date_added``."""

    __tablename__ = "collection_entries"
    __table_args__ = (
        Index("ix_collection_entries_paging", "collection_id", "date_added", "shared_object_id"),
    )

    collection_id: Mapped[str] = mapped_column(
        ForeignKey("taxii_collections.id", ondelete="CASCADE"), primary_key=True)
    shared_object_id: Mapped[int] = mapped_column(
        ForeignKey("shared_objects.id", ondelete="CASCADE"), primary_key=True, index=True)
    date_added: Mapped[datetime]


class TaxiiStatus(Base):
    """The outcome of one TAXII POST; readable by the organisation that posted it."""

    __tablename__ = "taxii_statuses"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    collection_id: Mapped[str] = mapped_column(
        ForeignKey("taxii_collections.id", ondelete="CASCADE"))
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    request_timestamp: Mapped[datetime]
    submission_id: Mapped[int | None] = mapped_column(
        ForeignKey("submissions.id", ondelete="SET NULL"), nullable=True)
    total_count: Mapped[int]
    successes: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    failures: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    pendings: Mapped[list[dict[str, Any]]] = mapped_column(JSON)


class Sighting(Base):
    """A member's report that it saw a shared object; other members see only counts."""

    __tablename__ = "sightings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stix_id: Mapped[str] = mapped_column(String(100), index=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    count: Mapped[int]
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    reported_at: Mapped[datetime]


SHARED_COLUMNS = SharedColumns(
    key=SharedObject.__table__.c.id,
    owner_org=SharedObject.__table__.c.owner_org_id,
    marking=SharedObject.__table__.c.marking,
    author_user=SharedObject.__table__.c.author_user_id,
    recipient_orgs=Link(SharedRecipientOrg.__table__.c.shared_object_id,
                        SharedRecipientOrg.__table__.c.organisation_id),
    recipient_users=Link(SharedRecipientUser.__table__.c.shared_object_id,
                         SharedRecipientUser.__table__.c.user_id),
    communities=Link(SharedCommunity.__table__.c.shared_object_id,
                     SharedCommunity.__table__.c.community_id),
)


_REFERENCED = SharedObject.__table__.alias("referenced")


def references_of(columns: SharedColumns) -> References:
    """The reference check for shared objects seen through ``columns``."""
    table = SharedReference.__table__
    return References(
        link=Link(table.c.shared_object_id, table.c.ref_stix_id),
        target_stix_id=_REFERENCED.c.stix_id,
        target=SharedColumns(key=_REFERENCED.c.id, owner_org=_REFERENCED.c.owner_org_id,
                             marking=_REFERENCED.c.marking,
                             author_user=_REFERENCED.c.author_user_id,
                             recipient_orgs=columns.recipient_orgs,
                             recipient_users=columns.recipient_users,
                             communities=columns.communities))


def readable_clause(viewer: Viewer, columns: SharedColumns = SHARED_COLUMNS,
                    ) -> ColumnElement[bool]:
    """The TLP policy over shared objects, references included: what every read uses."""
    return visible_clause(viewer, columns, references_of(columns))


def record_references(session: Session, rows: list[SharedObject]) -> None:
    """Keep what each new object version refers to, for the policy's reference check."""
    values = [{"shared_object_id": row.id, "ref_stix_id": ref}
              for row in rows for ref in references(row.body)]
    insert_many(session, SharedReference, values)


_NOT_REFERENCES = {"created_by_ref", "object_marking_refs"}


def references(body: dict[str, Any]) -> set[str]:
    """The STIX ids an object's top-level ``*_ref``/``*_refs`` properties name."""
    found: set[str] = set()
    for key, value in body.items():
        if key in _NOT_REFERENCES:
            continue
        if key.endswith("_ref") and isinstance(value, str):
            found.add(value[:100])
        elif key.endswith("_refs") and isinstance(value, list):
            found.update(v[:100] for v in value if isinstance(v, str))
    return found


def visible_objects(
    session: Session,
    viewer: Viewer,
    *,
    stix_id: str | None = None,
    stix_type: str | None = None,
    contains: str | None = None,
    newest_first: bool = False,
    limit: int | None = None,
) -> list[SharedObject]:
    """The object versions ``viewer`` may read, oldest first (by date added, then row).

    ``contains`` searches the object's JSON text for a literal string (``%`` and ``_`` are
    not wildcards)."""
    stmt = select(SharedObject).where(readable_clause(viewer))
    if stix_id is not None:
        stmt = stmt.where(SharedObject.stix_id == stix_id)
    if stix_type is not None:
        stmt = stmt.where(SharedObject.stix_type == stix_type)
    if contains:
        stmt = stmt.where(cast(SharedObject.body, Text).contains(contains, autoescape=True))
    if newest_first:
        stmt = stmt.order_by(SharedObject.date_added.desc(), SharedObject.id.desc())
    else:
        stmt = stmt.order_by(SharedObject.date_added, SharedObject.id)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))
