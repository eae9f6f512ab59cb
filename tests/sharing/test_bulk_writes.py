"""The hub's direct publication writes in bulk (COPY on PostgreSQL, executemany elsewhere):
what lands in the store is what the row-by-row ORM wrote, on either database."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Select, Text, cast, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from renkei.core.models import Community
from renkei.core.time import FixedClock
from renkei.core.tlp import Tlp
from renkei.sharing import service, taxii
from renkei.sharing.store import (
    CollectionEntry,
    SharedCommunity,
    SharedObject,
    SharedRecipientOrg,
    SharedReference,
    insert_many,
)
from tests.sharing.test_service import World, world  # noqa: F401

T0 = "2026-04-01T09:00:00.000Z"


def indicator(stix_id: str | None = None, modified: str = T0, level: Tlp = Tlp.GREEN,
              **extra: Any) -> dict[str, Any]:
    return {"type": "indicator", "spec_version": "2.1",
            "id": stix_id or f"indicator--{uuid.uuid4()}", "created": T0, "modified": modified,
            "pattern": "[domain-name:value = 'evil.example']", "pattern_type": "stix",
            "valid_from": "2026-04-01T09:00:00Z", "object_marking_refs": [level.marking_id],
            **extra}


def bundle(*objects: dict[str, Any]) -> dict[str, Any]:
    return {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": list(objects)}


def publish(session: Session, clock: FixedClock, w: World, *objects: dict[str, Any],
            **options: Any) -> list[SharedObject]:
    hub = taxii.ensure_default_collection(session, clock)
    return service.publish_direct(session, clock, w.people["hub token"], bundle(*objects),
                                  hub, **options)


def test_rows_keep_the_posted_order_and_the_bodies_their_exact_json_text(
        db_session: Session, clock: FixedClock, world: World) -> None:  # noqa: F811
    objects = [indicator(name=f"C2 {n} — 東京 \"quoted\" \\ back\u2028slash",
                         description="x" * n) for n in range(40)]
    rows = publish(db_session, clock, world, *objects)
    assert [row.stix_id for row in rows] == [o["id"] for o in objects]
    assert [row.id for row in rows] == sorted(row.id for row in rows)
    stored = db_session.execute(
        select(SharedObject.id, SharedObject.stix_id, cast(SharedObject.body, Text),
               SharedObject.version, SharedObject.date_added, SharedObject.superseded,
               SharedObject.owner_org_id, SharedObject.marking)
        .where(SharedObject.id.in_([row.id for row in rows])).order_by(SharedObject.id)).all()
    assert [s.stix_id for s in stored] == [o["id"] for o in objects]
    for found, obj, row in zip(stored, objects, rows, strict=True):
        assert found.id == row.id
        assert found[2] == json.dumps(obj)  # the text the ORM wrote, read back without decoding
        assert found.version == datetime(2026, 4, 1, 9, tzinfo=UTC) == row.version
        assert found.date_added == clock.now() == row.date_added
        assert (found.superseded, found.owner_org_id, found.marking) == \
            (False, world.hub.id, "green")
    entries = db_session.scalars(select(CollectionEntry.shared_object_id).where(
        CollectionEntry.shared_object_id.in_([row.id for row in rows]))).all()
    assert sorted(entries) == [row.id for row in rows]


def test_versions_are_flagged_superseded_within_an_envelope_and_across_them(
        db_session: Session, clock: FixedClock, world: World) -> None:  # noqa: F811
    twice, later, alone = (f"indicator--{uuid.uuid4()}" for _ in range(3))
    v1, v2, v3 = T0, "2026-04-02T09:00:00.000Z", "2026-04-03T09:00:00.000Z"
    publish(db_session, clock, world, indicator(twice, v1), indicator(twice, v2),
            indicator(later, v2), indicator(alone))
    clock.at += timedelta(minutes=1)
    publish(db_session, clock, world, indicator(later, v3), indicator(later, v1))

    def flags(stix_id: str) -> list[tuple[str, bool]]:
        rows = db_session.execute(select(SharedObject.version, SharedObject.superseded)
                                  .where(SharedObject.stix_id == stix_id)
                                  .order_by(SharedObject.version)).all()
        return [(taxii.timestamp(version)[:10], superseded) for version, superseded in rows]
    assert flags(twice) == [("2026-04-01", True), ("2026-04-02", False)]
    # an older version arriving after a newer one is superseded from the start
    assert flags(later) == [("2026-04-01", True), ("2026-04-02", True), ("2026-04-03", False)]
    assert flags(alone) == [("2026-04-01", False)]


def test_audience_recipients_and_references_are_written_for_each_row(
        db_session: Session, clock: FixedClock, world: World) -> None:  # noqa: F811
    target = indicator(level=Tlp.AMBER)
    pointing = {"type": "relationship", "spec_version": "2.1",
                "id": f"relationship--{uuid.uuid4()}", "created": T0, "modified": T0,
                "relationship_type": "indicates", "source_ref": target["id"],
                "target_ref": f"malware--{uuid.uuid4()}",
                "object_marking_refs": [Tlp.AMBER.marking_id]}
    rows = publish(db_session, clock, world, target, pointing,
                   recipient_orgs=[world.acme.id, world.telco.id])
    ids = [row.id for row in rows]

    def pairs(stmt: Select[Any, Any]) -> set[tuple[Any, ...]]:
        return {tuple(row) for row in db_session.execute(stmt)}
    communities = set(db_session.scalars(select(Community.id)))
    assert len(communities) >= 2
    assert pairs(select(SharedCommunity.shared_object_id, SharedCommunity.community_id)
                 .where(SharedCommunity.shared_object_id.in_(ids))) \
        == {(i, c) for i in ids for c in communities}
    assert pairs(select(SharedRecipientOrg.shared_object_id, SharedRecipientOrg.organisation_id)
                 .where(SharedRecipientOrg.shared_object_id.in_(ids))) \
        == {(i, o) for i in ids for o in (world.acme.id, world.telco.id)}
    assert pairs(select(SharedReference.shared_object_id, SharedReference.ref_stix_id)
                 .where(SharedReference.shared_object_id.in_(ids))) \
        == {(rows[1].id, target["id"]), (rows[1].id, pointing["target_ref"])}


def test_a_repeated_post_writes_nothing_new(db_session: Session, clock: FixedClock,
                                            world: World) -> None:  # noqa: F811
    objects = [indicator() for _ in range(3)]
    assert len(publish(db_session, clock, world, *objects)) == 3
    count = db_session.scalar(select(func.count()).select_from(SharedObject))
    assert publish(db_session, clock, world, *objects) == []
    assert db_session.scalar(select(func.count()).select_from(SharedObject)) == count


def test_a_bulk_write_that_breaks_a_constraint_fails_as_an_insert_would(
        db_session: Session, clock: FixedClock, world: World) -> None:  # noqa: F811
    row = publish(db_session, clock, world, indicator())[0]
    hub = taxii.ensure_default_collection(db_session, clock)
    again = {"collection_id": hub.id, "shared_object_id": row.id, "date_added": clock.now()}
    with pytest.raises(IntegrityError), db_session.begin_nested():
        insert_many(db_session, CollectionEntry, [again])
