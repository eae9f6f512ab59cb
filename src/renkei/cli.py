"""The `renkei` command: each domain contributes its sub-command."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from renkei import __version__
from renkei.core import orgs
from renkei.core.config import ConfigError, load_config
from renkei.core.db import Database
from renkei.core.time import SystemClock
from renkei.logs.cli import app as logs_app

app = typer.Typer(help="renkei (連携): collect, analyse and share cyber-threat information.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
app.add_typer(logs_app, name="logs")

db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
orgs_app = typer.Typer(help="Member organisations.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(orgs_app, name="orgs")


@app.command()
def version() -> None:
    """Print renkei's version."""
    typer.echo(__version__)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database to the newest schema."""
    config = load_config()
    Database.from_config(config).dispose()
    typer.echo(f"database ready: {config.database_url}")


@orgs_app.command("add")
def orgs_add(name: Annotated[str, typer.Argument(help="The organisation's name, 1 to 200 characters.")]) -> None:
    """Register a member organisation."""
    database = Database.from_config(load_config())
    try:
        with database.session() as session:
            org = orgs.add(session, SystemClock(), name)
            typer.echo(f"{org.id}\t{org.name}")
    except orgs.OrganisationError as exc:
        Console(stderr=True).print(f"error: {exc}", markup=False)
        raise typer.Exit(2) from exc
    finally:
        database.dispose()


@orgs_app.command("list")
def orgs_list() -> None:
    """List organisations."""
    database = Database.from_config(load_config())
    try:
        with database.session() as session:
            for org in orgs.list_all(session):
                typer.echo(f"{org.id}\t{org.name}")
    finally:
        database.dispose()


def main() -> None:
    try:
        app()
    except ConfigError as exc:
        Console(stderr=True).print(f"configuration error: {exc}", markup=False)
        raise SystemExit(2) from exc
