"""`renkei incidents …`: open, triage, assign and close incidents; tasks, notes, evidence and
indicators; SLA, metrics; notifications by e-mail and signed webhooks; sharing indicators.

The command line is the hub's local operator: it sees and changes every incident (as the
hub's staff do through the API). Sharing acts through the sharing module as a user or
token of the hub (``--token`` or ``RENKEI_TOKEN``). Untrusted text (titles, notes, values
from logs) is printed with its control characters made visible and no console markup.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from renkei.core.cli_output import fail as _fail
from renkei.core.cli_output import literal, record_id
from renkei.core.cli_output import unit_of_work as _session
from renkei.core.config import load_config
from renkei.core.i18n import Translate
from renkei.core.text import visible
from renkei.core.time import SystemClock
from renkei.incidents import metrics, service, view
from renkei.incidents.model import Sla
from renkei.incidents.service import Caller

app = typer.Typer(help="Incidents: triage, assignment, timeline, SLA, notifications.",
                  no_args_is_help=True)
task_app = typer.Typer(help="An incident's tasks.", no_args_is_help=True)
indicator_app = typer.Typer(help="An incident's indicators.", no_args_is_help=True)
contacts_app = typer.Typer(help="Members' addresses for incident notifications.",
                           no_args_is_help=True)
webhooks_app = typer.Typer(help="Members' webhooks for signed incident notifications.",
                           no_args_is_help=True)
app.add_typer(task_app, name="task")
app.add_typer(indicator_app, name="indicator")
app.add_typer(contacts_app, name="contacts")
app.add_typer(webhooks_app, name="webhooks")

IncidentId = Annotated[int, record_id("The incident's number.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print it as JSON.")]
Note = Annotated[str, typer.Option("--note", help="Why (needed to close what was never resolved, and to reopen).")]


def _sla() -> Sla:
    return Sla.from_settings(load_config().incident_sla)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "-"


def _dumps(value: Any) -> str:
    return json.dumps(view.as_json(value), ensure_ascii=False)


def _parse_time(value: str | None, what: str, _: Translate) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        _fail(_("{what}: not an ISO 8601 time: {value}").format(what=what, value=value[:40]), _)
    if parsed.tzinfo is None:
        _fail(_("{what}: give a time zone, e.g. 2026-04-01T09:00+09:00").format(what=what), _)
    return parsed


@app.command("create")
def create(
    title: Annotated[str | None, typer.Option(help="One line, up to 300 characters; from the record when --from is given.")] = None,
    severity: Annotated[str | None, typer.Option(help="critical, high, medium or low.")] = None,
    category: Annotated[str | None, typer.Option(help="An ENISA RSIT class: intrusions, intrusion-attempts, malicious-code, information-gathering, availability, fraud, vulnerable, … ")] = None,
    org: Annotated[list[str] | None, typer.Option("--org", help="An affected member organisation; repeat for several.")] = None,
    description: Annotated[str, typer.Option(help="What is known so far.")] = "",
    tlp: Annotated[str | None, typer.Option(help="clear, green, amber (default), amber+strict or red.")] = None,
    source: Annotated[str | None, typer.Option("--from", help="Open it from a record: logs-alert:ID, vulns-alert:ID, shared:STIX_ID or sensors-finding:ID.")] = None,
    occurred: Annotated[str | None, typer.Option(help="When it happened (ISO 8601 with a zone), if known.")] = None,
    detected: Annotated[str | None, typer.Option(help="When it was detected (default: the record's time, or now).")] = None,
    as_json: AsJson = False,
) -> None:
    """Open an incident by hand (a phone call, a mail) or from a record; prints its number."""
    with _session() as (session, _):
        incident = service.create(
            session, SystemClock(), Caller.local(), title=title, severity=severity,
            category=category, organisations=org or [], description=description, tlp=tlp,
            source=source, occurred_at=_parse_time(occurred, "--occurred", _),
            detected_at=_parse_time(detected, "--detected", _))
        if as_json:
            typer.echo(_dumps(view.detail(session, Caller.local(), incident, _sla(),
                                          SystemClock().now())))
            return
        typer.echo(_("incident {id} opened: {title}").format(id=incident.id,
                                                            title=visible(incident.title)))


@app.command("list")
def list_incidents(
    overdue: Annotated[bool, typer.Option("--overdue", help="Only open incidents past an SLA deadline.")] = False,
    status: Annotated[str | None, typer.Option(help="Only incidents in this status.")] = None,
    open_only: Annotated[bool, typer.Option("--open", help="Only incidents not resolved or closed.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=5000, help="At most this many.")] = 500,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Incidents, newest first (overdue: most severe first)."""
    caller, sla, now = Caller.local(), _sla(), SystemClock().now()
    with _session() as (session, _):
        if overdue:
            rows = [i for i, _late in metrics.overdue(session, caller, sla, now, limit=limit)]
        else:
            rows = service.list_incidents(session, caller, status=status, open_only=open_only,
                                          limit=limit)
        shown = [view.summary(session, caller, i, sla, now) for i in rows]
    if as_json:
        for item in shown:
            typer.echo(_dumps(item))
        return
    table = Table(title=_("{count} incidents").format(count=len(shown)))
    for name in ("id", "severity", "status", "title", "organisations", "assignee", "opened",
                 "overdue"):
        table.add_column(_(name))
    for item in shown:
        table.add_row(str(item["id"]), _(item["severity"]), _(item["status"]),
                      literal(item["title"][:80]), literal(", ".join(item["organisations"])[:60]),
                      literal(item["assignee"] or "-"), _when(item["created_at"]),
                      ", ".join(_(w) for w in item["sla"]["overdue"]))
    Console().print(table)


@app.command("show")
def show(incident_id: IncidentId, as_json: AsJson = False) -> None:
    """An incident: its fields, SLA deadlines, timings, tasks, indicators, links and history."""
    caller, sla, now = Caller.local(), _sla(), SystemClock().now()
    with _session() as (session, _):
        item = view.detail(session, caller, service.get(session, caller, incident_id), sla, now)
    if as_json:
        typer.echo(_dumps(item))
        return
    out = Console(highlight=False)
    out.print(literal(f"#{item['id']} {item['title']}"))
    for label, value in ((_("severity"), _(item["severity"])), (_("category"), _(item["category"])),
                         (_("status"), _(item["status"])), ("TLP", item["tlp"].upper()),
                         (_("source"), item["source"]),
                         (_("organisations"), ", ".join(item["organisations"])),
                         (_("assignee"), item["assignee"] or "-"),
                         (_("acknowledge by"), _when(item["sla"]["acknowledge_by"])),
                         (_("resolve by"), _when(item["sla"]["resolve_by"])),
                         (_("overdue"), ", ".join(_(w) for w in item["sla"]["overdue"]) or "-")):
        out.print(literal(f"  {label}: {value}"))
    if item["description"]:
        out.print(literal(item["description"]))
    for task in item["tasks"]:
        mark = "x" if task["done_at"] else " "
        out.print(literal(f"  [{mark}] {_('task')} {task['id']}: {task['title']}"))
    for indicator in item["indicators"]:
        out.print(literal(f"  {_('indicator')}: {indicator['type']} {indicator['value']}"))
    for link in item["links"]:
        out.print(literal(f"  {_('evidence')}: {link['kind']}:{link['ref']}"))
    for event in item["events"]:
        note = f" — {event['note']}" if event["note"] else ""
        out.print(literal(f"  {_when(event['at'])} {_(event['kind'])} [{event['status']}] "
                        f"{event['actor']}{note}"))


def _echo_status(incident_id: int, status: str, _: Translate) -> None:
    typer.echo(_("incident {id} is {status}").format(id=incident_id, status=_(status)))


@app.command("ack")
def ack(incident_id: IncidentId) -> None:
    """Acknowledge a new incident: someone at the hub has it in hand."""
    with _session() as (session, _):
        incident = service.acknowledge(session, SystemClock(), Caller.local(), incident_id)
        _echo_status(incident.id, incident.status, _)


@app.command("status")
def status(incident_id: IncidentId,
           new_status: Annotated[str, typer.Argument(metavar="STATUS", help="acknowledged, investigating, contained, resolved or closed.")],
           note: Note = "") -> None:
    """Move an incident to another status, as its allowed moves permit."""
    with _session() as (session, _):
        incident = service.transition(session, SystemClock(), Caller.local(), incident_id,
                                      new_status, note=note)
        _echo_status(incident.id, incident.status, _)


@app.command("assign")
def assign(incident_id: IncidentId,
           user: Annotated[str, typer.Argument(metavar="USER", help="A hub user's e-mail address; - for no one.")]) -> None:
    """Assign an incident to one of the hub's users."""
    with _session() as (session, _):
        incident = service.assign(session, SystemClock(), Caller.local(), incident_id,
                                  None if user == "-" else user)
        typer.echo(_("incident {id} is assigned to {user}").format(
            id=incident.id, user=service.assignee_email(session, incident) or "-"))


@app.command("severity")
def severity(incident_id: IncidentId,
             new_severity: Annotated[str, typer.Argument(metavar="SEVERITY", help="critical, high, medium or low.")],
             note: Note = "") -> None:
    """Change an incident's severity (its SLA deadlines follow)."""
    with _session() as (session, _):
        incident = service.set_severity(session, SystemClock(), Caller.local(), incident_id,
                                        new_severity, note=note)
        typer.echo(_("incident {id} is {severity}").format(id=incident.id,
                                                          severity=_(incident.severity)))


@app.command("note")
def note(incident_id: IncidentId,
         text: Annotated[str, typer.Argument(help="The note, up to 10000 characters.")]) -> None:
    """Add a note to an incident's history."""
    with _session() as (session, _):
        service.add_note(session, SystemClock(), Caller.local(), incident_id, text)
        typer.echo(_("note added to incident {id}").format(id=incident_id))


@app.command("evidence")
def evidence(incident_id: IncidentId,
             kind: Annotated[str, typer.Argument(help="logs-alert, vulns-alert, shared, sensors-finding or reference.")],
             ref: Annotated[str, typer.Argument(help="The record's id, or a free reference (a ticket, a file's name and hash).")]) -> None:
    """Link a record or a reference to an incident as evidence."""
    with _session() as (session, _):
        link = service.link_evidence(session, SystemClock(), Caller.local(), incident_id, kind,
                                     ref)
        typer.echo(_("incident {id} links {kind}:{ref}").format(id=incident_id, kind=link.kind,
                                                               ref=visible(link.ref)))


@task_app.command("add")
def task_add(incident_id: IncidentId,
             title: Annotated[str, typer.Argument(help="What to do, one line.")]) -> None:
    """Add a task to an incident; prints its number."""
    with _session() as (session, _):
        task = service.add_task(session, SystemClock(), Caller.local(), incident_id, title)
        typer.echo(_("task {task} added to incident {id}").format(task=task.id, id=incident_id))


@task_app.command("done")
def task_done(incident_id: IncidentId,
              task_id: Annotated[int, record_id("The task's number.", "TASK")]) -> None:
    """Mark a task of an incident done."""
    with _session() as (session, _):
        service.complete_task(session, SystemClock(), Caller.local(), incident_id, task_id)
        typer.echo(_("task {task} of incident {id} is done").format(task=task_id, id=incident_id))


@indicator_app.command("add")
def indicator_add(incident_id: IncidentId,
                  kind: Annotated[str, typer.Argument(metavar="TYPE", help="ipv4, ipv6, domain, url, sha256, md5 or email-sender.")],
                  value: Annotated[str, typer.Argument(help="The value: an address or network, a name, a URL, a hash.")]) -> None:
    """Add an indicator to an incident."""
    with _session() as (session, _):
        row = service.add_indicator(session, SystemClock(), Caller.local(), incident_id, kind,
                                    value)
        typer.echo(_("indicator {type} {value} added to incident {id}").format(
            type=row.type, value=visible(row.value), id=incident_id))


@app.command("metrics")
def metrics_command(
    since: Annotated[str | None, typer.Option(help="Only incidents opened since (ISO 8601 with a zone).")] = None,
    as_json: AsJson = False,
) -> None:
    """Counts by status and severity, overdue incidents, and time to detect, acknowledge and
    resolve (mean and median)."""
    with _session() as (session, _):
        found = metrics.metrics(session, Caller.local(), _sla(), SystemClock().now(),
                                since=_parse_time(since, "--since", _))
    if as_json:
        typer.echo(json.dumps(found, ensure_ascii=False))
        return
    out = Console(highlight=False)
    out.print(_("{count} incidents, {open} open; overdue: {ack} to acknowledge, {resolve} to "
                "resolve").format(count=found["incidents"], open=found["open"],
                                  ack=found["overdue"]["acknowledge"],
                                  resolve=found["overdue"]["resolve"]))
    table = Table()
    for name in ("timing", "count", "mean", "median", "within SLA"):
        table.add_column(_(name))
    for key, label in (("time_to_detect", "time to detect"),
                       ("time_to_acknowledge", "time to acknowledge"),
                       ("time_to_resolve", "time to resolve")):
        item = found[key]
        table.add_row(_(label), str(item["count"]), _duration(item["mean"]),
                      _duration(item["median"]), str(item.get("within_sla", "-")))
    out.print(table)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes = int(seconds) // 60
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"


@app.command("notify")
def notify(incident_id: IncidentId) -> None:
    """Tell the affected members now: their contacts by e-mail, their webhooks signed."""
    from renkei.incidents import notify as notifying

    smtp = load_config().smtp
    with _session() as (session, _):
        result = notifying.notify(session, SystemClock(), Caller.local(), incident_id, smtp)
    if not result.email_configured:
        typer.echo(_("no SMTP server is configured (RENKEI_SMTP_HOST): no e-mail was sent"),
                   err=True)
    typer.echo(_("{sent} sent, {failed} failed (retried by `renkei incidents notify-retry`)")
               .format(sent=result.sent, failed=result.failed))
    if result.failed:
        raise typer.Exit(1)


@app.command("notify-retry")
def notify_retry() -> None:
    """Try again the notifications that failed and whose wait is over (run it from cron)."""
    from renkei.incidents import notify as notifying

    smtp = load_config().smtp
    with _session() as (session, _):
        result = notifying.retry(session, SystemClock(), Caller.local(), smtp)
    typer.echo(_("{sent} sent, {failed} failed (retried by `renkei incidents notify-retry`)")
               .format(sent=result.sent, failed=result.failed))


@app.command("share")
def share(
    incident_id: IncidentId,
    token: Annotated[str, typer.Option(envvar="RENKEI_TOKEN", show_default=False, help="API token of the hub's staff to act with (or RENKEI_TOKEN).")],
    collection: Annotated[str | None, typer.Option(help="The TAXII collection (alias); default: the hub's general one.")] = None,
    to: Annotated[list[str] | None, typer.Option("--to", metavar="ORG", help="A TLP:AMBER incident: a member that reads the indicators instead of the collection's communities (repeatable).")] = None,
    to_affected: Annotated[bool, typer.Option("--to-affected", help="A TLP:AMBER incident: the members it affects read the indicators.")] = False,
) -> None:
    """Share the incident's indicators as STIX 2.1 under its TLP, through the sharing module."""
    from renkei.core import members
    from renkei.core.members import AuthenticationError
    from renkei.incidents.share import share_indicators

    with _session() as (session, _):
        clock = SystemClock()
        try:
            principal = members.authenticate_token(session, clock, token.strip(), source="cli")
        except AuthenticationError:
            _fail(_("invalid credentials"), _)
        rows = share_indicators(session, clock, Caller.of(principal, "cli"), incident_id,
                                collection=collection, recipients=to or [],
                                to_affected=to_affected)
        typer.echo(_("{count} indicators published").format(count=len(rows)))


@contacts_app.command("add")
def contacts_add(
    org: Annotated[str, typer.Argument(metavar="ORG", help="The member organisation's name.")],
    email: Annotated[str, typer.Argument(help="The address notifications go to.")],
    lang: Annotated[str, typer.Option(help="The language of its messages: en or ja.")] = "en",
) -> None:
    """Add an address a member is told of its incidents at."""
    from renkei.incidents import notify as notifying

    with _session() as (session, _):
        row = notifying.add_contact(session, SystemClock(), Caller.local(), org, email,
                                    lang=lang)
        typer.echo(_("contact {email} added").format(email=row.email))


@contacts_app.command("list")
def contacts_list(
    org: Annotated[str | None, typer.Option("--org", help="Only this member's addresses.")] = None,
) -> None:
    """Every member's notification addresses: id, member, address, language."""
    from renkei.incidents import notify as notifying

    with _session() as (session, _):
        rows = [(row.id, name, row.email, row.lang) for row, name in
                notifying.contact_list(session, SystemClock(), Caller.local(), org)]
    for contact_id, name, email, lang in rows:
        typer.echo("\t".join(visible(str(v)) for v in (contact_id, name, email, lang)))


@contacts_app.command("remove")
def contacts_remove(
    contact_id: Annotated[int, record_id("The contact's id (see `contacts list`).")],
) -> None:
    """Stop telling an address of its member's incidents."""
    from renkei.incidents import notify as notifying

    with _session() as (session, _):
        row, name = notifying.remove_contact(session, SystemClock(), Caller.local(), contact_id)
        typer.echo(visible(_("contact {email} of {org} removed").format(email=row.email,
                                                                         org=name)))


@webhooks_app.command("add")
def webhooks_add(
    org: Annotated[str, typer.Argument(metavar="ORG", help="The member organisation's name.")],
    url: Annotated[str, typer.Argument(metavar="URL", help="https://… (http only to 127.0.0.1, ::1 or localhost).")],
) -> None:
    """Add a member's webhook; prints its signing secret, this once only."""
    from renkei.incidents import notify as notifying

    with _session() as (session, _):
        hook, secret = notifying.add_webhook(session, SystemClock(), Caller.local(), org, url)
        typer.echo(_("webhook {id} added; its signing secret, shown only now:").format(id=hook.id))
        typer.echo(secret)


@webhooks_app.command("list")
def webhooks_list(
    org: Annotated[str | None, typer.Option("--org", help="Only this member's webhooks.")] = None,
) -> None:
    """Every member's active webhooks (never their secrets): id, member, URL."""
    from renkei.incidents import notify as notifying

    with _session() as (session, _):
        rows = [(hook.id, name, hook.url) for hook, name in
                notifying.webhook_list(session, SystemClock(), Caller.local(), org)]
    for hook_id, name, url in rows:
        typer.echo("\t".join(visible(str(v)) for v in (hook_id, name, url)))


@webhooks_app.command("remove")
def webhooks_remove(
    webhook_id: Annotated[int, record_id("The webhook's id (see `webhooks list`).")],
) -> None:
    """Disable a webhook: nothing is sent to it again, retries included."""
    from renkei.incidents import notify as notifying

    with _session() as (session, _):
        hook, name = notifying.remove_webhook(session, SystemClock(), Caller.local(), webhook_id)
        typer.echo(visible(_("webhook {id} of {org} removed").format(id=hook.id, org=name)))
