"""TAXII 2.1 semantics on the database: filters, cursors, versions under the policy, routing
of published objects to collections."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from renkei.core.time import FixedClock
from renkei.core.tlp import Tlp
from renkei.sharing import service, taxii
from renkei.sharing.policy import Viewer
from renkei.sharing.taxii import Cursor, Filters, TaxiiError, parse_filters
from tests.sharing.test_service import World, run_to_published, world  # noqa: F401


def test_filters_are_read_and_bounded() -> None:
    filters = parse_filters({"limit": ["99999"], "match[type]": ["indicator,malware"],
                             "match[version]": ["all"], "added_after":
                             ["2026-04-01T09:00:00.000Z"], "match[unknown]": ["x"]})
    assert filters.limit == taxii.MAX_LIMIT
    assert filters.types == ("indicator", "malware")
    assert filters.versions == ("all",)
    assert filters.added_after == datetime(2026, 4, 1, 9, tzinfo=UTC)
    assert parse_filters({}).versions == ("last",)


@pytest.mark.parametrize("params", [
    {"limit": ["0"]}, {"limit": ["-1"]}, {"limit": ["ten"]},
    {"added_after": ["yesterday"]}, {"added_after": ["2026-04-01T09:00:00"]},
    {"match[id]": ["not-an-id"]}, {"match[type]": ["Indicator"]},
    {"match[version]": ["latest"]}, {"match[spec_version]": ["3.0"]},
    {"next": ["%%%"]}, {"match[type]": [",".join(["a"] * 101)]},
])
def test_malformed_filters_are_a_400(params: dict[str, list[str]]) -> None:
    with pytest.raises(TaxiiError) as refused:
        parse_filters(params)
    assert refused.value.status == 400


def test_a_cursor_round_trips() -> None:
    cursor = Cursor(datetime(2026, 4, 1, 9, 0, 0, 123456, tzinfo=UTC), 42)
    assert Cursor.decode(cursor.encode()) == cursor


@given(st.text(max_size=200))
def test_any_next_value_is_a_cursor_or_a_400(text: str) -> None:
    statuses = []
    try:
        Cursor.decode(text)
    except TaxiiError as refused:
        statuses.append(refused.status)
    assert statuses in ([], [400])


def indicator_bundle(stix_id: str, modified: str, level: Tlp) -> dict[str, Any]:
    return {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": [{
        "type": "indicator", "spec_version": "2.1", "id": stix_id,
        "created": "2026-04-01T09:00:00.000Z", "modified": modified,
        "pattern": "[domain-name:value = 'evil.example']", "pattern_type": "stix",
        "valid_from": "2026-04-01T09:00:00Z", "object_marking_refs": [level.marking_id]}]}


def test_last_is_the_newest_version_the_viewer_may_read(
        db_session: Session, clock: FixedClock, world: World) -> None:  # noqa: F811
    hub = taxii.ensure_default_collection(db_session, clock)
    staff = world.people["hub token"]
    stix_id = f"indicator--{uuid.uuid4()}"
    service.publish_direct(db_session, clock, staff,
                           indicator_bundle(stix_id, "2026-04-01T09:00:00.000Z", Tlp.GREEN), hub)
    clock.at += timedelta(minutes=1)
    service.publish_direct(db_session, clock, staff, indicator_bundle(
        stix_id, "2026-04-02T09:00:00.000Z", Tlp.AMBER_STRICT), hub)

    def last_versions(who: str) -> list[str]:
        viewer = Viewer.of(world.people[who])
        page = taxii.manifest_page(db_session, viewer, hub.id, Filters(ids=(stix_id,)))
        return [item["version"] for item in page.items]

    assert last_versions("hub token") == ["2026-04-02T09:00:00.000000Z"]
    assert last_versions("peer") == ["2026-04-01T09:00:00.000000Z"]  # not the hidden one
    assert last_versions("loner") == []  # GREEN needs a community


def test_published_objects_go_to_the_collections_their_marking_and_community_allow(
        db_session: Session, clock: FixedClock, world: World) -> None:  # noqa: F811
    hub = taxii.ensure_default_collection(db_session, clock)
    finance = taxii.add_collection(db_session, clock, "finance-amber", title="Finance",
                                   markings=[Tlp.AMBER], community="finance")
    telecom = taxii.add_collection(db_session, clock, "telecom", title="Telecom",
                                   community="telecom")
    clear = taxii.add_collection(db_session, clock, "clear", title="Public",
                                 markings=[Tlp.CLEAR])
    rows = run_to_published(db_session, clock, world, "amber")
    indicator = next(r for r in rows if r.stix_type == "indicator")
    staff = Viewer.of(world.people["analyst"])

    def holds(collection_id: str) -> bool:
        page = taxii.objects_page(db_session, staff, collection_id,
                                  Filters(ids=(indicator.stix_id,)))
        return bool(page.items)

    assert holds(hub.id)
    assert holds(finance.id)
    assert not holds(telecom.id)
    assert not holds(clear.id)
    views = {v.collection.alias for v in taxii.collections_for(db_session,
                                                               world.people["telco"])}
    assert views == {"hub", "telecom", "clear"}  # a community's collection is its own


def test_an_empty_page_has_no_date_headers(db_session: Session, clock: FixedClock,
                                           world: World) -> None:  # noqa: F811
    hub = taxii.ensure_default_collection(db_session, clock)
    page = taxii.objects_page(db_session, Viewer.of(world.people["loner"]), hub.id, Filters())
    assert page.items == []
    assert page.headers() == {}
    assert taxii.envelope_bytes(page) == b'{"more":false}'


def test_members_cannot_write_where_members_may_not(
        db_session: Session, clock: FixedClock, world: World) -> None:  # noqa: F811
    closed = taxii.add_collection(db_session, clock, "closed", title="Hub only",
                                  members_write=False)
    view = taxii.collection_for(db_session, world.people["submitter"], closed.id)
    assert view.can_read
    assert not view.can_write
    with pytest.raises(TaxiiError) as refused:
        taxii.add_objects(db_session, clock, world.people["submitter"], view,
                          b'{"objects": [{"type": "x"}]}', source="test")
    assert refused.value.status == 403


def test_sparse_visibility_pages_through_many_windows(
        db_session: Session, clock: FixedClock, world: World) -> None:  # noqa: F811
    hub = taxii.ensure_default_collection(db_session, clock)
    objects = []
    for n in range(1_300):
        level = Tlp.GREEN if n % 97 == 0 else Tlp.AMBER_STRICT
        objects.extend(indicator_bundle(f"indicator--{uuid.uuid4()}",
                                        "2026-04-01T09:00:00.000Z", level)["objects"])
    bundle = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects}
    service.publish_direct(db_session, clock, world.people["hub token"], bundle, hub)
    wanted = [o["id"] for n, o in enumerate(objects) if n % 97 == 0]
    peer = Viewer.of(world.people["peer"])
    seen: list[str] = []
    filters = Filters(limit=4)
    while True:
        page = taxii.manifest_page(db_session, peer, hub.id, filters)
        seen.extend(item["id"] for item in page.items)
        if not page.more:
            break
        assert page.next is not None
        filters = Filters(limit=4, cursor=Cursor.decode(page.next))
    assert seen == wanted  # every visible one, once, in the order they were added
    staff = taxii.manifest_page(db_session, Viewer.of(world.people["analyst"]), hub.id,
                                Filters(limit=5_000))
    assert len(staff.items) == 1_300
