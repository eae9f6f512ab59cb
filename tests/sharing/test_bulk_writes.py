"""Publication writes in bulk (COPY on PostgreSQL, multi-row INSERTs elsewhere), whether
the hub posts its own objects, publishes a member's approved submission or reports to one
member: what lands in the store is what the row-by-row ORM wrote, on either database."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Select, Text, cast, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from renkei.core.members import Principal
from renkei.core.models import Community
from renkei.core.time import FixedClock
from renkei.core.tlp import Tlp
from renkei.sharing import service, taxii
from renkei.sharing.policy import Viewer
from renkei.sharing.service import WorkflowError
from renkei.sharing.store import (
    CollectionEntry,
    PublishedSubmitter,
    SharedCommunity,
    SharedObject,
    SharedRecipientOrg,
    SharedRecipientUser,
    SharedReference,
    Submission,
    SubmissionEvent,
    SubmissionState,
    insert_many,
    visible_objects,
)
from tests.sharing.test_service import World, run_to_published, world  # noqa: F401

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


def test_every_returned_row_is_the_version_stored_under_its_id(
        db_session: Session, clock: FixedClock, world: World) -> None:  # noqa: F811
    """More rows than one multi-row INSERT holds, some ids in two versions: each id the
    write hands back is the row of that object version, whatever order the database
    returned them in."""
    later = "2026-04-02T09:00:00.000Z"
    objects = [indicator() for _ in range(1_100)]
    objects += [indicator(o["id"], later) for o in objects[::20]]
    rows = publish(db_session, clock, world, *objects)
    assert [(row.stix_id, taxii.timestamp(row.version)) for row in rows] == \
        [(o["id"], o["modified"][:-1] + "000Z") for o in objects]
    assert [row.id for row in rows] == sorted(row.id for row in rows)
    stored = dict(db_session.execute(select(SharedObject.id, SharedObject.body).where(
        SharedObject.id.in_([row.id for row in rows]))).all())
    assert [stored[row.id] for row in rows] == objects


def test_a_published_submission_links_each_row_as_the_row_by_row_writes_did(
        db_session: Session, clock: FixedClock, world: World) -> None:  # noqa: F811
    p = world.people
    colleague = p["colleague"].user_id
    assert colleague is not None
    rows = run_to_published(db_session, clock, world, "amber", recipient_orgs=[world.peer.id],
                            recipient_users=[colleague])
    identity = service.hub_identity(db_session)["id"]
    shared = [row.id for row in rows if row.stix_id != identity]
    hub_row = [row.id for row in rows if row.stix_id == identity]
    assert len(shared) == 3
    assert len(hub_row) == 1
    every = [row.id for row in rows]

    def pairs(stmt: Select[Any, Any]) -> set[tuple[Any, ...]]:
        return {tuple(row) for row in db_session.execute(stmt)}
    finance = db_session.scalar(select(Community.id).where(Community.name == "finance"))
    assert pairs(select(SharedCommunity.shared_object_id, SharedCommunity.community_id)
                 .where(SharedCommunity.shared_object_id.in_(every))) \
        == {(i, finance) for i in shared}
    assert pairs(select(SharedRecipientOrg.shared_object_id, SharedRecipientOrg.organisation_id)
                 .where(SharedRecipientOrg.shared_object_id.in_(every))) \
        == {(i, world.peer.id) for i in shared}
    assert pairs(select(SharedRecipientUser.shared_object_id, SharedRecipientUser.user_id)
                 .where(SharedRecipientUser.shared_object_id.in_(every))) \
        == {(i, colleague) for i in shared}
    assert pairs(select(PublishedSubmitter.shared_object_id, PublishedSubmitter.organisation_id,
                        PublishedSubmitter.user_id)
                 .where(PublishedSubmitter.shared_object_id.in_(every))) \
        == {(i, world.acme.id, p["submitter"].user_id) for i in shared}
    entries = db_session.scalars(select(CollectionEntry.shared_object_id).where(
        CollectionEntry.shared_object_id.in_(every))).all()
    assert sorted(entries) == sorted(every)
    report_row = next(row for row in rows if row.stix_type == "report")
    assert pairs(select(SharedReference.ref_stix_id)
                 .where(SharedReference.shared_object_id == report_row.id)) \
        == {(ref,) for ref in report_row.body["object_refs"]}
    stored = db_session.execute(select(SharedObject.id, SharedObject.submission_id,
                                       SharedObject.author_user_id)
                                .where(SharedObject.id.in_(every))).all()
    submission_id = rows[0].submission_id
    assert {(s.id, s.submission_id, s.author_user_id) for s in stored} == \
        {(i, submission_id, p["submitter"].user_id) for i in shared} | \
        {(hub_row[0], submission_id, None)}


def _through_to_approved(session: Session, clock: FixedClock, submitter: Principal,
                         analyst: Principal, *objects: dict[str, Any]) -> int:
    submission = service.submit(session, clock, submitter, bundle(*objects))
    service.sanitise(session, clock, analyst, submission.id)
    service.approve(session, clock, submitter, submission.id)
    return submission.id


def test_a_refused_publication_writes_none_of_its_objects(
        db_session: Session, clock: FixedClock, world: World) -> None:  # noqa: F811
    """The refusal is committed for its audit record (as the API does), so a check that
    failed halfway through the objects must not have written the ones before it."""
    p = world.people
    theirs = indicator()
    peer_first = _through_to_approved(db_session, clock, p["peer"], p["analyst"], theirs)
    service.publish(db_session, clock, p["analyst"], peer_first)
    mine = _through_to_approved(db_session, clock, p["submitter"], p["analyst"], indicator(),
                                indicator(), indicator(theirs["id"], "2026-04-02T09:00:00.000Z"))
    with pytest.raises(WorkflowError, match="another organisation"):
        service.publish(db_session, clock, p["analyst"], mine)
    db_session.commit()
    assert db_session.scalar(select(func.count()).select_from(SharedObject)
                             .where(SharedObject.submission_id == mine)) == 0
    state = db_session.scalar(select(Submission.state).where(Submission.id == mine))
    assert state is SubmissionState.APPROVED
    last = db_session.scalars(select(SubmissionEvent.action).where(
        SubmissionEvent.submission_id == mine).order_by(SubmissionEvent.id.desc())).first()
    assert last == "publish.refused"


def _to_member(*objects: dict[str, Any]) -> dict[str, Any]:
    return bundle(*[{**o, "object_marking_refs": [Tlp.AMBER_STRICT.marking_id]}
                    for o in objects])


def test_a_report_to_a_member_is_written_once_and_read_by_that_member_alone(
        db_session: Session, clock: FixedClock, world: World) -> None:  # noqa: F811
    first, second = indicator(), indicator()
    rows = service.publish_to_member(db_session, clock, _to_member(first, second), world.acme,
                                     actor="test")
    assert [row.stix_id for row in rows] == [first["id"], second["id"]]
    stored = db_session.execute(select(SharedObject.id, SharedObject.owner_org_id,
                                       SharedObject.marking, SharedObject.author_user_id)
                                .where(SharedObject.id.in_([row.id for row in rows]))).all()
    assert {tuple(s) for s in stored} == \
        {(row.id, world.acme.id, "amber+strict", None) for row in rows}
    entries = db_session.scalars(select(CollectionEntry.shared_object_id).where(
        CollectionEntry.shared_object_id.in_([row.id for row in rows]))).all()
    assert sorted(entries) == sorted(row.id for row in rows)
    # the same report again writes nothing; a newer version of one object is written
    assert service.publish_to_member(db_session, clock, _to_member(first, second),
                                     world.acme, actor="test") == []
    newer = indicator(first["id"], "2026-04-02T09:00:00.000Z")
    again = service.publish_to_member(db_session, clock, _to_member(newer), world.acme,
                                      actor="test")
    assert [row.stix_id for row in again] == [first["id"]]
    flags = db_session.execute(select(SharedObject.version, SharedObject.superseded)
                               .where(SharedObject.stix_id == first["id"])
                               .order_by(SharedObject.version)).all()
    assert [superseded for _, superseded in flags] == [True, False]
    seen = {o.stix_id for o in visible_objects(db_session, Viewer.of(world.people["reader"]))}
    assert {first["id"], second["id"]} <= seen
    for other in ("peer", "telco", "loner"):
        unseen = {o.stix_id for o in visible_objects(db_session,
                                                     Viewer.of(world.people[other]))}
        assert not {first["id"], second["id"]} & unseen


def test_a_report_to_a_member_naming_another_organisations_object_writes_nothing(
        db_session: Session, clock: FixedClock, world: World) -> None:  # noqa: F811
    theirs = indicator()
    service.publish_to_member(db_session, clock, _to_member(theirs), world.peer, actor="test")
    before = db_session.scalar(select(func.count()).select_from(SharedObject))
    with pytest.raises(WorkflowError, match="another organisation"):
        service.publish_to_member(db_session, clock, _to_member(indicator(), theirs),
                                  world.acme, actor="test")
    assert db_session.scalar(select(func.count()).select_from(SharedObject)) == before
