"""The sharing pages (/sharing/…): members' reports from the submit form to publication,
the shared objects a user may read, the TAXII collections, and sightings.

Every page acts as the signed-in user's Principal and calls what ``sharing.api`` calls
(``service``, ``sightings``, ``taxii``, ``store.visible_objects`` and ``reads``, which ask
the TLP policy), with the same scope checks: a submission, object or collection the user
may not see is "not found", exactly as through the API.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup
from starlette.datastructures import FormData, UploadFile

from renkei.console.forms import TEXT_MAX, TOO_MANY, field, lines_of, record_id, row_id, when_of
from renkei.console.panels import Panel
from renkei.console.web import Form, Page, answered, page
from renkei.core import orgs, tlp
from renkei.core.errors import UserError
from renkei.core.i18n import Translate, gettext_noop
from renkei.core.models import Role, Scope
from renkei.core.tlp import Tlp
from renkei.logs import charts
from renkei.sharing import reads, service, sightings, stix, taxii
from renkei.sharing import sanitise as sanitising
from renkei.sharing.policy import Viewer
from renkei.sharing.store import Submission, SubmissionState, visible_objects

router = APIRouter(prefix="/sharing", include_in_schema=False)

PAGE_ROWS = 50
PANEL_ROWS = 8
SHOWN_OBJECTS = 200
SHOWN_DIFF_LINES = 2_000

AN_ORGANISATION = gettext_noop("organisation {id}")
MATCHES_NONE = gettext_noop("{named} (matches no organisation: reads nothing)")
BAD_LINE = gettext_noop("line {line}: write an indicator's type, a space and its value")
BAD_NETWORK = gettext_noop("{value} is not a network (such as 192.0.2.0/24)")
BAD_COUNT = gettext_noop("a sighting's count is a whole number from 1")
TLP_COLOURS = {Tlp.CLEAR: "#c9ced6", Tlp.GREEN: "#33a02c", Tlp.AMBER: "#ffb000",
               Tlp.AMBER_STRICT: "#e07b00", Tlp.RED: "#d62728"}


# --- what every page here shares ------------------------------------------------------------


def is_staff(p: Page) -> bool:
    return Viewer.of(p.principal).is_hub_staff


def may_consent(p: Page, row: Submission) -> bool:
    """The submitter's side: a user with the submit scope of the submitting organisation."""
    return (row.organisation_id == p.principal.organisation_id
            and Scope.SUBMIT in p.principal.scopes and p.principal.role is not Role.MEMBER_READER)


def _marking_label(obj: dict[str, Any]) -> str:
    levels = [tlp.from_marking_id(str(r)) for r in obj.get("object_marking_refs") or []]
    found = [level for level in levels if level is not None]
    return tlp.most_restrictive(found).label if found else ""


def objects_of(bundle: dict[str, Any] | None) -> list[dict[str, str]]:
    """A bundle's objects as a table shows them: type, id, name (or pattern), marking."""
    objects = (bundle or {}).get("objects") or []
    return [{"type": str(o.get("type", ""))[:100], "id": str(o.get("id", ""))[:120],
             "name": str(o.get("name") or o.get("pattern") or "")[:300],
             "marking": _marking_label(o)}
            for o in objects[:SHOWN_OBJECTS] if isinstance(o, dict)]


def diff_lines(diff: str) -> tuple[list[tuple[str, str]], int]:
    """The unified diff's lines with their kind (add, del, head, same) and how many more
    lines there are than shown."""
    lines = diff.splitlines()
    shown = []
    for line in lines[:SHOWN_DIFF_LINES]:
        if line.startswith(("+++", "---", "@@")):
            kind = "head"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        else:
            kind = "same"
        shown.append((kind, line + "\n"))
    return shown, max(0, len(lines) - SHOWN_DIFF_LINES)


def organisation_names(p: Page) -> dict[int, str]:
    return {o.id: o.name for o in orgs.list_all(p.session)}


# --- submissions ------------------------------------------------------------------------------


def _state(text: str | None) -> SubmissionState | None:
    try:
        return SubmissionState((text or "")[:20])
    except ValueError:
        return None


@router.get("/")
def submissions(request: Request) -> Response:
    """The reports the user may see: its organisation's, or every one for the hub's staff."""
    with page(request) as p:
        state = _state(request.query_params.get("state"))
        rows = reads.submissions(p.session, p.principal, state=state,
                                 before=row_id(request.query_params.get("before")),
                                 limit=PAGE_ROWS)
        return p.render("sharing/submissions.html", title=p.t("Reports"), rows=rows,
                        state=state, states=list(SubmissionState), staff=is_staff(p),
                        names=organisation_names(p) if is_staff(p) else {},
                        more=len(rows) == PAGE_ROWS)


def _submit_form(p: Page, *, error: str = "", values: dict[str, str] | None = None,
                 status: int = 200) -> Response:
    return p.render("sharing/submit.html", status=status, title=p.t("Submit a report"),
                    levels=list(Tlp), types=stix.INDICATOR_TYPES, error=error,
                    values=values or {"tlp": Tlp.AMBER.value})


@router.get("/submit")
def submit_form(request: Request) -> Response:
    with page(request) as p:
        p.require_scope(Scope.SUBMIT)
        return _submit_form(p)


def indicators_of(text: str) -> list[dict[str, str]]:
    """``type value`` per line (``ipv4 203.0.113.7``) as the simple report's indicators."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        kind, _, value = line.strip().partition(" ")
        if not value.strip():
            raise UserError(BAD_LINE, line=number)
        found.append({"type": kind.strip().lower(), "value": value.strip()})
        if len(found) > stix.MAX_INDICATORS:
            raise UserError(TOO_MANY, most=stix.MAX_INDICATORS)
    return found


def _payload(form: FormData) -> bytes | dict[str, Any]:
    upload = form.get("bundle")
    if isinstance(upload, UploadFile) and upload.filename:
        return upload.file.read(stix.MAX_BYTES + 1)
    return {"title": field(form, "title", stix.TITLE_MAX + 1),
            "description": field(form, "description", stix.DESCRIPTION_MAX + 1),
            "tlp": field(form, "tlp", 20),
            "indicators": indicators_of(field(form, "indicators", TEXT_MAX))}


@router.post("/submit")
def submit(request: Request, form: Form) -> Response:
    """A simple report (title, description, TLP, indicators) or an uploaded STIX bundle.

    The organisations and people named are passed on as written, never looked up here:
    whether a name is an organisation's, or an address a user's, is not for a member to
    learn (the service resolves them at publication)."""
    with page(request, form) as p:
        p.require_scope(Scope.SUBMIT)
        values = {k: field(form, k, TEXT_MAX) for k in (
            "title", "description", "tlp", "indicators", "recipient_orgs", "recipient_users")}
        try:
            row = service.submit(p.session, p.clock, p.principal, _payload(form),
                                 recipient_org_names=[n[:orgs.NAME_MAX + 1] for n in lines_of(
                                     form, "recipient_orgs", service.MAX_NAMED)],
                                 recipient_emails=[e[:254] for e in lines_of(
                                     form, "recipient_users", service.MAX_NAMED)],
                                 source=p.source)
        except UserError as error:
            return _submit_form(p, error=p.message(error), values=values, status=400)
        return p.redirect(f"/sharing/submissions/{row.id}")


def _change_text(t: Translate, change: str) -> str:
    where, sep, what = change.partition(": ")
    if not sep:
        return change
    if what in sanitising.CHANGES:
        return f"{where}: {t(what)}"
    replaced = what.removesuffix(" replaced")  # sanitising.REPLACED in English
    if replaced != what and replaced in sanitising.PERSONAL_DATA:
        return f"{where}: " + t(sanitising.REPLACED).format(what=t(replaced))
    return change


def _changes(t: Translate, events: list[Any]) -> list[str]:
    """What the latest sanitising changed, as its event keeps it, in the reader's language."""
    for event in reversed(events):
        if event.action == "sanitise":
            return [_change_text(t, str(c)[:300])
                    for c in (event.details or {}).get("changes", [])][:200]
    return []


@router.get("/submissions/{submission_id}")
def submission(request: Request, submission_id: int) -> Response:
    """One report: its objects, history, the sanitisation diff, and what the user may do
    now (sanitise and publish for the hub's staff, consent for the submitter)."""
    with page(request) as p, answered(p):
        row = service.get_submission(p.session, p.principal, record_id(submission_id))
        events = service.submission_events(p.session, p.principal, row.id)
        names = organisation_names(p)
        diff, more = diff_lines(row.diff)
        recipients = row.recipients or {}
        staff = is_staff(p)
        return p.render(
            "sharing/submission.html", title=p.t("Report {id}").format(id=row.id), row=row,
            events=events, staff=staff, consent=may_consent(p, row),
            original=objects_of(row.original), sanitised=objects_of(row.sanitised),
            diff=diff, more_diff=more, changes=_changes(p.t, events),
            organisation=names.get(row.organisation_id, ""),
            recipient_orgs=_named_orgs(p, recipients, names if staff else None),
            # a member sees how many it named; the hub's staff, who they are and whether
            # each is a user (an address no user has reads nothing once published)
            recipient_users=0 if staff else len(recipients.get("users", []))
            + len(recipients.get("emails", [])),
            named=service.named_people(p.session, row) if staff else [])


def _named_orgs(p: Page, recipients: dict[str, Any], names: dict[int, str] | None,
                ) -> list[str]:
    """The organisations a report names. A member sees them as it named them (an id as
    ``organisation N``, never the name it has, if any); the hub's staff see each one's
    name and which matched none, to catch a mistake before publishing."""
    ids = sorted(set(recipients.get("organisations", [])))
    named = sorted(set(recipients.get("organisation_names", [])))
    if names is None:
        return named + [p.t(AN_ORGANISATION).format(id=i) for i in ids]
    found = service.named_organisations(p.session, recipients)
    unmatched = set(found.unmatched_names)
    return ([p.t(MATCHES_NONE).format(named=n) if n in unmatched else n for n in named]
            + [names[i] if i in names else
               p.t(MATCHES_NONE).format(named=p.t(AN_ORGANISATION).format(id=i)) for i in ids])


def _networks(values: list[str]) -> list[str]:
    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise UserError(BAD_NETWORK, value=value[:60]) from None
    return values


@router.post("/submissions/{submission_id}/sanitise")
def sanitise(request: Request, submission_id: int, form: Form) -> Response:
    with page(request, form) as p, answered(p):
        p.require_scope(Scope.SUBMIT)
        row = service.sanitise(
            p.session, p.clock, p.principal, record_id(submission_id),
            own_domains=[d[:253] for d in lines_of(form, "own_domains", 200)],
            own_networks=_networks([n[:50] for n in lines_of(form, "own_networks", 200)]),
            staff_names=[n[:200] for n in lines_of(form, "staff_names", 500)], source=p.source)
        return p.redirect(f"/sharing/submissions/{row.id}#diff")


@router.post("/submissions/{submission_id}/approve")
def approve(request: Request, submission_id: int, form: Form) -> Response:
    """The submitter's consent to publish the sanitised version."""
    with page(request, form) as p, answered(p):
        p.require_scope(Scope.SUBMIT)
        row = service.approve(p.session, p.clock, p.principal, record_id(submission_id),
                              source=p.source)
        return p.redirect(f"/sharing/submissions/{row.id}")


@router.post("/submissions/{submission_id}/reject")
def reject(request: Request, submission_id: int, form: Form) -> Response:
    with page(request, form) as p, answered(p):
        p.require_scope(Scope.SUBMIT)
        row = service.reject(p.session, p.clock, p.principal, record_id(submission_id),
                             field(form, "reason", 500), source=p.source)
        return p.redirect(f"/sharing/submissions/{row.id}")


@router.post("/submissions/{submission_id}/publish")
def publish(request: Request, submission_id: int, form: Form) -> Response:
    with page(request, form) as p, answered(p):
        p.require_scope(Scope.SUBMIT)
        service.publish(p.session, p.clock, p.principal, record_id(submission_id),
                        source=p.source)
        return p.redirect(f"/sharing/submissions/{record_id(submission_id)}")


# --- shared objects and sightings ----------------------------------------------------------------


def _tally_chart(p: Page, tallies: list[reads.Tally]) -> str | None:
    """Readable objects by type (the ten commonest), in TLP colours."""
    if not tallies:
        return None
    types = list(dict.fromkeys(t.stix_type for t in tallies))[:10]
    counts = {(t.stix_type, t.marking): t.count for t in tallies}
    layers = [charts.Series(level.label, TLP_COLOURS[level],
                            [counts.get((kind, level.value), 0) for kind in types])
              for level in Tlp if any(t.marking == level.value for t in tallies)]
    return charts.stacked_bars_svg(types, layers, xlabel=p.t("Objects"))


@router.get("/objects")
def objects(request: Request) -> Response:
    """The shared objects the policy lets this user read, by type and TLP, newest first."""
    with page(request) as p:
        query = request.query_params
        kind = query.get("type", "").strip()[:100] or None
        marking = query.get("tlp", "").strip()[:20]
        marking_value = marking if marking in {level.value for level in Tlp} else None
        contains = query.get("q", "").strip()[:200] or None
        viewer = Viewer.of(p.principal)
        rows = reads.browse(p.session, viewer, stix_type=kind, marking=marking_value,
                            contains=contains, before=row_id(query.get("before")),
                            limit=PAGE_ROWS)
        tallies = reads.tallies(p.session, viewer)
        return p.render("sharing/objects.html", title=p.t("Shared objects"), rows=rows,
                        kind=kind or "", marking=marking_value or "", q=contains or "",
                        levels=list(Tlp), types=sorted({t.stix_type for t in tallies}),
                        tallies=tallies, svg=_tally_chart(p, tallies),
                        more=len(rows) == PAGE_ROWS, label=lambda v: Tlp(v).label,
                        name_of=lambda body: str(body.get("name") or body.get("pattern") or
                                                 "")[:200])


def _object_page(p: Page, stix_id: str, *, error: str = "", status: int = 200) -> Response:
    versions = visible_objects(p.session, Viewer.of(p.principal), stix_id=stix_id[:100])
    if not versions:
        raise service.WorkflowError("no shared object {id}", status=404, id=stix_id[:100])
    seen = sightings.summary(p.session, p.principal, stix_id[:100])
    newest = versions[-1]
    return p.render("sharing/object.html", status=status, title=newest.stix_id,
                    newest=newest, versions=list(reversed(versions)), seen=seen,
                    body=json.dumps(newest.body, indent=2, ensure_ascii=False, sort_keys=True),
                    label=Tlp(newest.marking).label,
                    may_report=Scope.SUBMIT in p.principal.scopes, error=error)


@router.get("/objects/{stix_id}")
def shared_object(request: Request, stix_id: str) -> Response:
    """Every version of one object the user may read, and its sightings (counts only)."""
    with page(request) as p, answered(p):
        return _object_page(p, stix_id)


@router.post("/objects/{stix_id}/sightings")
def report_sighting(request: Request, stix_id: str, form: Form) -> Response:
    """The user's organisation saw the object; others learn only the totals."""
    with page(request, form) as p, answered(p):
        p.require_scope(Scope.SUBMIT)
        count = field(form, "count", 12).strip() or "1"
        try:
            if not count.isascii() or not count.isdigit() or int(count) < 1:
                raise UserError(BAD_COUNT)
            sightings.report(p.session, p.clock, p.principal, stix_id[:100], count=int(count),
                             first_seen=when_of(field(form, "first_seen", 40)),
                             last_seen=when_of(field(form, "last_seen", 40)), source=p.source)
        except UserError as error:
            if getattr(error, "status", 400) == 404:
                raise
            return _object_page(p, stix_id, error=p.message(error), status=400)
        return p.redirect(f"/sharing/objects/{stix_id[:100]}")


# --- collections --------------------------------------------------------------------------------


@router.get("/collections")
def collections(request: Request) -> Response:
    """The TAXII collections the user may read, and whether it may add to each."""
    with page(request) as p:
        return p.render("sharing/collections.html", title=p.t("Collections"),
                        views=taxii.collections_for(p.session, p.principal),
                        label=lambda v: Tlp(v).label if v in {level.value for level in Tlp}
                        else v)


@router.get("/collections/{key}")
def collection(request: Request, key: str) -> Response:
    """A page of a collection's objects (their newest versions the user may read)."""
    with page(request) as p, answered(p):
        view = taxii.collection_for(p.session, p.principal, key[:100])
        cursor = request.query_params.get("next", "")[:200]
        filters = taxii.Filters(limit=PAGE_ROWS,
                                cursor=taxii.Cursor.decode(cursor) if cursor else None)
        found = taxii.objects_page(p.session, Viewer.of(p.principal), view.collection.id, filters)
        items = [json.loads(text) if isinstance(text, str) else text for text in found.items]
        rows = [{"id": str(o.get("id", "")), "type": str(o.get("type", "")),
                 "name": str(o.get("name") or o.get("pattern") or "")[:200],
                 "marking": _marking_label(o)} for o in items]
        return p.render("sharing/collection.html", title=view.collection.title, view=view,
                        rows=rows, next=found.next)


# --- the overview's panel ----------------------------------------------------------------------


def awaiting_review(p: Page) -> Markup | None:
    """For the hub's staff, reports to sanitise and to publish; for a submitter, sanitised
    versions awaiting its consent; nothing for a reader, who can do neither."""
    if is_staff(p):
        groups = [(p.t("To sanitise"), service.list_submissions(
                      p.session, p.principal, state=SubmissionState.SUBMITTED, limit=PANEL_ROWS)),
                  (p.t("To publish"), service.list_submissions(
                      p.session, p.principal, state=SubmissionState.APPROVED, limit=PANEL_ROWS))]
    elif Scope.SUBMIT in p.principal.scopes and p.principal.role is not Role.MEMBER_READER:
        groups = [(p.t("Awaiting your consent"), service.list_submissions(
            p.session, p.principal, state=SubmissionState.SANITISED, limit=PANEL_ROWS))]
    else:
        return None
    return p.fragment("sharing/panel.html", groups=groups,
                      names=organisation_names(p) if is_staff(p) else {})


PANELS = [Panel("sharing-review", gettext_noop("Reports awaiting review"), awaiting_review,
                order=40)]
