"""What every `renkei` sub-command shares when it must stop: one way to say why."""

from __future__ import annotations

from typing import NoReturn

import typer

from renkei.core.i18n import Translate


def fail(message: str, _: Translate) -> NoReturn:
    """Print ``error: …`` in the user's language on stderr and exit with status 2."""
    typer.echo(_("error: {reason}").format(reason=message), err=True)
    raise typer.Exit(2)
