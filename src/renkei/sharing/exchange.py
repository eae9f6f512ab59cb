"""MISP communities in and out: shared objects as MISP events, MISP events as submissions.

Export reads only through the TLP policy (``store.visible_objects``), one event per
submission (objects the hub's staff published directly make one event of their own), and is
audited: who took what out of the hub matters as much as who put it in. Import turns an event
into a STIX bundle (``misp.from_misp_event``) and submits it like any report, so it is
sanitised and consented to before anyone else sees it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from renkei.core import audit, orgs
from renkei.core.members import Principal
from renkei.core.time import Clock
from renkei.core.tlp import Tlp
from renkei.sharing import misp, service, stix
from renkei.sharing.policy import Viewer
from renkei.sharing.store import SharedObject, Submission, visible_objects

MAX_EXPORT_OBJECTS = 20_000


def export_misp_events(session: Session, clock: Clock, principal: Principal, *,
                       since: datetime | None = None, limit: int = 5_000,
                       source: str = "api") -> list[dict[str, Any]]:
    """The newest shared objects the caller may read, as MISP events (newest first)."""
    rows = visible_objects(session, Viewer.of(principal), newest_first=True,
                           limit=min(limit, MAX_EXPORT_OBJECTS))
    if since is not None:
        rows = [r for r in rows if r.date_added > since]
    groups: dict[int | None, list[SharedObject]] = defaultdict(list)
    for row in rows:
        if row.body.get("type") == "identity":
            continue  # the hub's identity; MISP names the hub as Orgc instead
        groups[row.submission_id].append(row)
    hub = orgs.hub(session)
    hub_name = hub.name if hub is not None else "renkei hub"
    hub_uuid = service.hub_identity(session)["id"].split("--", 1)[1] if hub else None
    events = []
    for submission_id, members_ in groups.items():
        latest = _latest_versions(members_)
        title = _title(latest, submission_id)
        events.append(misp.to_misp_event([r.body for r in latest], info=title,
                                         hub_name=hub_name, hub_uuid=hub_uuid,
                                         date=max(r.date_added for r in latest)))
    audit.record(session, clock, action="sharing.misp.export", actor=principal.actor,
                 source=source, organisation_id=principal.organisation_id,
                 details={"events": len(events), "objects": sum(len(g) for g in groups.values())})
    session.flush()
    return events


def _latest_versions(rows: list[SharedObject]) -> list[SharedObject]:
    newest: dict[str, SharedObject] = {}
    for row in rows:
        if row.stix_id not in newest or row.version > newest[row.stix_id].version:
            newest[row.stix_id] = row
    return sorted(newest.values(), key=lambda r: (r.date_added, r.id))


def _title(rows: list[SharedObject], submission_id: int | None) -> str:
    for row in rows:
        if row.stix_type in ("report", "grouping") and isinstance(row.body.get("name"), str):
            return str(row.body["name"])[:200]
    return f"renkei shared report {submission_id}" if submission_id else "renkei hub publications"


@dataclass(frozen=True)
class MispSubmission:
    """A MISP event taken in as a submission, and what could not come along."""

    submission: Submission
    dropped: list[str]


def import_misp_event(session: Session, clock: Clock, principal: Principal,
                      payload: bytes | str | dict[str, Any], *, default_tlp: Tlp = Tlp.AMBER,
                      recipient_orgs: list[int] | None = None, source: str = "api",
                      ) -> MispSubmission:
    """Submit a MISP event as a report (sanitised and consented to like any other)."""
    try:
        taken = misp.from_misp_event(payload, now=clock.now(), default_tlp=default_tlp)
    except stix.SubmissionError as error:
        audit.record(session, clock, action="sharing.submit.rejected", actor=principal.actor,
                     source=source, organisation_id=principal.organisation_id,
                     details={"format": "misp", "count": len(error.problems),
                              "problems": [str(p)[:200] for p in error.problems[:20]]})
        session.flush()
        raise
    submission = service.submit(session, clock, principal, taken.bundle,
                                recipient_orgs=recipient_orgs or (), source=source)
    if taken.dropped:
        audit.record(session, clock, action="sharing.misp.import.dropped",
                     actor=principal.actor, target=f"submission:{submission.id}",
                     source=source, organisation_id=principal.organisation_id,
                     details={"dropped": taken.dropped[:100], "count": len(taken.dropped)})
        session.flush()
    return MispSubmission(submission, taken.dropped)
