"""Members' reports from submission to publication, the J-CSIP way.

``submit`` (a member with the submit scope) → ``sanitise`` (the hub's staff) → ``approve``
(a user of the submitting organisation with the submit scope: nothing is published without
the submitter's consent to the sanitised version) → ``publish`` (the hub's staff); or
``reject`` at any step before publication. Each step is an event of the submission and an
audit record; a refused attempt is recorded too, and the caller must commit its session
before turning the error into a refusal, or the record is rolled back with the rest.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from renkei.core import audit, members, orgs, tlp
from renkei.core.bulk import insert_many
from renkei.core.errors import UserError
from renkei.core.i18n import Translate, gettext_noop
from renkei.core.members import Principal, require_scope
from renkei.core.models import Community, Organisation, Role, Scope, User
from renkei.core.text import is_clean_line
from renkei.core.time import Clock
from renkei.core.tlp import Tlp
from renkei.sharing import stix, taxii
from renkei.sharing.policy import Viewer
from renkei.sharing.sanitise import OwnData
from renkei.sharing.sanitise import sanitise as sanitise_bundle
from renkei.sharing.store import (
    CollectionEntry,
    HeldVersion,
    PublishedSubmitter,
    SharedCommunity,
    SharedObject,
    SharedRecipientOrg,
    SharedRecipientUser,
    Submission,
    SubmissionEvent,
    SubmissionState,
    TaxiiCollection,
    add_shared_objects,
    held_versions,
    mark_superseded,
    record_references,
)

HUB_IDENTITY_NAMESPACE = uuid.UUID("6a1f3c52-2d0e-4c3b-9f55-52656e6b6569")
MAX_NAMED = 100  # people, and organisations, one report may name


class WorkflowError(UserError):
    """A step of the workflow is not allowed now, or not to this caller; ``status`` is the
    HTTP status an API answers with (403 refused, 404 unseen, 409 not now)."""

    def __init__(self, template: str, *, status: int = 409, **fields: object) -> None:
        self.status = status
        super().__init__(template, **fields)

    def translate(self, translate: Translate) -> str:
        """A refusal's ``reason`` is a msgid of its own (``REFUSALS``) where it is fixed."""
        fields = {key: translate(value) if key == "reason" and value in REFUSALS else value
                  for key, value in self.fields.items()}
        return translate(self.template).format(**fields) if fields else translate(self.template)


# The refusals' fixed reasons, translated when shown (the audit log keeps them in English).
REFUSALS = frozenset({
    gettext_noop("only a submitter of the submitting organisation may approve"),
    gettext_noop("only the hub's staff publish"),
    gettext_noop("only the hub's staff sanitise"),
    gettext_noop("only the submitter or the hub's staff may reject")})


def _refuse(session: Session, clock: Clock, principal: Principal, submission: Submission | None,
            action: str, reason: str, source: str) -> WorkflowError:
    target = f"submission:{submission.id}" if submission else ""
    audit.record(session, clock, action=f"sharing.{action}.refused", actor=principal.actor,
                 target=target, source=source, details={"reason": reason},
                 organisation_id=principal.organisation_id)
    if submission is not None:
        _event(session, clock, submission, principal, f"{action}.refused", submission.state,
               {"reason": reason})
    session.flush()
    return WorkflowError("not allowed: {reason}", status=403, reason=reason)


def _event(session: Session, clock: Clock, submission: Submission, principal: Principal,
           action: str, state: SubmissionState, details: dict[str, Any] | None = None) -> None:
    session.add(SubmissionEvent(submission_id=submission.id, at=clock.now(),
                                actor=principal.actor, action=action, state=state,
                                details=details or {}))


def _step(session: Session, clock: Clock, submission: Submission, principal: Principal,
          action: str, state: SubmissionState, source: str,
          details: dict[str, Any] | None = None) -> None:
    submission.state = state
    _event(session, clock, submission, principal, action, state, details)
    audit.record(session, clock, action=f"sharing.{action}", actor=principal.actor,
                 target=f"submission:{submission.id}", source=source,
                 details={"state": state.value, **(details or {})},
                 organisation_id=principal.organisation_id)
    session.flush()


def _is_hub_staff(principal: Principal) -> bool:
    return Viewer.of(principal).is_hub_staff


def _existing_ids(session: Session, model: type[Organisation] | type[User],
                  wanted: Iterable[int]) -> set[int]:
    ids = set(wanted)
    if not ids:
        return set()
    return set(session.scalars(select(model.id).where(model.id.in_(ids))))


def submit(
    session: Session,
    clock: Clock,
    principal: Principal,
    payload: bytes | str | dict[str, Any],
    *,
    recipient_orgs: Iterable[int] = (),
    recipient_org_names: Iterable[str] = (),
    recipient_users: Iterable[int] = (),
    recipient_emails: Iterable[str] = (),
    source: str = "api",
) -> Submission:
    """Validate and keep a member's report (a STIX bundle or a simple report).

    The organisations it names (``recipient_orgs`` by id, ``recipient_org_names`` by name)
    and the people (``recipient_users`` by id, ``recipient_emails`` by address) are kept as
    named and only resolved when the hub publishes (``named_organisations``,
    ``named_user_ids``): whether an organisation or a person is known to the hub is none
    of a member's business, so an unknown one is answered exactly as a known one, and
    reads nothing; the hub's staff see it in review."""
    require_scope(principal, Scope.SUBMIT)
    orgs_wanted, users_wanted = sorted(set(recipient_orgs)), sorted(set(recipient_users))
    try:
        parsed = stix.parse(payload, now=clock.now())
        problems: list[stix.Problem] = []
        names_wanted = _org_names(recipient_org_names, len(orgs_wanted), problems)
        emails_wanted = _addresses(recipient_emails, problems)
        if problems:
            raise stix.SubmissionError(problems)
    except stix.SubmissionError as error:
        audit.record(session, clock, action="sharing.submit.rejected", actor=principal.actor,
                     source=source, organisation_id=principal.organisation_id,
                     details={"problems": [str(p)[:200] for p in error.problems[:20]],
                              "count": len(error.problems)})
        session.flush()
        raise
    submission = Submission(
        organisation_id=principal.organisation_id, user_id=principal.user_id,
        submitted_by=principal.actor, submitted_at=clock.now(),
        state=SubmissionState.SUBMITTED, marking=parsed.marking.value, original=parsed.bundle,
        recipients={"organisations": orgs_wanted, "organisation_names": names_wanted,
                    "users": users_wanted, "emails": emails_wanted,
                    "communities": sorted(principal.communities)})
    session.add(submission)
    session.flush()
    _step(session, clock, submission, principal, "submit", SubmissionState.SUBMITTED, source,
          {"objects": len(parsed.bundle["objects"]), "marking": parsed.marking.value})
    return submission


def _org_names(names: Iterable[str], ids: int, problems: list[stix.Problem]) -> list[str]:
    """The named organisations' names, trimmed and sorted; a problem is about a name's
    spelling or how many were named (with the ``ids`` named besides), never about whether
    an organisation has the name."""
    found = set()
    for name in names:
        clean = name.strip()
        if is_clean_line(clean, min_chars=1, max_chars=orgs.NAME_MAX):
            found.add(clean)
        else:
            problems.append(stix.Problem(
                "recipient_orgs", f"an organisation's name is 1 to {orgs.NAME_MAX} characters "
                                  "without control characters"))
    if len(found) + ids > MAX_NAMED:
        problems.append(stix.Problem("recipient_orgs", f"at most {MAX_NAMED} organisations"))
    return sorted(found)


def _addresses(emails: Iterable[str], problems: list[stix.Problem]) -> list[str]:
    """The named people's addresses, normalised and sorted; a malformed one is a problem
    (that is about its spelling alone, never about whether a user has it)."""
    found = set()
    for email in emails:
        try:
            found.add(members.normalise_email(email))
        except UserError as error:
            problems.append(stix.Problem("recipient_emails", str(error)))
    if len(found) > MAX_NAMED:
        problems.append(stix.Problem("recipient_emails", f"at most {MAX_NAMED} people"))
    return sorted(found)


@dataclass(frozen=True)
class NamedOrganisations:
    """The organisations a submission names, as the hub finds them now: the ones that
    exist, and what was named (a name, an id) that is no organisation and reads nothing."""

    matched: list[int]
    unmatched_names: list[str]
    unmatched_ids: list[int]
    named: bool  # any at all: then only the named read a TLP:AMBER object

    def readers(self, owner: int) -> list[int]:
        """The organisations to link as recipients. When every one named matched none,
        the owner alone: with no recipient linked, TLP:AMBER would go to the owner's
        communities, a wider audience than the member asked for."""
        return self.matched or ([owner] if self.named else [])

    def unmatched(self) -> dict[str, list[Any]]:
        """For an event's details: what matched none (nothing when all did)."""
        found: dict[str, list[Any]] = {}
        if self.unmatched_names:
            found["unmatched_organisation_names"] = self.unmatched_names[:MAX_NAMED]
        if self.unmatched_ids:
            found["unmatched_organisation_ids"] = self.unmatched_ids[:MAX_NAMED]
        return found


def named_organisations(session: Session, recipients: dict[str, Any]) -> NamedOrganisations:
    """Resolve the organisations a submission names (by id and by exact name)."""
    ids = sorted({i for i in recipients.get("organisations", []) if isinstance(i, int)})
    names = sorted({n for n in recipients.get("organisation_names", []) if isinstance(n, str)})
    found_ids = _existing_ids(session, Organisation, ids)
    by_name: dict[str, int] = dict(session.execute(
        select(Organisation.name, Organisation.id).where(Organisation.name.in_(names))).all()
    ) if names else {}
    return NamedOrganisations(
        matched=sorted(found_ids | set(by_name.values())),
        unmatched_names=[n for n in names if n not in by_name],
        unmatched_ids=[i for i in ids if i not in found_ids], named=bool(ids or names))


def named_user_ids(session: Session, recipients: dict[str, Any]) -> list[int]:
    """The users a submission's named people are now: the ids it names that exist and the
    users with the addresses it names. Anyone else named is no one, and reads nothing."""
    ids = set(recipients.get("users", []))
    emails = sorted(set(recipients.get("emails", [])))
    found = _existing_ids(session, User, ids)
    if emails:
        found |= set(session.scalars(select(User.id).where(User.email.in_(emails))))
    return sorted(found)


def named_people(session: Session, submission: Submission) -> list[tuple[str, bool]]:
    """For the hub's review: each person a submission names (an address, or ``user N``)
    and whether a user of the hub is that person now."""
    recipients = submission.recipients or {}
    ids = sorted(set(recipients.get("users", [])))
    emails = sorted(set(recipients.get("emails", [])))
    known_ids = _existing_ids(session, User, ids)
    known_emails = set(session.scalars(select(User.email).where(User.email.in_(emails)))) \
        if emails else set()
    return ([(email, email in known_emails) for email in emails]
            + [(f"user {i}", i in known_ids) for i in ids])


def may_see_submission(principal: Principal, submission: Submission) -> bool:
    """The hub's staff see every submission; a member its own organisation's, except that a
    TLP:RED one is its author's alone."""
    if _is_hub_staff(principal):
        return True
    if submission.organisation_id != principal.organisation_id:
        return False
    return submission.marking != Tlp.RED.value or (
        principal.user_id is not None and principal.user_id == submission.user_id)


def get_submission(session: Session, principal: Principal, submission_id: int) -> Submission:
    """A submission the caller may see (``may_see_submission``); "no submission" otherwise."""
    submission = session.get(Submission, submission_id)
    if submission is None or not may_see_submission(principal, submission):
        raise WorkflowError("no submission {id}", status=404, id=submission_id)
    return submission


def submission_events(session: Session, principal: Principal,
                      submission_id: int) -> list[SubmissionEvent]:
    """A submission's history, for whoever may see the submission."""
    submission = get_submission(session, principal, submission_id)
    return list(session.scalars(select(SubmissionEvent)
                                .where(SubmissionEvent.submission_id == submission.id)
                                .order_by(SubmissionEvent.id)))


def list_submissions(session: Session, principal: Principal, *,
                     state: SubmissionState | None = None, limit: int = 500) -> list[Submission]:
    """The submissions the caller may see, newest first."""
    stmt = select(Submission)
    if not _is_hub_staff(principal):
        stmt = stmt.where(Submission.organisation_id == principal.organisation_id)
    if state is not None:
        stmt = stmt.where(Submission.state == state)
    rows = session.scalars(stmt.order_by(Submission.id.desc()).limit(limit))
    return [row for row in rows if may_see_submission(principal, row)]


def hub_identity(session: Session) -> dict[str, Any]:
    """The STIX identity that signs everything the hub publishes (TLP:CLEAR)."""
    hub = orgs.hub(session)
    if hub is None:
        raise WorkflowError("no hub organisation; make one with `renkei orgs add --hub`")
    stamp = stix.timestamp(hub.created_at)
    return {"type": "identity", "spec_version": "2.1",
            "id": f"identity--{uuid.uuid5(HUB_IDENTITY_NAMESPACE, str(hub.id))}",
            "created": stamp, "modified": stamp, "name": hub.name,
            "identity_class": "organization",
            "object_marking_refs": [Tlp.CLEAR.marking_id]}


def sanitise(
    session: Session,
    clock: Clock,
    principal: Principal,
    submission_id: int,
    *,
    own_domains: Iterable[str] = (),
    own_networks: Iterable[str] = (),
    staff_names: Iterable[str] = (),
    source: str = "api",
) -> Submission:
    """The hub's staff sanitise a submission (again, if already sanitised)."""
    submission = session.get(Submission, submission_id)
    if not _is_hub_staff(principal):
        raise _refuse(session, clock, principal, submission, "sanitise",
                      "only the hub's staff sanitise", source)
    submission = get_submission(session, principal, submission_id)
    if submission.state not in (SubmissionState.SUBMITTED, SubmissionState.SANITISED):
        raise _refuse(session, clock, principal, submission, "sanitise",
                      f"the submission is {submission.state.value}", source)
    result = sanitise_bundle(submission.original, hub_identity=hub_identity(session),
                             own=OwnData.of(own_domains, own_networks, staff_names))
    try:
        stix.validate_bundle(result.bundle)
    except stix.SubmissionError as error:
        raise _refuse(session, clock, principal, submission, "sanitise",
                      f"the sanitised bundle would be invalid: {error.problems[0]}", source) from None
    submission.sanitised = result.bundle
    submission.diff = result.diff
    _step(session, clock, submission, principal, "sanitise", SubmissionState.SANITISED, source,
          {"changes": result.changes[:200]})
    return submission


def approve(session: Session, clock: Clock, principal: Principal, submission_id: int, *,
            source: str = "api") -> Submission:
    """The submitter's consent to publish the sanitised version."""
    submission = session.get(Submission, submission_id)
    own = (submission is not None and submission.organisation_id == principal.organisation_id
           and may_see_submission(principal, submission))
    if not own or Scope.SUBMIT not in principal.scopes or principal.role is Role.MEMBER_READER:
        raise _refuse(session, clock, principal, submission, "approve",
                      "only a submitter of the submitting organisation may approve", source)
    assert submission is not None
    if submission.state is not SubmissionState.SANITISED:
        raise _refuse(session, clock, principal, submission, "approve",
                      f"the submission is {submission.state.value}, not sanitised", source)
    _step(session, clock, submission, principal, "approve", SubmissionState.APPROVED, source)
    return submission


def reject(session: Session, clock: Clock, principal: Principal, submission_id: int,
           reason: str = "", *, source: str = "api") -> Submission:
    """The submitter withholds consent, or the hub's staff decline; final."""
    submission = session.get(Submission, submission_id)
    own = (submission is not None and submission.organisation_id == principal.organisation_id
           and may_see_submission(principal, submission))
    allowed = _is_hub_staff(principal) or (own and Scope.SUBMIT in principal.scopes)
    if not allowed:
        raise _refuse(session, clock, principal, submission, "reject",
                      "only the submitter or the hub's staff may reject", source)
    submission = get_submission(session, principal, submission_id)  # staff: it may not exist
    if submission.state in (SubmissionState.PUBLISHED, SubmissionState.REJECTED):
        raise _refuse(session, clock, principal, submission, "reject",
                      f"the submission is {submission.state.value}", source)
    _step(session, clock, submission, principal, "reject", SubmissionState.REJECTED, source,
          {"reason": reason[:500]})
    return submission


def _version_of(obj: dict[str, Any], fallback: datetime) -> datetime:
    for key in ("modified", "created"):
        value = obj.get(key)
        if isinstance(value, str):
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return fallback


def _marking_of(obj: dict[str, Any], default: Tlp) -> Tlp:
    levels = [tlp.from_marking_id(str(r)) for r in obj.get("object_marking_refs") or []]
    found = [level for level in levels if level is not None]
    return tlp.most_restrictive(found) if found else default


def publish(session: Session, clock: Clock, principal: Principal, submission_id: int, *,
            source: str = "api") -> list[SharedObject]:
    """The hub's staff publish an approved submission's sanitised objects.

    Every check comes before the first write, so a refusal leaves nothing half-published
    (the caller commits a refusal for its audit record); the rows then go in bulk, as a
    TAXII POST's do. A version already held is skipped."""
    submission = session.get(Submission, submission_id)
    if not _is_hub_staff(principal):
        raise _refuse(session, clock, principal, submission, "publish",
                      "only the hub's staff publish", source)
    submission = get_submission(session, principal, submission_id)
    if submission.state is not SubmissionState.APPROVED or submission.sanitised is None:
        raise _refuse(session, clock, principal, submission, "publish",
                      f"the submission is {submission.state.value}, not approved", source)
    now = clock.now()
    default = Tlp(submission.marking)
    hub = orgs.hub(session)
    assert hub is not None  # sanitising needed it
    identity_id = hub_identity(session)["id"]
    # the official TLP 2.0 definitions are served as they are
    objects = [o for o in submission.sanitised["objects"] if o.get("type") != "marking-definition"]
    held = held_versions(session, [o["id"] for o in objects])
    owners: dict[str, set[int]] = {}
    for h in held:
        owners.setdefault(h.stix_id, set()).add(h.owner_org_id)
    taken = {(h.stix_id, h.version) for h in held}
    fresh: list[dict[str, Any]] = []
    skipped: list[str] = []
    for obj in objects:
        is_hub_identity = obj["id"] == identity_id
        owner = hub.id if is_hub_identity else submission.organisation_id
        if owners.get(obj["id"], set()) - {owner}:
            raise _refuse(session, clock, principal, submission, "publish",
                          f"{obj['id']} already belongs to another organisation", source)
        version = _version_of(obj, now)
        if (obj["id"], version) in taken:
            skipped.append(obj["id"])
            continue
        taken.add((obj["id"], version))
        fresh.append({
            "stix_id": obj["id"], "stix_type": obj["type"],
            "spec_version": obj.get("spec_version", "2.1"), "version": version,
            "date_added": now, "body": obj, "owner_org_id": owner,
            "author_user_id": None if is_hub_identity else submission.user_id,
            "marking": _marking_of(obj, default).value, "submission_id": submission.id})
    rows = add_shared_objects(session, fresh)
    shared = [row for row in rows if row.stix_id != identity_id]  # the hub's identity: CLEAR
    recipients = submission.recipients
    named = named_organisations(session, recipients)
    insert_many(session, SharedRecipientOrg, [
        {"shared_object_id": row.id, "organisation_id": o}
        for row in shared for o in named.readers(submission.organisation_id)])
    readers = named_user_ids(session, recipients)
    insert_many(session, SharedRecipientUser, [
        {"shared_object_id": row.id, "user_id": u} for row in shared for u in readers])
    insert_many(session, SharedCommunity, [
        {"shared_object_id": row.id, "community_id": c}
        for row in shared for c in recipients.get("communities", [])])
    insert_many(session, PublishedSubmitter, [
        {"shared_object_id": row.id, "submission_id": submission.id,
         "organisation_id": submission.organisation_id, "user_id": submission.user_id}
        for row in shared])
    record_references(session, rows)
    _mark_superseded(session, rows, held)
    taxii.ensure_default_collection(session, clock)
    taxii.route_to_collections(session, rows, recipients.get("communities", []), now)
    _step(session, clock, submission, principal, "publish", SubmissionState.PUBLISHED, source,
          {"published": len(rows), "already_published": skipped[:100], **named.unmatched()})
    return rows


def _mark_superseded(session: Session, rows: list[SharedObject],
                     held: list[HeldVersion]) -> None:
    """Flag older versions of the new rows; only an object of which there is now more than
    one version can have one, so the others are not looked at."""
    fresh_ids = Counter(row.stix_id for row in rows)
    held_ids = {h.stix_id for h in held}
    mark_superseded(session, [row for row in rows
                              if row.stix_id in held_ids or fresh_ids[row.stix_id] > 1])


def publish_direct(session: Session, clock: Clock, principal: Principal,
                   bundle: dict[str, Any], collection: TaxiiCollection, *,
                   recipient_orgs: Iterable[int] = (),
                   source: str = "api") -> list[SharedObject]:
    """The hub's staff publish their own objects to a collection at once, as the hub.

    All or nothing: every object must be valid STIX 2.1 with a TLP 2.0 marking the
    collection carries, name no author but the hub (``created_by_ref``), and not be another
    organisation's object; otherwise a SubmissionError lists each problem and nothing is
    written. A version already held is kept as it is (a repeated POST changes nothing).
    ``recipient_orgs`` names who reads a TLP:AMBER object instead of the collection's
    communities (the policy's AMBER rule), e.g. the members an incident affects; an id
    that is no organisation is a problem here, unlike in ``submit``, as the caller is the
    hub's staff, who see every organisation (anyone else is refused before the look-up).
    """
    require_scope(principal, Scope.SUBMIT)
    named = sorted(set(recipient_orgs))
    if not _is_hub_staff(principal):
        raise _refuse(session, clock, principal, None, "publish",
                      "only the hub's staff publish", source)
    hub = orgs.hub(session)
    assert hub is not None  # the principal is the hub's
    identity_id = hub_identity(session)["id"]
    try:
        try:
            parsed = stix.validate_bundle(bundle)
            problems: list[stix.Problem] = []
        except stix.SubmissionError as invalid:
            parsed, problems = None, list(invalid.problems)
        objects = [o for o in bundle["objects"] if isinstance(o, dict)
                   and isinstance(o.get("id"), str) and o.get("type") != "marking-definition"]
        held = held_versions(session, [o["id"] for o in objects])
        problems += _direct_problems(objects, held, parsed.marking if parsed else Tlp.RED,
                                     identity_id, hub.id, collection)
        problems += [stix.Problem("recipient_orgs", f"no organisation {i}") for i in
                     sorted(set(named) - _existing_ids(session, Organisation, named))]
        if problems or parsed is None:
            raise stix.SubmissionError(problems)
    except stix.SubmissionError as error:
        audit.record(session, clock, action="sharing.publish.rejected", actor=principal.actor,
                     target=f"collection:{collection.id}", source=source,
                     organisation_id=principal.organisation_id,
                     details={"problems": [str(p)[:200] for p in error.problems[:20]],
                              "count": len(error.problems)})
        session.flush()
        raise
    now = clock.now()
    versions = {(h.stix_id, h.version): h.row_id for h in held}
    fresh = [o for o in objects if (o["id"], _version_of(o, now)) not in versions]
    rows = add_shared_objects(session, [
        {"stix_id": o["id"], "stix_type": o["type"], "spec_version": o.get("spec_version", "2.1"),
         "version": _version_of(o, now), "date_added": now, "body": o, "owner_org_id": hub.id,
         "author_user_id": None if o["id"] == identity_id else principal.user_id,
         "marking": _marking_of(o, parsed.marking).value} for o in fresh])
    record_references(session, rows)
    _mark_superseded(session, rows, held)
    audience = ([collection.community_id] if collection.community_id is not None
                else list(session.scalars(select(Community.id))))
    if audience:
        insert_many(session, SharedCommunity, [
            {"shared_object_id": row.id, "community_id": c} for row in rows for c in audience])
    if named:
        insert_many(session, SharedRecipientOrg, [
            {"shared_object_id": row.id, "organisation_id": o} for row in rows for o in named])
    held_rows = list(versions.values())
    in_collection = set(session.scalars(select(CollectionEntry.shared_object_id).where(
        CollectionEntry.collection_id == collection.id,
        CollectionEntry.shared_object_id.in_(held_rows)))) if held_rows else set()
    insert_many(session, CollectionEntry, [
        {"collection_id": collection.id, "shared_object_id": row_id, "date_added": now}
        for row_id in [r.id for r in rows] + held_rows if row_id not in in_collection])
    audit.record(session, clock, action="sharing.publish", actor=principal.actor,
                 target=f"collection:{collection.id}", source=source,
                 organisation_id=principal.organisation_id,
                 details={"published": len(rows), "already_published": len(versions)})
    session.flush()
    return rows


def publish_to_member(session: Session, clock: Clock, bundle: dict[str, Any],
                      member: Organisation, *, actor: str | None, source: str = "cli",
                      action: str = "sharing.publish.member") -> list[SharedObject]:
    """The hub tells one member something about the member itself (its own addresses seen
    attacking, say) under TLP:AMBER+STRICT, which only the owning organisation and the hub
    may read: so the objects are owned by the member and authored by the hub (their
    ``created_by_ref`` is the hub's identity). Validated first; a version already held is
    not written twice; an id that is another organisation's object is refused."""
    if member.is_hub:
        raise WorkflowError("a report to a member goes to a member organisation, not the hub")
    stix.validate_bundle(bundle)
    objects = [o for o in bundle["objects"] if o["type"] != "marking-definition"]
    ids = [o["id"] for o in objects]
    held = held_versions(session, ids)
    if {h.owner_org_id for h in held} - {member.id}:
        raise WorkflowError("an object of this report is another organisation's",
                            status=409)
    now = clock.now()
    taken = {(h.stix_id, h.version) for h in held}
    fresh: list[dict[str, Any]] = []
    for o in objects:
        version = datetime.fromisoformat(o["modified"].replace("Z", "+00:00"))
        if (o["id"], version) not in taken:
            taken.add((o["id"], version))
            fresh.append({"stix_id": o["id"], "stix_type": o["type"], "spec_version": "2.1",
                          "version": version, "date_added": now, "body": o,
                          "owner_org_id": member.id, "author_user_id": None,
                          "marking": Tlp.AMBER_STRICT.value})
    rows = add_shared_objects(session, fresh)
    record_references(session, rows)
    _mark_superseded(session, rows, held)
    taxii.ensure_default_collection(session, clock)
    taxii.route_to_collections(session, rows, [], now)
    audit.record(session, clock, action=action, actor=actor, source=source,
                 target=f"organisation:{member.id}", organisation_id=member.id,
                 details={"objects": len(rows), "first": ids[0] if ids else None})
    session.flush()
    return rows


def _direct_problems(objects: list[dict[str, Any]], held: list[HeldVersion], default: Tlp,
                     identity_id: str, hub_id: int,
                     collection: TaxiiCollection) -> list[stix.Problem]:
    problems = []
    for obj in objects:
        author = obj.get("created_by_ref")
        if author is not None and author != identity_id:
            problems.append(stix.Problem(obj["id"], f"created_by_ref must be the hub's identity "
                                                    f"({identity_id})"))
        marking = _marking_of(obj, default)
        if collection.markings and marking.value not in collection.markings:
            problems.append(stix.Problem(obj["id"], f"this collection does not carry "
                                                    f"{marking.label}"))
    taken = {h.stix_id for h in held if h.owner_org_id != hub_id}
    problems += [stix.Problem(t, "this id belongs to another organisation's object")
                 for t in dict.fromkeys(o["id"] for o in objects) if t in taken]
    return problems


def submitter_of(session: Session, clock: Clock, principal: Principal, shared_object_id: int,
                 *, source: str = "api") -> PublishedSubmitter | None:
    """Who really submitted a published object: for the hub's staff only (audited)."""
    if not _is_hub_staff(principal):
        audit.record(session, clock, action="sharing.submitter.refused", actor=principal.actor,
                     target=f"shared:{shared_object_id}", source=source,
                     organisation_id=principal.organisation_id)
        session.flush()
        raise WorkflowError("only the hub's staff may see who submitted an object", status=403)
    found = session.get(PublishedSubmitter, shared_object_id)
    audit.record(session, clock, action="sharing.submitter.read", actor=principal.actor,
                 target=f"shared:{shared_object_id}", source=source,
                 organisation_id=principal.organisation_id)
    session.flush()
    return found
