"""A log is its organisation's: two members' logs that begin alike stay two logs, whichever
way they are scanned (``renkei logs scan --org``, the console's upload), and neither member
sees the other's; the upload and the command line keep a scan alike."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from renkei.cli import app
from renkei.core import orgs
from renkei.core.db import Database
from renkei.core.members import Principal
from renkei.core.models import AuditEvent, Organisation, Role, Scope
from renkei.core.time import FixedClock
from renkei.logs import reads, store, upload
from renkei.logs import scan as scan_module
from renkei.logs.scan import LogScanner
from renkei.logs.service import scan_logs
from tests.logs.conftest import clf

ATTACKS = [clf("/"), clf("/a.php?id=1%20union%20select%201"),
           clf("/b.php?id=2%20union%20select%202")]


@pytest.fixture
def database(empty_database_url: str) -> Iterator[Database]:
    db = Database(empty_database_url)
    yield db
    db.dispose()


@pytest.fixture
def members(database: Database, clock: FixedClock) -> tuple[int, int]:
    """Two members' ids: Acme's and Peer's."""
    with database.session() as session:
        return (orgs.add(session, clock, "Acme").id, orgs.add(session, clock, "Peer").id)


def _sources(database: Database) -> list[tuple[int | None, str, int]]:
    """Every log: (its organisation, its name, how many alerts it has), oldest first."""
    with database.session() as session:
        return [(s.organisation_id, s.name, store.count_alerts(session, s.id))
                for s in session.scalars(select(store.LogSource).order_by(store.LogSource.id))]


def test_two_members_scanning_the_same_log_get_a_log_each(
        database: Database, members: tuple[int, int], scanner: LogScanner,
        write_log: Callable[..., Path], clock: FixedClock) -> None:
    acme, peer = members
    acme_log, peer_log = write_log(ATTACKS, "acme.log"), write_log(ATTACKS, "peer.log")
    stored = [scan_logs([path], scanner, clock, database=database, organisation=name,
                        show_progress=False).stored
              for path, name in ((acme_log, "Acme"), (peer_log, "Peer"),
                                 (acme_log, "Acme"), (peer_log, "Peer"))]
    assert stored == [2, 2, 0, 0]  # a rescan finds each member's own log again
    assert _sources(database) == [(acme, str(acme_log), 2), (peer, str(peer_log), 2)]
    with database.session() as session:
        for mine, theirs, name in ((acme, peer, "acme.log"), (peer, acme, "peer.log")):
            logs = reads.logs(session, mine)
            assert [view.name for view in logs] == [name]
            other = next(s.id for s in session.scalars(select(store.LogSource))
                         if s.organisation_id == theirs)
            assert reads.log(session, mine, other) is None
            assert reads.scan_result(session, mine, other) is None
            page = reads.alert_page(session, mine, reads.AlertFilter())
            assert {a.log_id for a in page.rows} == {logs[0].id}
            assert reads.alert_page(session, mine, reads.AlertFilter(log=other)).rows == []
            assert reads.totals(session, mine).alerts == 2


def test_the_hubs_own_scan_leaves_a_members_log_alone(
        database: Database, members: tuple[int, int], scanner: LogScanner,
        write_log: Callable[..., Path], clock: FixedClock) -> None:
    acme, _ = members
    path = write_log(ATTACKS)
    scan_logs([path], scanner, clock, database=database, organisation="Acme",
              show_progress=False)
    grown = write_log([*ATTACKS, clf("/c.php?id=3%20union%20select%203")], "hub.log")
    assert scan_logs([grown], scanner, clock, database=database,
                     show_progress=False).stored == 3
    assert _sources(database) == [(acme, str(path), 2), (None, str(grown), 3)]


def test_the_command_line_keeps_each_organisations_log(
        renkei_home: Path, scanner: LogScanner, write_log: Callable[..., Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``renkei logs scan --org`` as run, the bundled rules compiled once for the test."""
    monkeypatch.setattr(scan_module, "LogScanner", lambda *args, **kwargs: scanner)
    runner = CliRunner()
    for name in ("Acme", "Peer"):
        assert runner.invoke(app, ["orgs", "add", name]).exit_code == 0
    path = write_log(ATTACKS)
    for name in ("Acme", "Peer", "Acme"):
        done = runner.invoke(app, ["logs", "scan", str(path), "--org", name, "--json"])
        assert done.exit_code == 0, done.output
    database = Database(os.environ["RENKEI_DATABASE_URL"])
    try:
        with database.session() as session:
            owners = {o.id: o.name for o in session.scalars(select(Organisation))}
        assert [(owners[org or 0], alerts) for org, _, alerts in _sources(database)] == [
            ("Acme", 2), ("Peer", 2)]
    finally:
        database.dispose()


def _submitter(database: Database, organisation_id: int) -> Principal:
    with database.session() as session:
        org = session.get(Organisation, organisation_id)
        assert org is not None
        return Principal(organisation_id=org.id, organisation_name=org.name, is_hub=False,
                         communities=frozenset(), role=Role.MEMBER_SUBMITTER,
                         scopes=frozenset({Scope.READ, Scope.SUBMIT}), user_id=None)


def test_an_upload_and_the_command_line_keep_a_scan_alike(
        database: Database, members: tuple[int, int], scanner: LogScanner,
        write_log: Callable[..., Path], clock: FixedClock,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """One member's log uploaded, then scanned on the command line for it: the same log,
    nothing stored twice, both scans audited alike; another member's upload of the same
    lines is a log of its own."""
    monkeypatch.setattr(upload, "scanner", lambda: scanner)
    acme, peer = members
    path = write_log(ATTACKS)
    with database.session() as session:
        uploaded = upload.scan_upload(session, clock, _submitter(database, acme), path,
                                      "C:\\logs\\access.log")
    assert uploaded.new_alerts == 2
    assert scan_logs([path], scanner, clock, database=database, organisation="Acme",
                     show_progress=False).stored == 0
    with database.session() as session:
        theirs = upload.scan_upload(session, clock, _submitter(database, peer), path, "x.log")
    assert (theirs.new_alerts, theirs.log_id != uploaded.log_id) == (2, True)
    assert _sources(database) == [(acme, str(path), 2), (peer, "x.log", 2)]
    with database.session() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "logs.scan")
                                 .order_by(AuditEvent.id)).all()
        assert [(e.target, e.organisation_id, e.source) for e in events] == [
            (f"log_source:{uploaded.log_id}", acme, "console"),
            (f"log_source:{uploaded.log_id}", acme, "cli"),
            (f"log_source:{theirs.log_id}", peer, "console")]
        assert len({frozenset(e.details) for e in events}) == 1
        assert [e.details["new_alerts"] for e in events] == [2, 0, 2]


def test_a_log_name_is_bounded_and_without_nul_on_every_scan(
        database: Database, clock: FixedClock) -> None:
    """Hostile names (the path of a file a member named), first stored and then renamed."""
    for name in ("first\x00.log", "again\x00" + "x" * 10_000):
        with database.session() as session:
            store.upsert_source(session, fingerprint="f" * 64, name=name, fmt="combined",
                                lines=1, at=clock.now(), organisation_id=None)
    [(_, stored, _)] = _sources(database)
    assert stored == "again\\x00" + "x" * (store.MAX_TEXT - 6)  # cut, then NUL made visible


def test_parallel_first_scans_of_logs_beginning_alike_make_two_logs(
        database: Database, members: tuple[int, int], clock: FixedClock) -> None:
    """Peer's first scan does not see Acme's log, written but not yet committed, and takes
    the plain key too: the unique index makes it wait, refuses it when Acme's commits, and
    Peer's log is made again under its scoped key (not a server error)."""
    import threading

    if database.engine.dialect.name != "postgresql":
        pytest.skip("SQLite writes one transaction at a time: the race cannot happen there")
    acme, peer = members
    kept: dict[str, int | None] = {}

    def first_scan(organisation_id: int, name: str) -> None:
        with database.session() as session:
            kept[name] = store.upsert_source(
                session, fingerprint="f" * 64, name=name, fmt="clf", lines=3,
                at=clock.now(), organisation_id=organisation_id).organisation_id

    with database.session() as session:  # Acme's first scan, held open
        store.upsert_source(session, fingerprint="f" * 64, name="acme.log", fmt="clf",
                            lines=3, at=clock.now(), organisation_id=acme)
        other = threading.Thread(target=first_scan, args=(peer, "peer.log"))
        other.start()
        other.join(0.5)  # Peer's insert now waits on Acme's key
    other.join(30)
    assert kept == {"peer.log": peer}
    assert {(o, n) for o, n, _ in _sources(database)} == {(acme, "acme.log"),
                                                          (peer, "peer.log")}
    with database.session() as session:
        fingerprints = {s.organisation_id: s.fingerprint
                        for s in session.scalars(select(store.LogSource))}
    assert fingerprints == {acme: "f" * 64,
                            peer: store.scoped_fingerprint("f" * 64, peer)}
