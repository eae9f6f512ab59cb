"""How a stored log is named to whom: the path it was scanned from for the hub's staff, its
file name for a member and for whatever another domain makes of an alert (an incident)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from renkei.core import orgs
from renkei.core.db import Database
from renkei.core.time import FixedClock
from renkei.logs import reads, store
from renkei.logs.model import file_name
from renkei.logs.scan import LogScanner
from renkei.logs.service import alert_record, scan_logs
from tests.logs.conftest import clf


@pytest.mark.parametrize(("path", "name"), [
    ("/srv/logs/access.log", "access.log"), ("C:\\logs\\access.log", "access.log"),
    ("access.log", "access.log"), ("/srv/a\\b.log", "b.log"), ("", "")])
def test_file_name(path: str, name: str) -> None:
    assert file_name(path) == name


@pytest.fixture
def database(empty_database_url: str) -> Iterator[Database]:
    db = Database(empty_database_url)
    yield db
    db.dispose()


def test_a_member_and_an_alert_record_get_the_file_name(
        database: Database, scanner: LogScanner, write_log: Callable[..., Path],
        clock: FixedClock) -> None:
    with database.session() as session:
        member = orgs.add(session, clock, "Acme").id
    path = write_log([clf("/a.php?id=1%20union%20select%201")])
    scan_logs([path], scanner, clock, database=database, organisation="Acme",
              show_progress=False)
    with database.session() as session:
        [alert] = store.list_alerts(session)
        assert [v.name for v in reads.logs(session, reads.ALL)] == [str(path)]
        assert [v.name for v in reads.logs(session, member)] == ["access.log"]
        for scope, name in ((member, "access.log"), (reads.ALL, str(path))):
            view = reads.alert(session, scope, alert.id)
            assert view is not None
            assert view.log_name == name
        report = reads.scan_result(session, member, alert.source_id)
        assert report is not None
        assert {f.file for f in report.findings} | {f.file for f in report.files} == {
            "access.log"}
        record = alert_record(session, alert.id)
        assert record is not None
        assert record.log_name == "access.log"
