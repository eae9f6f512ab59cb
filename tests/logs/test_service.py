"""Storing scans: alerts once per (file, line, rule), every scan audited."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from renkei.core import orgs
from renkei.core.db import Database
from renkei.core.models import AuditEvent
from renkei.core.time import FixedClock
from renkei.logs import store
from renkei.logs.scan import LogScanner
from renkei.logs.service import scan_logs
from tests.logs.conftest import clf

ATTACKS = [clf("/a.php?id=1%20union%20select%201"), clf("/"),
           clf("/b.php?id=2%20union%20select%202")]


@pytest.fixture
def database(empty_database_url: str) -> Database:
    db = Database(empty_database_url)
    yield db
    db.dispose()


def test_rescanning_stores_nothing_twice(database: Database, scanner: LogScanner,
                                         write_log: Callable[..., Path], clock: FixedClock) -> None:
    path = write_log(ATTACKS)
    first = scan_logs([path], scanner, clock, database=database, show_progress=False)
    again = scan_logs([path], scanner, clock, database=database, show_progress=False)
    assert first.stored == 2
    assert again.stored == 0
    with database.session() as session:
        assert store.count_alerts(session) == 2
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "logs.scan")).all()
        assert len(events) == 2
        assert events[0].details["new_alerts"] == 2


def test_a_grown_log_adds_only_new_lines(database: Database, scanner: LogScanner,
                                         write_log: Callable[..., Path], clock: FixedClock) -> None:
    path = write_log(ATTACKS)
    scan_logs([path], scanner, clock, database=database, show_progress=False)
    path.write_text("\n".join([*ATTACKS, clf("/c.php?id=3%20union%20select%203")]) + "\n")
    grown = scan_logs([path], scanner, clock, database=database, show_progress=False)
    assert grown.stored == 1


def test_unknown_organisation_is_refused(database: Database, scanner: LogScanner,
                                         write_log: Callable[..., Path], clock: FixedClock) -> None:
    with pytest.raises(orgs.OrganisationError, match="no organisation named"):
        scan_logs([write_log(ATTACKS)], scanner, clock, database=database,
                  organisation="nobody", show_progress=False)


def test_scan_for_an_organisation(database: Database, scanner: LogScanner,
                                  write_log: Callable[..., Path], clock: FixedClock) -> None:
    with database.session() as session:
        orgs.add(session, clock, "Ministry of Examples")
    scan_logs([write_log(ATTACKS)], scanner, clock, database=database,
              organisation="Ministry of Examples", show_progress=False)
    with database.session() as session:
        sources = session.scalars(select(store.LogSource)).all()
        assert [s.organisation_id is not None for s in sources] == [True]


def test_unreadable_files_are_reported_and_others_scanned(
        database: Database, scanner: LogScanner, write_log: Callable[..., Path],
        tmp_path: Path, clock: FixedClock) -> None:
    good = write_log(ATTACKS)
    result = scan_logs([tmp_path / "missing.log", good], scanner, clock, database=database,
                       show_progress=False)
    assert [bool(f.error) for f in result.files] == [True, False]
    assert "missing.log" in result.files[0].error
    assert result.stored == 2


def test_hostile_text_is_stored_verbatim(database: Database, scanner: LogScanner,
                                         write_log: Callable[..., Path], clock: FixedClock) -> None:
    target = "/x.php?id=1'%20union%20select%20'%3B%20DROP%20TABLE%20log_alerts;--"
    scan_logs([write_log([clf(target, agent="'); DROP TABLE log_alerts; --")])], scanner, clock,
              database=database, show_progress=False)
    with database.session() as session:
        alerts = store.list_alerts(session)
        assert alerts[0].target == target
        assert session.scalar(select(func.count()).select_from(store.LogAlert)) >= 1
