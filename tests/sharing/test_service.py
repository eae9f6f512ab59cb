"""The consent workflow on the database: submit → sanitise → approve → publish, each step
recorded; refusals audited; published objects read only through the TLP policy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from renkei.core import orgs
from renkei.core.members import Principal, ScopeError
from renkei.core.models import AuditEvent, Organisation, Role, Scope, User
from renkei.core.time import FixedClock
from renkei.core.tlp import Tlp
from renkei.sharing import service
from renkei.sharing.policy import Shared, Viewer, may_read
from renkei.sharing.service import WorkflowError
from renkei.sharing.stix import SubmissionError
from renkei.sharing.store import (
    SharedObject,
    SubmissionEvent,
    SubmissionState,
    visible_objects,
)

MEMBER_SCOPES = frozenset({Scope.READ, Scope.SUBMIT})


@dataclass
class World:
    hub: Organisation
    acme: Organisation  # the submitter, in "finance"
    peer: Organisation  # also in "finance"
    telco: Organisation  # in "telecom"
    loner: Organisation  # in no community
    people: dict[str, Principal]


def _user(session: Session, clock: FixedClock, org: Organisation, email: str, role: Role) -> User:
    user = User(email=email, organisation_id=org.id, role=role, password_hash="-",
                created_at=clock.now())
    session.add(user)
    session.flush()
    return user


def _principal(session: Session, org: Organisation, role: Role, user: User | None,
               scopes: frozenset[Scope] = MEMBER_SCOPES) -> Principal:
    return Principal(organisation_id=org.id, organisation_name=org.name, is_hub=org.is_hub,
                     communities=orgs.community_ids_of(session, org.id), role=role,
                     scopes=scopes, user_id=user.id if user else None,
                     token_key=None if user else f"tok{org.id}")


@pytest.fixture
def world(db_session: Session, clock: FixedClock) -> World:
    s = db_session
    hub = orgs.add(s, clock, "hub", hub=True)
    acme = orgs.add(s, clock, "Acme Bank", communities=["finance"])
    peer = orgs.add(s, clock, "Peer Bank", communities=["finance"])
    telco = orgs.add(s, clock, "Telco", communities=["telecom"])
    loner = orgs.add(s, clock, "Loner")
    people: dict[str, Principal] = {}
    for key, org, role in [
        ("analyst", hub, Role.HUB_ANALYST), ("submitter", acme, Role.MEMBER_SUBMITTER),
        ("colleague", acme, Role.MEMBER_SUBMITTER), ("reader", acme, Role.MEMBER_READER),
        ("peer", peer, Role.MEMBER_SUBMITTER), ("telco", telco, Role.MEMBER_READER),
        ("loner", loner, Role.MEMBER_READER),
    ]:
        user = _user(s, clock, org, f"{key}@{org.name.split()[0].lower()}.example", role)
        scopes = frozenset({Scope.READ}) if role is Role.MEMBER_READER else MEMBER_SCOPES
        people[key] = _principal(s, org, role, user, scopes)
    people["acme token"] = _principal(s, acme, Role.MEMBER_SUBMITTER, None)
    people["hub token"] = _principal(s, hub, Role.HUB_ANALYST, None)
    return World(hub, acme, peer, telco, loner, people)


def report(level: str = "amber", **extra: Any) -> dict[str, Any]:
    return {"title": "Phishing at Acme",
            "description": "Seen by taro@acme.example from mail01.acme.example (10.1.2.3)",
            "tlp": level, "indicators": [{"type": "ipv4", "value": "198.51.100.7"},
                                         {"type": "domain", "value": "evil.example"},
                                         {"type": "ipv4", "value": "10.1.2.3"}], **extra}


def actions(session: Session) -> list[str]:
    return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def run_to_published(session: Session, clock: FixedClock, w: World, level: str = "amber",
                     **recipients: Any) -> list[SharedObject]:
    p = w.people
    submission = service.submit(session, clock, p["submitter"], report(level), **recipients)
    service.sanitise(session, clock, p["analyst"], submission.id,
                     own_domains=["acme.example"], own_networks=["10.0.0.0/8"])
    service.approve(session, clock, p["submitter"], submission.id)
    return service.publish(session, clock, p["analyst"], submission.id)


def test_the_full_consent_workflow(db_session: Session, clock: FixedClock, world: World) -> None:
    p = world.people
    submission = service.submit(db_session, clock, p["submitter"], report())
    assert submission.state is SubmissionState.SUBMITTED
    assert submission.marking == Tlp.AMBER.value
    service.sanitise(db_session, clock, p["analyst"], submission.id,
                     own_domains=["acme.example"], own_networks=["10.0.0.0/8"])
    assert submission.state is SubmissionState.SANITISED
    assert "[e-mail address]" in submission.diff
    assert "[internal host]" in submission.diff
    with pytest.raises(WorkflowError):  # not before the submitter agrees
        service.publish(db_session, clock, p["analyst"], submission.id)
    service.approve(db_session, clock, p["colleague"], submission.id)
    rows = service.publish(db_session, clock, p["analyst"], submission.id)
    assert submission.state is SubmissionState.PUBLISHED
    found = sorted((r.stix_type, r.marking, r.owner_org_id) for r in rows)
    acme = world.acme.id
    assert found == [("identity", "clear", world.hub.id), ("indicator", "amber", acme),
                     ("indicator", "amber", acme), ("report", "amber", acme)]
    # (the indicator of the submitter's own 10.1.2.3 was dropped)
    hub_identity = service.hub_identity(db_session)["id"]
    assert all(r.body.get("created_by_ref") == hub_identity for r in rows
               if r.stix_type != "identity")
    events = db_session.scalars(select(SubmissionEvent.action)
                                .where(SubmissionEvent.submission_id == submission.id)
                                .order_by(SubmissionEvent.id)).all()
    assert events == ["submit", "sanitise", "publish.refused", "approve", "publish"]
    assert [a for a in actions(db_session) if a.startswith("sharing.")][-5:] == ["sharing.submit", "sharing.sanitise",
                                        "sharing.publish.refused", "sharing.approve",
                                        "sharing.publish"]


@pytest.mark.parametrize("who", ["peer", "analyst", "reader", "hub token", "telco"])
def test_only_the_submitting_organisation_may_approve(
        db_session: Session, clock: FixedClock, world: World, who: str) -> None:
    p = world.people
    submission = service.submit(db_session, clock, p["submitter"], report())
    service.sanitise(db_session, clock, p["analyst"], submission.id)
    with pytest.raises(WorkflowError):
        service.approve(db_session, clock, p[who], submission.id)
    assert submission.state is SubmissionState.SANITISED
    refused = db_session.scalars(select(AuditEvent).where(
        AuditEvent.action == "sharing.approve.refused")).one()
    assert refused.actor == p[who].actor
    assert refused.target == f"submission:{submission.id}"


def test_members_cannot_sanitise_or_publish(db_session: Session, clock: FixedClock,
                                            world: World) -> None:
    p = world.people
    submission = service.submit(db_session, clock, p["submitter"], report())
    with pytest.raises(WorkflowError):
        service.sanitise(db_session, clock, p["submitter"], submission.id)
    with pytest.raises(WorkflowError):
        service.publish(db_session, clock, p["submitter"], submission.id)
    assert submission.state is SubmissionState.SUBMITTED
    assert actions(db_session)[-2:] == ["sharing.sanitise.refused", "sharing.publish.refused"]


def test_approving_before_sanitising_is_refused(db_session: Session, clock: FixedClock,
                                                world: World) -> None:
    submission = service.submit(db_session, clock, world.people["submitter"], report())
    with pytest.raises(WorkflowError):
        service.approve(db_session, clock, world.people["submitter"], submission.id)


def test_the_submitter_may_withhold_consent(db_session: Session, clock: FixedClock,
                                            world: World) -> None:
    p = world.people
    submission = service.submit(db_session, clock, p["submitter"], report())
    service.sanitise(db_session, clock, p["analyst"], submission.id)
    service.reject(db_session, clock, p["submitter"], submission.id, "too revealing")
    assert submission.state is SubmissionState.REJECTED
    with pytest.raises(WorkflowError):
        service.approve(db_session, clock, p["submitter"], submission.id)
    assert db_session.scalars(select(SharedObject)).all() == []


def test_an_invalid_submission_is_refused_and_audited(db_session: Session, clock: FixedClock,
                                                      world: World) -> None:
    with pytest.raises(SubmissionError) as caught:
        service.submit(db_session, clock, world.people["submitter"],
                       report(indicators=[{"type": "ipv4", "value": "nope"}]))
    assert [p.where for p in caught.value.problems] == ["$.indicators[0].value"]
    assert actions(db_session)[-1] == "sharing.submit.rejected"


def readers_of(session: Session, world: World, rows: list[SharedObject]) -> set[str]:
    """Who reads the report ``rows`` publish."""
    report_id = next(r.stix_id for r in rows if r.stix_type == "report")
    return {who for who, p in world.people.items()
            if visible_objects(session, Viewer.of(p), stix_id=report_id)}


def test_unknown_recipient_organisations_are_kept_and_read_nothing(
        db_session: Session, clock: FixedClock, world: World) -> None:
    rows = run_to_published(db_session, clock, world, "amber",
                            recipient_orgs=[world.telco.id, 999_999],
                            recipient_org_names=["  Loner ", "Nobody Inc", "loner"])
    assert readers_of(db_session, world, rows) == {
        "submitter", "colleague", "reader", "acme token", "analyst", "hub token", "telco",
        "loner"}
    published = db_session.scalars(select(SubmissionEvent).where(
        SubmissionEvent.action == "publish")).one()
    audited = db_session.scalars(select(AuditEvent).where(
        AuditEvent.action == "sharing.publish")).one()
    for details in (published.details, audited.details):
        assert details["unmatched_organisation_names"] == ["Nobody Inc", "loner"]
        assert details["unmatched_organisation_ids"] == [999_999]


def test_naming_only_unknown_organisations_narrows_amber_to_the_owner(
        db_session: Session, clock: FixedClock, world: World) -> None:
    """Not the owner's communities: the member asked for named readers only."""
    rows = run_to_published(db_session, clock, world, "amber", recipient_orgs=[999_999],
                            recipient_org_names=["Nobody Inc"])
    assert readers_of(db_session, world, rows) == {
        "submitter", "colleague", "reader", "acme token", "analyst", "hub token"}
    everyone = run_to_published(db_session, clock, world, "amber")
    assert "peer" in readers_of(db_session, world, everyone)  # the default audience


def test_the_event_lists_nothing_unmatched_when_all_exist(
        db_session: Session, clock: FixedClock, world: World) -> None:
    run_to_published(db_session, clock, world, "amber", recipient_orgs=[world.peer.id],
                     recipient_org_names=["Telco"])
    published = db_session.scalars(select(SubmissionEvent).where(
        SubmissionEvent.action == "publish")).one()
    assert set(published.details) == {"published", "already_published"}


@pytest.mark.parametrize("names", [[""], ["x" * 201], ["bad\x00name"], ["a\u202eb"],
                                   [f"org {i}" for i in range(101)]])
def test_organisation_names_are_refused_for_their_spelling_alone(
        db_session: Session, clock: FixedClock, world: World, names: list[str]) -> None:
    with pytest.raises(SubmissionError) as caught:
        service.submit(db_session, clock, world.people["submitter"], report(),
                       recipient_org_names=names)
    assert {p.where for p in caught.value.problems} == {"recipient_orgs"}
    assert "no organisation" not in str(caught.value.problems)


def test_a_member_cannot_publish_directly_whoever_it_names(
        db_session: Session, clock: FixedClock, world: World) -> None:
    from renkei.sharing import taxii

    collection = taxii.ensure_default_collection(db_session, clock)
    bundle = {"type": "bundle", "id": "bundle--6a1f3c52-2d0e-4c3b-9f55-000000000001",
              "objects": []}
    refusals = []
    for named in ([world.peer.id], [999_999]):
        with pytest.raises(WorkflowError) as caught:
            service.publish_direct(db_session, clock, world.people["submitter"], bundle,
                                   collection, recipient_orgs=named)
        refusals.append((caught.value.status, str(caught.value)))
    assert refusals[0] == refusals[1]


def test_a_reader_cannot_submit(db_session: Session, clock: FixedClock, world: World) -> None:
    with pytest.raises(ScopeError):
        service.submit(db_session, clock, world.people["reader"], report())


def _shared(session: Session, row: SharedObject) -> Shared:
    from renkei.sharing.store import SharedCommunity, SharedRecipientOrg, SharedRecipientUser

    def ids(model: Any, column: Any) -> frozenset[int]:
        return frozenset(session.scalars(select(column).where(model.shared_object_id == row.id)))

    return Shared(owner_org_id=row.owner_org_id, marking=Tlp(row.marking),
                  recipient_orgs=ids(SharedRecipientOrg, SharedRecipientOrg.organisation_id),
                  recipient_users=ids(SharedRecipientUser, SharedRecipientUser.user_id),
                  communities=ids(SharedCommunity, SharedCommunity.community_id),
                  author_user_id=row.author_user_id)


@pytest.mark.parametrize("level", [t.value for t in Tlp])
def test_visible_objects_follow_the_policy(db_session: Session, clock: FixedClock,
                                           world: World, level: str) -> None:
    p = world.people
    recipients: dict[str, Any] = {}
    if level == "red":
        recipients = {"recipient_users": [p["telco"].user_id]}
    rows = run_to_published(db_session, clock, world, level, **recipients)
    rows += run_to_published(db_session, clock, world, "amber",
                             recipient_orgs=[world.loner.id])
    everything = db_session.scalars(select(SharedObject).order_by(SharedObject.id)).all()
    assert len(everything) == len(rows)
    for name, principal in p.items():
        viewer = Viewer.of(principal)
        wanted = [r.id for r in everything if may_read(viewer, _shared(db_session, r))]
        got = [r.id for r in visible_objects(db_session, viewer)]
        assert sorted(got) == wanted, name
    loner = {r.stix_type: r.marking for r in visible_objects(db_session, Viewer.of(p["loner"]))}
    if level != "clear":  # the hub's identity (CLEAR) and what names the loner
        assert loner == {"identity": "clear", "report": "amber", "indicator": "amber"}


def test_red_reaches_only_named_people(db_session: Session, clock: FixedClock,
                                       world: World) -> None:
    p = world.people
    run_to_published(db_session, clock, world, "red", recipient_users=[p["telco"].user_id])
    readers = sorted(n for n, pr in p.items()
                     if visible_objects(db_session, Viewer.of(pr), stix_type="report"))
    assert readers == ["submitter", "telco"]


def test_the_real_submitter_is_for_hub_staff_only(db_session: Session, clock: FixedClock,
                                                  world: World) -> None:
    p = world.people
    rows = run_to_published(db_session, clock, world, "green")
    first = next(r.id for r in rows if r.stix_type == "report")
    assert service.submitter_of(db_session, clock, p["analyst"],
                                next(r.id for r in rows if r.stix_type == "identity")) is None
    found = service.submitter_of(db_session, clock, p["analyst"], first)
    assert found is not None
    assert (found.organisation_id, found.user_id) == (world.acme.id, p["submitter"].user_id)
    for who in ("submitter", "peer", "acme token", "telco"):
        with pytest.raises(WorkflowError):
            service.submitter_of(db_session, clock, p[who], first)
    assert actions(db_session).count("sharing.submitter.refused") == 4


def test_published_bodies_name_the_hub_not_the_submitter(db_session: Session, clock: FixedClock,
                                                         world: World) -> None:
    rows = run_to_published(db_session, clock, world, "green")
    bodies = " ".join(str(r.body) for r in rows)
    assert "taro@acme.example" not in bodies
    assert "acme.example" not in bodies
    assert "10.1.2.3" not in bodies


def test_republishing_the_same_version_adds_nothing(db_session: Session, clock: FixedClock,
                                                   world: World) -> None:
    rows = run_to_published(db_session, clock, world, "green")
    assert len(visible_objects(db_session, Viewer.of(world.people["peer"]))) == len(rows)
    with pytest.raises(WorkflowError):  # already published: a final state
        service.publish(db_session, clock, world.people["analyst"], rows[0].submission_id or 0)


def test_sanitising_that_would_break_the_bundle_is_refused(
        db_session: Session, clock: FixedClock, world: World) -> None:
    p = world.people
    only_own = report(indicators=[{"type": "ipv4", "value": "10.1.2.3"}])
    submission = service.submit(db_session, clock, p["submitter"], only_own)
    with pytest.raises(WorkflowError, match="object_refs"):
        service.sanitise(db_session, clock, p["analyst"], submission.id,
                         own_networks=["10.0.0.0/8"])
    assert submission.state is SubmissionState.SUBMITTED
    assert actions(db_session)[-1] == "sharing.sanitise.refused"
