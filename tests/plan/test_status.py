"""Statuses per measure and fiscal year: events, evidence, "as of", and new years."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from renkei.core.i18n import translator
from renkei.core.models import AuditEvent
from renkei.core.time import FixedClock
from renkei.plan import status as service
from renkei.plan.errors import PlanConflictError, PlanDataError, PlanError, PlanNotFoundError
from renkei.plan.load import dump_plan
from renkei.plan.model import Node, NodeKind, Plan, Status
from renkei.plan.store import StatusEvent

PENTEST = "2.3(1)(キ)"
EARLY = FixedClock(datetime(2015, 10, 1, 9, 0, tzinfo=UTC))
LATE = FixedClock(datetime(2016, 2, 1, 9, 0, tzinfo=UTC))


def _by_id(session: Session, year: int, as_of: datetime | None = None) -> dict[str, service.MeasureStatus]:
    return {s.measure.id: s for s in service.statuses(session, year, as_of)}


def test_every_change_is_an_event_and_the_newest_counts(db_session: Session) -> None:
    assert _by_id(db_session, 2015)[PENTEST].status is None
    service.set_status(db_session, EARLY, PENTEST, 2015, Status.IN_PROGRESS,
                       note="first tests done", actor="alice")
    service.set_status(db_session, LATE, PENTEST, 2015, Status.DELAYED,
                       note="procurement late", actor="bob")
    now = _by_id(db_session, 2015)[PENTEST]
    assert (now.status, now.note, now.actor) == (Status.DELAYED, "procurement late", "bob")
    history = service.history(db_session, 2015, PENTEST)
    assert [e.status for e, _ in history] == ["in_progress", "delayed"]
    audited = db_session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "plan.status.set"))
    assert audited == 2


def test_as_of_shows_the_records_as_they_stood(db_session: Session) -> None:
    service.set_status(db_session, EARLY, PENTEST, 2015, Status.IN_PROGRESS, actor="a")
    service.set_status(db_session, LATE, PENTEST, 2015, Status.DONE, actor="a")
    between = datetime(2015, 12, 31, 23, 59, tzinfo=UTC)
    assert _by_id(db_session, 2015, between)[PENTEST].status is Status.IN_PROGRESS
    assert _by_id(db_session, 2015, EARLY.now() - timedelta(seconds=1))[PENTEST].status is None
    assert _by_id(db_session, 2015)[PENTEST].status is Status.DONE


def test_evidence_links_files_and_their_own_date(db_session: Session) -> None:
    event = service.set_status(
        db_session, LATE, PENTEST, 2015, Status.DONE, actor="a",
        links=["https://example.go.jp/report.pdf"],
        files=[service.EvidenceFile("../../etc/minutes.txt", b"minutes")],
        evidence_date=date(2015, 12, 10))
    (shown,) = [s for s in service.statuses(db_session, 2015) if s.measure.id == PENTEST]
    link, file = shown.evidence
    assert link.url == "https://example.go.jp/report.pdf"
    assert (file.filename, file.size) == ("minutes.txt", 7)
    assert link.evidence_date == date(2015, 12, 10)
    assert link.added_at == LATE.now()
    assert service.evidence_file(db_session, file.id).content == b"minutes"
    with pytest.raises(PlanNotFoundError):
        service.evidence_file(db_session, link.id)
    assert event.id


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"links": ["javascript:alert(1)"]}, "http or https"),
    ({"links": ["https://exa mple.org"]}, "http or https"),
    ({"links": ["file:///etc/passwd"]}, "http or https"),
    ({"files": [service.EvidenceFile("big.bin", b"x" * (service.MAX_EVIDENCE_BYTES + 1))]},
     "larger than"),
    ({"files": [service.EvidenceFile("empty.txt", b"")]}, "is empty"),
    ({"note": "x" * (service.MAX_NOTE_CHARS + 1)}, "longer than"),
    ({"note": "bidi \u202e trick"}, "control characters"),
    ({"evidence_date": date(2030, 1, 1)}, "evidence date"),
])
def test_hostile_inputs_are_refused_before_anything_is_written(
        db_session: Session, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(PlanError, match=message):
        service.set_status(db_session, LATE, PENTEST, 2015, Status.DONE, actor="a",
                           **kwargs)  # type: ignore[arg-type]
    assert db_session.scalar(select(func.count()).select_from(StatusEvent)) == 0


def test_unknown_measures_statuses_and_years(db_session: Session) -> None:
    with pytest.raises(PlanNotFoundError, match=r"no measure 9\.9"):
        service.set_status(db_session, LATE, "9.9(ア)", 2015, Status.DONE, actor="a")
    with pytest.raises(PlanNotFoundError, match=r"no measure 2\.3$"):
        service.set_status(db_session, LATE, "2.3", 2015, Status.DONE, actor="a")  # a section
    with pytest.raises(PlanError, match="unknown status finished"):
        service.parse_status("finished")
    assert service.parse_status("in-progress") is Status.IN_PROGRESS
    with pytest.raises(PlanNotFoundError, match="has not been started"):
        service.set_status(db_session, LATE, PENTEST, 2016, Status.DONE, actor="a")
    with pytest.raises(PlanError, match="between"):
        service.statuses(db_session, 1999)


def test_a_new_year_copies_the_last_with_changes_marked(db_session: Session) -> None:
    service.set_status(db_session, LATE, PENTEST, 2015, Status.DELAYED, note="late", actor="a")
    plan = service.shipped_plan()
    # the 2016 plan: one measure reworded, one removed, one added
    removed = "1.1(1)(ア)"
    nodes = [n for n in plan.nodes if n.id != removed]
    nodes = [Node(n.id, n.kind, n.number, n.title, n.text + "（改）", n.owners, n.parent, n.page)
             if n.id == PENTEST else n for n in nodes]
    nodes.append(Node("5(カ)", NodeKind.MEASURE, "(カ)", text="新しい施策", owners=("内閣官房",),
                      parent="5"))
    text = dump_plan(Plan(2016, "サイバーセキュリティ2016", tuple(nodes)))
    started = service.start_year(db_session, FixedClock(datetime(2016, 4, 1, tzinfo=UTC)), 2016,
                                 2015, plan_text=text, actor="a")
    assert (started.reworded, started.new, started.removed) == (1, 1, [removed])
    assert started.carried == len(plan.measures()) - 2
    now = _by_id(db_session, 2016)
    assert (now[PENTEST].status, now[PENTEST].note, now[PENTEST].mark) == (
        Status.DELAYED, "late", "reworded")
    assert (now["5(カ)"].status, now["5(カ)"].mark) == (Status.PLANNED, "new")
    assert removed not in now
    service.set_status(db_session, FixedClock(datetime(2016, 5, 1, tzinfo=UTC)), PENTEST, 2016,
                       Status.DONE, actor="a")
    assert _by_id(db_session, 2016)[PENTEST].mark == "changed"
    assert [y for y, _, _ in service.years(db_session)] == [2015, 2016]
    with pytest.raises(PlanConflictError):
        service.start_year(db_session, LATE, 2016, 2015, actor="a")


def test_a_new_year_with_a_bad_or_wrong_plan_is_refused(db_session: Session) -> None:
    with pytest.raises(PlanError, match="plan: expected format: renkei-plan/1"):
        service.start_year(db_session, LATE, 2016, 2015, plan_text="format: nope\n", actor="a")
    with pytest.raises(PlanDataError) as caught:  # not wrapped: its message translates whole
        service.start_year(db_session, LATE, 2016, 2015, plan_text="title: a: b\n", actor="a")
    assert caught.value.translate(translator("ja")).startswith(
        "plan: YAML として読めません(1 行目 9 文字目): ここでは「:」でキーを始められません")
    plan = service.shipped_plan()
    with pytest.raises(PlanError, match="is for 2015, not 2016"):
        service.start_year(db_session, LATE, 2016, 2015, plan_text=dump_plan(plan), actor="a")
    with pytest.raises(PlanError, match="comes after"):
        service.start_year(db_session, LATE, 2014, 2015, actor="a")
    assert service.years(db_session)[-1][0] == 2015
