"""What every `renkei` sub-command shares: one transaction per command, one way to say
why it must stop, how a record's number is taken, and how others' text reaches rich."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import typer
from rich.style import StyleType
from rich.text import Text
from sqlalchemy.orm import Session

from renkei.core.config import load_config
from renkei.core.db import Database
from renkei.core.errors import UserError
from renkei.core.i18n import Translate, translator
from renkei.core.models import MAX_ID
from renkei.core.text import visible


def record_id(help_text: str, metavar: str = "ID", minimum: int = 1) -> Any:
    """A typer argument for a record's number (``Annotated[int, record_id("…")]``):
    ``minimum`` (1: no id is 0) to ``MAX_ID``, so a number past any id the database can
    hold is a usage error (exit 2) rather than a query PostgreSQL refuses with a traceback."""
    return typer.Argument(metavar=metavar, min=minimum, max=MAX_ID, help=help_text)


def literal(value: object, style: StyleType = "") -> Text:
    """Text renkei did not write (a feed's title, a log line, an organisation's name) for a
    rich table, title or ``print``: rich reads a plain string as markup, so "[/x]" in it
    stopped the command and "[red]" or "[link=…]" changed what was shown; ``:name:``
    emoji codes are left alone too, and control characters are made visible."""
    return Text(visible(str(value)), style=style)


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
