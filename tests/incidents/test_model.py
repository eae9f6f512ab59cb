"""The pure parts: allowed moves, notes they need, SLA deadlines, timings from events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from renkei.core.config import ConfigError, load_config
from renkei.incidents.model import (
    MOVES,
    Severity,
    Sla,
    Status,
    StatusChange,
    needs_note,
    normalise_indicator,
    timings,
)

T0 = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)


def test_every_status_can_move_somewhere_and_closed_only_reopens() -> None:
    assert set(MOVES) == set(Status)
    assert MOVES[Status.CLOSED] == {Status.INVESTIGATING}
    assert Status.RESOLVED not in MOVES[Status.NEW]  # acknowledge first


def test_closing_unresolved_and_reopening_need_a_note() -> None:
    assert needs_note(Status.NEW, Status.CLOSED)
    assert needs_note(Status.RESOLVED, Status.INVESTIGATING)
    assert needs_note(Status.CLOSED, Status.INVESTIGATING)
    assert not needs_note(Status.RESOLVED, Status.CLOSED)
    assert not needs_note(Status.NEW, Status.ACKNOWLEDGED)


def test_timings_come_from_the_status_events() -> None:
    changes = [StatusChange(T0, Status.NEW),
               StatusChange(T0 + timedelta(minutes=10), Status.ACKNOWLEDGED),
               StatusChange(T0 + timedelta(hours=1), Status.INVESTIGATING),
               StatusChange(T0 + timedelta(hours=3), Status.RESOLVED),
               StatusChange(T0 + timedelta(hours=5), Status.CLOSED)]
    found = timings(opened=T0, occurred=T0 - timedelta(hours=2), detected=T0,
                    changes=reversed(changes))
    assert (found.detect, found.acknowledge, found.resolve) == (7200.0, 600.0, 10800.0)


def test_a_reopened_incident_is_unresolved_until_resolved_again() -> None:
    changes = [StatusChange(T0, Status.NEW),
               StatusChange(T0 + timedelta(minutes=5), Status.ACKNOWLEDGED),
               StatusChange(T0 + timedelta(hours=1), Status.RESOLVED),
               StatusChange(T0 + timedelta(hours=2), Status.INVESTIGATING)]
    assert timings(opened=T0, occurred=None, detected=T0, changes=changes).resolve is None
    again = [*changes, StatusChange(T0 + timedelta(hours=6), Status.RESOLVED)]
    found = timings(opened=T0, occurred=None, detected=T0, changes=again)
    assert found.resolve == 6 * 3600.0
    assert found.detect is None  # occurrence unknown


def test_sla_overdue_by_severity() -> None:
    sla = Sla.default()
    assert sla.overdue(Severity.CRITICAL, Status.NEW, T0, T0 + timedelta(minutes=14)) == []
    assert sla.overdue(Severity.CRITICAL, Status.NEW, T0, T0 + timedelta(minutes=16)) == [
        "acknowledge"]
    assert sla.overdue(Severity.CRITICAL, Status.INVESTIGATING, T0,
                       T0 + timedelta(hours=5)) == ["resolve"]
    assert sla.overdue(Severity.CRITICAL, Status.RESOLVED, T0, T0 + timedelta(days=9)) == []
    assert sla.overdue(Severity.LOW, Status.NEW, T0, T0 + timedelta(hours=5)) == []


def test_sla_settings_are_read_and_checked() -> None:
    config = load_config({"RENKEI_HOME": "/nonexistent", "RENKEI_INCIDENT_SLA_HIGH": "30m/8h"})
    sla = Sla.from_settings(config.incident_sla)
    assert sla.deadlines[Severity.HIGH].acknowledge == timedelta(minutes=30)
    assert sla.deadlines[Severity.CRITICAL].resolve == timedelta(hours=4)
    for bad in ("30m", "8h/30m", "soon/later", "0m/1h"):
        with pytest.raises(ConfigError, match="RENKEI_INCIDENT_SLA_HIGH"):
            load_config({"RENKEI_HOME": "/nonexistent", "RENKEI_INCIDENT_SLA_HIGH": bad})


@pytest.mark.parametrize(("kind", "value", "kept"), [
    ("ipv4", " 198.51.100.7 ", "198.51.100.7"),
    ("ipv4", "198.51.100.0/24", "198.51.100.0/24"),
    ("ipv6", "2001:DB8::1", "2001:db8::1"),
    ("domain", "Evil.Example", "evil.example"),
    ("sha256", "A" * 64, "a" * 64),
    ("url", "https://evil.example/x?q=1", "https://evil.example/x?q=1"),
])
def test_indicators_are_normalised(kind: str, value: str, kept: str) -> None:
    assert normalise_indicator(kind, value) == kept


@pytest.mark.parametrize(("kind", "value"), [
    ("ipv4", "198.51.100.7/24"), ("ipv4", "not an address"), ("domain", "a b.example"),
    ("url", "javascript:alert(1)"), ("md5", "xyz"), ("email-sender", "nobody"),
    ("registry-key", "HKLM"), ("domain", "x" * 3000),
])
def test_bad_indicators_are_refused(kind: str, value: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011  (each reason is its own message)
        normalise_indicator(kind, value)
