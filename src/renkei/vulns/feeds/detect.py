"""Which reader a file needs, and the few checks every reader shares.

Formats are told apart by their own keys in the file's first 64 KiB, matched as bytes: a
yearly NVD feed is too big to parse twice, and a head cut mid-record is not valid JSON.
The order matters: OSV first, whose keys (``id``, ``modified``) are the most generic, so
its test also rules out the others' markers.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, Protocol, cast

import orjson

from renkei.core.memory import paused_gc
from renkei.vulns.model import FeedProblem, Record

FORMATS = ("osv", "cve5", "nvd", "csaf", "jvn", "kev", "epss")
HEAD_BYTES = 64 * 1024
MAX_TEXT = 64 * 1024  # characters kept of a summary, a description …
MAX_ID = 200
MAX_LIST = 10_000  # entries kept of any one list
BOM = b"\xef\xbb\xbf"


class FormatModule(Protocol):
    """What every ``feeds.<format>`` module provides."""

    def looks_like(self, head: bytes, name: str) -> bool: ...

    def read(self, data: bytes, location: str) -> Iterator[Record]: ...


def module(name: str) -> FormatModule:
    return cast(FormatModule, importlib.import_module(f"renkei.vulns.feeds.{name}"))


def detect(head: bytes, name: str) -> str | None:
    """The format module's name for a file, or None. A reader that is missing or whose
    test fails is passed over: one broken format must not hide the others."""
    head = head.removeprefix(BOM)
    for fmt in FORMATS:
        try:
            if module(fmt).looks_like(head, name):
                return fmt
        except Exception:  # noqa: S112 - a reader's own fault, the next may still know the file
            continue
    return None


# --- checks shared by the readers ------------------------------------------------------


class BadField(ValueError):  # noqa: N818 - a field, not an error of ours
    """A field of the wrong type or shape; the message names the field's JSON path."""


def text(value: object, where: str, limit: int = MAX_TEXT) -> str:
    if type(value) is str:
        return value if len(value) <= limit else value[:limit]
    raise BadField(f"{where}: expected a string, got {type(value).__name__}")


def opt_text(value: object, where: str, limit: int = MAX_TEXT) -> str | None:
    return None if value is None else text(value, where, limit)


def ident(value: object, where: str, limit: int = MAX_ID) -> str:
    """An id or a version: cut, two long ones could become one, so a long one is refused."""
    if type(value) is not str or not value.strip():
        raise BadField(f"{where}: expected a non-empty string, got {short(value)}")
    if len(value) > limit:
        raise BadField(f"{where}: longer than {limit} characters")
    return value.strip()


def items(value: object, where: str) -> list[Any]:
    if value is None:
        return []
    if type(value) is list:
        return value if len(value) <= MAX_LIST else value[:MAX_LIST]
    raise BadField(f"{where}: expected a list, got {type(value).__name__}")


def obj(value: object, where: str) -> dict[str, Any]:
    if type(value) is dict:
        return value
    raise BadField(f"{where}: expected an object, got {type(value).__name__}")


def opt_obj(value: object, where: str) -> dict[str, Any]:
    return {} if value is None else obj(value, where)


def when(value: object, where: str) -> datetime | None:
    """An aware UTC time: NVD writes none of its zones, and they are UTC."""
    if value is None:
        return None
    if type(value) is not str or len(value) > 64:
        raise BadField(f"{where}: expected an ISO 8601 time, got {short(value)}")
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        raise BadField(f"{where}: not an ISO 8601 time: {short(value)}") from None
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


def score(value: object, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 10:
        return float(value)
    raise BadField(f"{where}: expected a score from 0 to 10, got {short(value)}")


def short(value: object, limit: int = 80) -> str:
    shown = repr(value) if not isinstance(value, str) else value
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def load_json(data: bytes, location: str) -> tuple[Any, FeedProblem | None]:
    """The parsed document, or the problem that stops the whole file.

    The cyclic GC is paused meanwhile: a parse makes millions of containers (and no
    cycles), and the collections their growth sets off cost three times the parse."""
    with paused_gc():
        try:
            return orjson.loads(data.removeprefix(BOM)), None
        except orjson.JSONDecodeError as exc:
            return None, FeedProblem(location, None, f"not valid JSON: {exc}")


def problem(location: str, record_id: object, exc: BaseException) -> FeedProblem:
    """A record's problem; a Python error (a field of an unexpected shape) says so."""
    rid = record_id[:MAX_ID] if type(record_id) is str and record_id else None
    message = str(exc) if isinstance(exc, BadField) else f"malformed record: {type(exc).__name__}: {exc}"
    return FeedProblem(location, rid, short(message, 500))
