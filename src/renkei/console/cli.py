"""`renkei console …`: what an administrator does for the console from a shell."""

from __future__ import annotations

from typing import Annotated

import typer

from renkei.console import auth
from renkei.core.cli_output import unit_of_work
from renkei.core.time import SystemClock

app = typer.Typer(help="The web console: its users' second factor.", no_args_is_help=True)


@app.command("totp-reset")
def totp_reset(
    email: Annotated[str, typer.Argument(help="The user's e-mail address (their sign-in name).")],
) -> None:
    """Forget a user's second factor (a lost phone): their console sessions end, and they
    set up a new one at their next sign-in."""
    with unit_of_work() as (session, _):
        user = auth.reset_totp(session, SystemClock(), email)
        typer.echo(_("Second factor of {email} reset; they set up a new one at their next sign-in.").format(email=user.email))
