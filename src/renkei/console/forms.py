"""Reading a console form or query string within bounds, the same way on every domain's
pages: the services judge what a value means; these only bound its size and drop what a
one-line value never holds, so no page hands a service (or PostgreSQL) more than that."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.datastructures import FormData

from renkei.core.errors import UserError
from renkei.core.i18n import gettext_noop
from renkei.core.models import MAX_ID

MAX_PAGES = 200  # the last page number a list offers; past it the filters narrow the list
LIST_MAX = 500  # items in one of a form's one-per-line fields
TEXT_MAX = 200_000  # characters in a form's longest text fields
TOO_MANY = gettext_noop("at most {most} lines")
BAD_TIME = gettext_noop("{value} is not a date and time")


def text(value: object, most: int = 200) -> str:
    """A free-text value cut at ``most`` characters; anything but a string is ``""``."""
    return value[:most] if isinstance(value, str) else ""


def field(form: FormData, name: str, most: int = 1100) -> str:
    """A text field of the form, cut at ``most`` characters (an upload is ``""``)."""
    return text(form.get(name), most)


def line(value: object, most: int = 200) -> str:
    """A name, id or query parameter, its control characters dropped (PostgreSQL refuses
    a NUL; nothing one-line needs the others)."""
    return "".join(ch for ch in text(value, most) if ch.isprintable())


def page_number(given: str | None, default: int = 1, low: int = 1,
                high: int = MAX_PAGES) -> int:
    """A whole number from a query in [low, high]; anything else is ``default``."""
    try:
        value = int((given or "")[:20])
    except ValueError:
        return default
    return value if low <= value <= high else default


def row_id(given: str | None) -> int | None:
    """A row id from a query (``before=``), or None when it is not one a column holds."""
    value = (given or "").strip()[:20]
    return int(value) if value.isascii() and value.isdigit() and 0 < int(value) <= MAX_ID \
        else None


def record_id(value: int) -> int:
    """A record's id from a path; 0 (which no record has: "not found") past any id, so the
    database is never asked for a number its column cannot hold."""
    return value if 0 < value <= MAX_ID else 0


def lines_of(form: FormData, name: str, most: int = LIST_MAX) -> list[str]:
    """A one-per-line (or comma-separated) field's values; more than ``most`` is refused."""
    found = [v.strip() for row in field(form, name, TEXT_MAX).splitlines()
             for v in row.split(",") if v.strip()]
    if len(found) > most:
        raise UserError(TOO_MANY, most=most)
    return found


def when_of(given: str) -> datetime | None:
    """A date and time from the form (``datetime-local``: UTC), or None when empty."""
    value = given.strip()
    if not value:
        return None
    try:
        found = datetime.fromisoformat(value[:40])
        return found.replace(tzinfo=UTC) if found.tzinfo is None else found.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: past year 1 or 9999 once in UTC
        raise UserError(BAD_TIME, value=value[:40]) from None
