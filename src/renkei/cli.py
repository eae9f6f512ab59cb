"""The `renkei` command: each domain contributes its sub-command."""

from __future__ import annotations

import contextlib
import dataclasses
import sys
from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy import make_url

from renkei import __version__
from renkei.console.cli import app as console_app
from renkei.core import members, orgs
from renkei.core.cli_output import fail as _fail
from renkei.core.cli_output import literal
from renkei.core.cli_output import unit_of_work as _unit_of_work
from renkei.core.config import ConfigError, load_config, parse_public_origin
from renkei.core.db import Database
from renkei.core.errors import UserError
from renkei.core.i18n import Translate, translator
from renkei.core.models import Role
from renkei.core.time import SystemClock
from renkei.incidents.cli import app as incidents_app
from renkei.logs.cli import app as logs_app
from renkei.plan.cli import app as plan_app
from renkei.sensors.cli import app as sensors_app
from renkei.sharing.cli import app as sharing_app
from renkei.vulns.cli import app as vulns_app

app = typer.Typer(help="renkei (連携): collect, analyse and share cyber-threat information.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
app.add_typer(console_app, name="console")
app.add_typer(incidents_app, name="incidents")
app.add_typer(logs_app, name="logs")
app.add_typer(plan_app, name="plan")
app.add_typer(sensors_app, name="sensors")
app.add_typer(sharing_app, name="sharing")
app.add_typer(vulns_app, name="vulns")

db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
orgs_app = typer.Typer(help="Member organisations, the hub, and their communities.",
                       no_args_is_help=True)
users_app = typer.Typer(help="Users of the hub and of its members.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens: made, listed and revoked; shown only once.",
                         no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(orgs_app, name="orgs")
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")


@app.command()
def version() -> None:
    """Print renkei's version."""
    typer.echo(__version__)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database to the newest schema."""
    config = load_config()
    Database.from_config(config).dispose()
    shown = make_url(config.database_url).render_as_string(hide_password=True)
    typer.echo(f"database ready: {shown}")


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else "-"


# --- orgs ----------------------------------------------------------------------------

CommunityOption = Annotated[list[str] | None, typer.Option(
    "--community", help="A community (sector) such as finance or telecom; repeat for several.")]
OrgArgument = Annotated[str, typer.Argument(help="The organisation's name, 1 to 200 characters.")]


@orgs_app.command("add")
def orgs_add(
    name: OrgArgument,
    community: CommunityOption = None,
    hub: Annotated[bool, typer.Option("--hub", help="This organisation is the hub itself (only one may be).")] = False,
) -> None:
    """Register a member organisation (or the hub); prints its id and name."""
    with _unit_of_work() as (session, _):
        org = orgs.add(session, SystemClock(), name, communities=community or (), hub=hub)
        typer.echo(f"{org.id}\t{org.name}")


@orgs_app.command("list")
def orgs_list() -> None:
    """List organisations: id, hub or member, communities, name (tab-separated)."""
    with _unit_of_work() as (session, _):
        communities = orgs.community_names_by_org(session)
        for org in orgs.list_all(session):
            kind = "hub" if org.is_hub else "member"
            joined = ",".join(communities.get(org.id, [])) or "-"
            typer.echo(f"{org.id}\t{kind}\t{joined}\t{org.name}")


@orgs_app.command("join")
def orgs_join(
    name: OrgArgument,
    community: Annotated[list[str], typer.Option("--community", help="Community to join; repeat for several.")],
) -> None:
    """Put an organisation in one or more communities (made if new)."""
    with _unit_of_work() as (session, _):
        org = orgs.require(session, name)
        orgs.join(session, SystemClock(), org, community)


@orgs_app.command("leave")
def orgs_leave(
    name: OrgArgument,
    community: Annotated[list[str], typer.Option("--community", help="Community to leave; repeat for several.")],
) -> None:
    """Take an organisation out of one or more communities."""
    with _unit_of_work() as (session, _):
        org = orgs.require(session, name)
        orgs.leave(session, SystemClock(), org, community)


# --- users ---------------------------------------------------------------------------

EmailArgument = Annotated[str, typer.Argument(help="The user's e-mail address (their sign-in name).")]


def _read_password(from_stdin: bool, _: Translate) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line.removesuffix("\n").removesuffix("\r")
    return str(typer.prompt(_("Password"), hide_input=True, confirmation_prompt=True,
                            err=True))


@users_app.command("add")
def users_add(
    email: EmailArgument,
    org: Annotated[str, typer.Option("--org", help="The organisation the user belongs to.")],
    role: Annotated[Role, typer.Option("--role", help="hub-admin or hub-analyst in the hub; member-submitter or member-reader in a member.")],
    name: Annotated[str | None, typer.Option("--name", help="The user's full name (optional).")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from the first line of standard input instead of asking.")] = False,
) -> None:
    """Add a user; asks for the password (at least 12 characters). Prints id and e-mail."""
    _ = translator(load_config().lang)
    password = _read_password(password_stdin, _)
    with _unit_of_work() as (session, _):
        organisation = orgs.require(session, org)
        user = members.add_user(session, SystemClock(), organisation=organisation, email=email,
                                role=role, password=password, name=name or "")
        typer.echo(f"{user.id}\t{user.email}")


@users_app.command("list")
def users_list(
    org: Annotated[str | None, typer.Option("--org", help="Only the users of this organisation.")] = None,
) -> None:
    """List users: id, e-mail, role, active or disabled, organisation (tab-separated)."""
    with _unit_of_work() as (session, _):
        names = {o.id: o.name for o in orgs.list_all(session)}
        organisation = orgs.require(session, org) if org is not None else None
        for user in members.list_users(session, organisation):
            state = "disabled" if user.disabled_at else "active"
            typer.echo(f"{user.id}\t{user.email}\t{user.role.value}\t{state}\t"
                       f"{names[user.organisation_id]}")


@users_app.command("disable")
def users_disable(email: EmailArgument) -> None:
    """Disable a user: their password and tokens stop working at once."""
    with _unit_of_work() as (session, _):
        members.set_disabled(session, SystemClock(), email, True)


@users_app.command("enable")
def users_enable(email: EmailArgument) -> None:
    """Enable a disabled user again."""
    with _unit_of_work() as (session, _):
        members.set_disabled(session, SystemClock(), email, False)


@users_app.command("password")
def users_password(
    email: EmailArgument,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the new password from the first line of standard input instead of asking.")] = False,
) -> None:
    """Set a user's password (at least 12 characters); asks for it twice."""
    _ = translator(load_config().lang)
    password = _read_password(password_stdin, _)
    with _unit_of_work() as (session, _):
        members.set_password(session, SystemClock(), email, password)


# --- tokens --------------------------------------------------------------------------


@tokens_app.command("create")
def tokens_create(
    org: Annotated[str, typer.Option("--org", help="The organisation the token acts for.")],
    scope: Annotated[str, typer.Option("--scope", help="Comma-separated scopes: read, submit, admin (admin: hub only).")],
    user: Annotated[str | None, typer.Option("--user", help="E-mail of a user of the organisation the token acts for; without it, the organisation itself.")] = None,
    expires_days: Annotated[int, typer.Option("--expires-days", min=1, max=members.MAX_TOKEN_DAYS, help="Days until the token expires.")] = members.DEFAULT_TOKEN_DAYS,
    label: Annotated[str | None, typer.Option("--label", help="A note to recognise the token by in `tokens list`.")] = None,
) -> None:
    """Make an API token and print only the token on standard output; it is not shown again."""
    with _unit_of_work() as (session, _):
        organisation = orgs.require(session, org)
        owner = members.require_user(session, user) if user is not None else None
        issued = members.create_token(session, SystemClock(), organisation=organisation,
                                      scopes=scope, user=owner, expires_days=expires_days,
                                      label=label or "")
    typer.echo(issued.token)
    typer.echo(_("Token {key} ({scopes}) expires {expires}; it is shown only this once.").format(
        key=issued.key_id, scopes=members.format_scopes(issued.scopes),
        expires=_when(issued.expires_at)), err=True)


@tokens_app.command("list")
def tokens_list(
    org: Annotated[str, typer.Option("--org", help="The organisation whose tokens to list.")],
) -> None:
    """List an organisation's tokens, never their secrets: id, state, scopes, user, created,
    expires, last used, label (tab-separated)."""
    clock = SystemClock()
    with _unit_of_work() as (session, _):
        organisation = orgs.require(session, org)
        emails = {u.id: u.email for u in members.list_users(session, organisation)}
        now = clock.now()
        for token in members.list_tokens(session, organisation):
            owner = emails.get(token.user_id, "-") if token.user_id is not None else "-"
            typer.echo("\t".join((
                token.key_id, members.token_state(token, now).value, token.scopes, owner,
                _when(token.created_at), _when(token.expires_at), _when(token.last_used_at),
                token.label or "-")))


@tokens_app.command("revoke")
def tokens_revoke(
    key_id: Annotated[str, typer.Argument(metavar="ID", help="The token's id, as `tokens list` shows it.")],
) -> None:
    """Revoke a token at once; revoking one twice is harmless."""
    with _unit_of_work() as (session, _):
        token = members.revoke_token(session, SystemClock(), key_id)
        typer.echo(f"{token.key_id}\trevoked")


def _origin_option(value: str | None) -> str | None:
    """``--public-origin`` in its normal form; a usage error for anything but an origin."""
    if value is None:
        return None
    try:
        return parse_public_origin(value, "--public-origin")
    except ConfigError as exc:
        raise typer.BadParameter(str(exc)) from None


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Server processes (PostgreSQL for more than one is advised).")] = 1,
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = False,
    demo: Annotated[bool, typer.Option("--demo", help="Serve a demo hub full of synthetic data instead of yours: seeded on first use in RENKEI_HOME/demo (its own SQLite database), then reused.")] = False,
    demo_reset: Annotated[bool, typer.Option("--demo-reset", help="With --demo: delete the demo hub and seed a fresh one.")] = False,
    demo_every: Annotated[int, typer.Option("--demo-every", min=0, max=86400, help="With --demo: seconds between batches of new demo data while serving; 0: none.")] = 60,
    public_origin: Annotated[str | None, typer.Option("--public-origin", callback=_origin_option, help="The console's address as browsers see it behind a TLS-terminating proxy, e.g. https://hub.example: its cookies are then Secure and forms must come from it (default: RENKEI_PUBLIC_ORIGIN, else the request's own scheme and Host).")] = None,
) -> None:
    """Serve the web console (/), the REST API (/api/v1, /docs) and the TAXII 2.1 server
    (/taxii2/)."""
    import uvicorn  # the server is only loaded by the command that runs it

    from renkei.app import create_app

    config = load_config()
    with contextlib.ExitStack() as stack:
        if demo or demo_reset:
            from renkei.demo.serving import demo_serving

            try:
                config = stack.enter_context(demo_serving(
                    config, host=host, port=port, fresh=demo_reset, every=demo_every))
            except UserError as exc:
                _fail(exc.translate(translator(config.lang)), translator(config.lang))
        if public_origin is not None:
            from renkei.demo.serving import exported

            config = dataclasses.replace(config, public_origin=public_origin)
            # processes started by name (--workers) read their configuration from there
            stack.enter_context(exported({"RENKEI_PUBLIC_ORIGIN": public_origin}))
        Database.from_config(config).dispose()  # migrate once, before any worker starts
        typer.echo(f"renkei {__version__}: console at http://{host}:{port}/, TAXII 2.1 at "
                   f"http://{host}:{port}/taxii2/, REST API at http://{host}:{port}/api/v1/ "
                   f"(docs at /docs)", err=True)
        if config.public_origin:
            typer.echo(f"browsers reach the console at {config.public_origin}/ (through the "
                       f"proxy): forms must come from there", err=True)
        from renkei.logs.upload import warm_up_in_background

        # the first log upload then waits for no compiling; with --workers, this leaves
        # the kernels compiled on disk for the workers
        warm_up_in_background()
        if workers > 1:
            uvicorn.run("renkei.app:create_app", factory=True, host=host, port=port,
                        workers=workers, access_log=access_log, log_level="warning")
        else:
            uvicorn.run(create_app(config), host=host, port=port, access_log=access_log,
                        log_level="warning")


def main() -> None:
    try:
        app()
    except ConfigError as exc:
        Console(stderr=True).print(literal(f"configuration error: {exc}"))
        raise SystemExit(2) from exc
