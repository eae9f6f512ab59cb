"""`renkei sharing …`: collections, members' reports through sanitisation and consent,
shared objects and sightings, from the command line.

Commands that act for someone take an API token (``--token`` or ``RENKEI_TOKEN``) and run
as that token's holder, under the same checks and audit as the API; managing collections
is a local operator's task, like ``renkei orgs``.
"""


from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from renkei.core import members, orgs
from renkei.core.cli_output import fail as _fail
from renkei.core.cli_output import record_id
from renkei.core.config import load_config
from renkei.core.db import Database
from renkei.core.errors import UserError
from renkei.core.i18n import Translate, translator
from renkei.core.members import AuthenticationError, Principal, ScopeError
from renkei.core.time import SystemClock
from renkei.core.tlp import Tlp
from renkei.core.tlp import parse as parse_tlp
from renkei.sharing.policy import Viewer
from renkei.sharing.store import SubmissionState, visible_objects

# The workflow, TAXII and sightings modules load the STIX validators (seconds of imports);
# each command imports what it uses, so that `renkei` itself starts at once.

app = typer.Typer(help="Sharing: reports, sanitisation and consent, collections, sightings.",
                  no_args_is_help=True)
collections_app = typer.Typer(help="TAXII collections.", no_args_is_help=True)
misp_app = typer.Typer(help="Exchange with MISP communities (MISP core JSON).",
                       no_args_is_help=True)
app.add_typer(collections_app, name="collections")
app.add_typer(misp_app, name="misp")

Token = Annotated[str, typer.Option(envvar="RENKEI_TOKEN", show_default=False,
                                    help="API token to act with (or RENKEI_TOKEN).")]
SubmissionId = Annotated[int, record_id("The submission's number.")]
MAX_FILE_BYTES = 4 * 1024 * 1024


@contextmanager
def _session() -> Iterator[tuple[Session, Translate]]:
    """One transaction; a refusal keeps its audit record and becomes a message and exit 2."""
    config = load_config()
    _ = translator(config.lang)
    database = Database.from_config(config)
    try:
        with database.sessions() as session:
            try:
                yield session, _
            except (UserError, AuthenticationError, ScopeError) as error:
                session.commit()  # the refusal's audit record
                text = error.translate(_) if isinstance(error, UserError) else _(str(error))
                _fail(text, _)
            else:
                session.commit()
    finally:
        database.dispose()


def _principal(session: Session, token: str) -> Principal:
    return members.authenticate_token(session, SystemClock(), token.strip(), source="cli")


def _read(path: Path, _: Translate) -> bytes:
    try:
        data = sys.stdin.buffer.read(MAX_FILE_BYTES + 1) if str(path) == "-" else \
            path.open("rb").read(MAX_FILE_BYTES + 1)
    except OSError as error:
        _fail(f"{path}: {error.strerror}", _)
    if len(data) > MAX_FILE_BYTES:
        _fail(f"{path}: larger than {MAX_FILE_BYTES} bytes", _)
    return data


@app.command("submit")
def submit(
    path: Annotated[Path, typer.Argument(help="A STIX 2.1 bundle or a simple JSON report; - for stdin.")],
    token: Token,
    recipient_org: Annotated[list[str] | None, typer.Option(help="An organisation to share with (TLP:AMBER); repeat for more.")] = None,
    recipient_user: Annotated[list[str] | None, typer.Option(help="A person (e-mail) to share with (TLP:RED); repeat for more.")] = None,
) -> None:
    """Submit a report for the hub to sanitise; prints its number."""
    with _session() as (session, _):
        from renkei.sharing import service

        principal = _principal(session, token)
        org_ids = [orgs.require(session, name).id for name in recipient_org or []]
        user_ids = [members.require_user(session, email).id for email in recipient_user or []]
        row = service.submit(session, SystemClock(), principal, _read(path, _),
                             recipient_orgs=org_ids, recipient_users=user_ids, source="cli")
        typer.echo(f"{row.id}\t{row.state.value}\t{Tlp(row.marking).label}")


@app.command("submissions")
def submissions(
    token: Token,
    state: Annotated[SubmissionState | None, typer.Option(help="Only submissions in this state.")] = None,
) -> None:
    """List the submissions you may see: number, state, marking, objects, when."""
    with _session() as (session, _):
        from renkei.sharing import service

        principal = _principal(session, token)
        for row in service.list_submissions(session, principal, state=state):
            typer.echo(f"{row.id}\t{row.state.value}\t{Tlp(row.marking).label}\t"
                       f"{len(row.original.get('objects', []))}\t"
                       f"{row.submitted_at:%Y-%m-%dT%H:%M:%SZ}")


@app.command("show")
def show(submission_id: SubmissionId, token: Token) -> None:
    """Show a submission's state and the diff of its sanitisation."""
    with _session() as (session, _):
        from renkei.sharing import service

        row = service.get_submission(session, _principal(session, token), submission_id)
        typer.echo(f"{row.id}\t{row.state.value}\t{Tlp(row.marking).label}")
        if row.diff:
            typer.echo(row.diff)


@app.command("sanitise")
def sanitise(
    submission_id: SubmissionId,
    token: Token,
    own_domain: Annotated[list[str] | None, typer.Option(help="A domain of the submitter's own; repeat for more.")] = None,
    own_network: Annotated[list[str] | None, typer.Option(help="A network of the submitter's own (CIDR); repeat for more.")] = None,
    staff_name: Annotated[list[str] | None, typer.Option(help="A name of the submitter's staff; repeat for more.")] = None,
) -> None:
    """Sanitise a submission (the hub's staff) and print the diff."""
    with _session() as (session, _):
        from renkei.sharing import service

        row = service.sanitise(session, SystemClock(), _principal(session, token),
                               submission_id, own_domains=own_domain or [],
                               own_networks=own_network or [], staff_names=staff_name or [],
                               source="cli")
        typer.echo(row.diff or _("nothing to change"))


@app.command("approve")
def approve(submission_id: SubmissionId, token: Token) -> None:
    """Consent, as the submitter, to publishing the sanitised version."""
    with _session() as (session, _):
        from renkei.sharing import service

        row = service.approve(session, SystemClock(), _principal(session, token),
                              submission_id, source="cli")
        typer.echo(f"{row.id}\t{row.state.value}")


@app.command("reject")
def reject(
    submission_id: SubmissionId,
    token: Token,
    reason: Annotated[str, typer.Option(help="Why, for the record.")] = "",
) -> None:
    """Withhold consent (the submitter) or decline (the hub's staff); final."""
    with _session() as (session, _):
        from renkei.sharing import service

        row = service.reject(session, SystemClock(), _principal(session, token),
                             submission_id, reason, source="cli")
        typer.echo(f"{row.id}\t{row.state.value}")


@app.command("publish")
def publish(submission_id: SubmissionId, token: Token) -> None:
    """Publish an approved submission (the hub's staff); prints each object published."""
    with _session() as (session, _):
        from renkei.sharing import service

        rows = service.publish(session, SystemClock(), _principal(session, token),
                               submission_id, source="cli")
        for row in rows:
            typer.echo(f"{row.stix_id}\t{Tlp(row.marking).label}")


@app.command("objects")
def objects(
    token: Token,
    type_: Annotated[str | None, typer.Option("--type", help="Only objects of this STIX type.")] = None,
    contains: Annotated[str | None, typer.Option(help="Only objects whose JSON contains this text.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many, newest first.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="One STIX object per line.")] = False,
) -> None:
    """Shared objects you may read, newest first."""
    with _session() as (session, _):
        viewer = Viewer.of(_principal(session, token))
        for row in visible_objects(session, viewer, stix_type=type_, contains=contains,
                                   newest_first=True, limit=limit):
            if as_json:
                typer.echo(json.dumps(row.body, ensure_ascii=False, sort_keys=True))
            else:
                typer.echo(f"{row.stix_id}\t{Tlp(row.marking).label}\t"
                           f"{row.date_added:%Y-%m-%dT%H:%M:%SZ}")


@app.command("sight")
def sight(
    stix_id: Annotated[str, typer.Argument(help="The shared object seen.")],
    token: Token,
    count: Annotated[int, typer.Option(min=1, help="How many times.")] = 1,
) -> None:
    """Report that your organisation saw a shared object; prints the totals everyone sees."""
    with _session() as (session, _):
        from renkei.sharing import sightings

        principal = _principal(session, token)
        sightings.report(session, SystemClock(), principal, stix_id, count=count, source="cli")
        found = sightings.summary(session, principal, stix_id)
        typer.echo(f"{found.stix_id}\t{found.count}\t{found.organisations}")


@collections_app.command("list")
def collections_list() -> None:
    """Every collection: id, alias, markings, community, title."""
    with _session() as (session, _):
        from renkei.sharing import taxii

        for row, community in taxii.all_collections(session, SystemClock()):
            markings = ",".join(row.markings) or "*"
            typer.echo(f"{row.id}\t{row.alias}\t{markings}\t{community or '*'}\t{row.title}")


@collections_app.command("add")
def collections_add(
    alias: Annotated[str, typer.Argument(help="Short name: a-z, 0-9, - and _.")],
    title: Annotated[str, typer.Option(help="Title shown to TAXII clients.")],
    description: Annotated[str, typer.Option(help="Description shown to TAXII clients.")] = "",
    marking: Annotated[list[str] | None, typer.Option(help="A TLP level it carries (clear, green, amber, amber+strict, red); repeat; default: all.")] = None,
    community: Annotated[str | None, typer.Option(help="Only for members of this community.")] = None,
    members_write: Annotated[bool, typer.Option(help="Members may POST reports to it.")] = True,
) -> None:
    """Add a collection; objects published from now on are routed to it by marking and community."""
    with _session() as (session, _):
        from renkei.sharing import taxii

        try:
            levels = [parse_tlp(m) for m in marking or []]
        except ValueError as error:
            _fail(str(error), _)
        row = taxii.add_collection(session, SystemClock(), alias, title=title,
                                   description=description, markings=levels,
                                   community=community, members_write=members_write)
        typer.echo(row.id)


@misp_app.command("export")
def misp_export(
    token: Token,
    out: Annotated[Path | None, typer.Option(help="Write the events here (JSON list); default: stdout.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=20_000, help="At most this many objects, newest first.")] = 5_000,
) -> None:
    """Export what you may read as MISP events, one per report, with TLP tags."""
    with _session() as (session, _):
        from renkei.sharing import exchange

        events = exchange.export_misp_events(session, SystemClock(), _principal(session, token),
                                             limit=limit, source="cli")
        text = json.dumps(events, ensure_ascii=False, indent=1)
        if out is None:
            typer.echo(text)
        else:
            out.write_text(text + "\n", encoding="utf-8")
            typer.echo(f"{len(events)}\t{out}", err=True)


@misp_app.command("import")
def misp_import(
    path: Annotated[Path, typer.Argument(help="A MISP event (MISP core JSON); - for stdin.")],
    token: Token,
    default_tlp: Annotated[str, typer.Option(help="TLP for what carries no TLP tag.")] = "amber",
) -> None:
    """Submit a MISP event as a report; prints its number and what could not be carried."""
    with _session() as (session, _):
        from renkei.sharing import exchange

        try:
            level = parse_tlp(default_tlp)
        except ValueError as error:
            _fail(str(error), _)
        taken = exchange.import_misp_event(session, SystemClock(), _principal(session, token),
                                           _read(path, _), default_tlp=level, source="cli")
        row = taken.submission
        typer.echo(f"{row.id}\t{row.state.value}\t{Tlp(row.marking).label}")
        for line in taken.dropped:
            typer.echo(_("dropped: {what}").format(what=line), err=True)
