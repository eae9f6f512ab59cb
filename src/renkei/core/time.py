"""A clock that services take as an argument, so tests can fix "now"."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


def as_utc(value: datetime) -> datetime:
    """An aware UTC datetime; a naive one (SQLite's min()/max(), raw columns) is taken as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at
