"""What every `renkei` sub-command shares: one transaction per command, and one way to say
why it must stop."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer
from sqlalchemy.orm import Session

from renkei.core.config import load_config
from renkei.core.db import Database
from renkei.core.errors import UserError
from renkei.core.i18n import Translate, translator


def fail(message: str, _: Translate) -> NoReturn:
    """Print ``error: …`` in the user's language on stderr and exit with status 2."""
    typer.echo(_("error: {reason}").format(reason=message), err=True)
    raise typer.Exit(2)


@contextmanager
def unit_of_work() -> Iterator[tuple[Session, Translate]]:
    """One transaction on the configured database; a UserError becomes a message and exit 2."""
    config = load_config()
    _ = translator(config.lang)
    database = Database.from_config(config)
    try:
        with database.session() as session:
            yield session, _
    except UserError as exc:
        fail(exc.translate(_), _)
    finally:
        database.dispose()
