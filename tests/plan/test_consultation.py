"""A new consultation: import, categorise, draft, approve (four eyes), publish."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from renkei.core.time import FixedClock
from renkei.plan import consultation as service
from renkei.plan.errors import PlanConflictError, PlanError, PlanForbiddenError, PlanNotFoundError
from renkei.plan.load import PlanDataError, load_comments
from renkei.plan.model import Category

CLOCK = FixedClock(datetime(2016, 6, 1, tzinfo=UTC))
CSV = ("number,submitter,section,refs,summary\n"
       "1,個人(1),2.3. (1),2.3(1),ペネトレーションテストの範囲を広げるべき。\n"
       '2,(株)例,全般,,"<script>alert(1)</script>\n二行目"\n').encode()


@pytest.fixture
def opened(db_session: Session) -> str:
    service.create(db_session, CLOCK, "cs2015", "サイバーセキュリティ2015（案）", 2015,
                   actor="alice")
    service.import_comments(db_session, CLOCK, "cs2015", CSV, "received.csv", actor="alice")
    return "cs2015"


def test_the_whole_workflow_ends_in_a_published_comment_file(
        db_session: Session, opened: str, tmp_path: Path) -> None:
    for number, category in ((1, Category.AMENDMENT), (2, Category.OTHER)):
        service.categorise(db_session, CLOCK, opened, number, category, actor="alice")
        service.draft(db_session, CLOCK, opened, number, "御意見として承ります。",
                      changed=number == 1, actor="alice")
    with pytest.raises(PlanConflictError, match="not approved"):
        service.publish(db_session, CLOCK, opened, actor="carol")
    with pytest.raises(PlanForbiddenError, match="other than its drafter"):
        service.approve(db_session, CLOCK, opened, 1, actor="alice")
    for number in (1, 2):
        service.approve(db_session, CLOCK, opened, number, actor="bob")
    service.publish(db_session, CLOCK, opened, actor="carol")
    _consultation, comments, summary = service.results(db_session, opened)
    assert summary.by_category[Category.AMENDMENT] == 1
    assert summary.changed[Category.AMENDMENT] == 1
    assert comments[0].refs == ("2.3(1)",)
    published = tmp_path / "results.yaml"
    published.write_text(service.results_yaml(db_session, opened), encoding="utf-8")
    loaded, _ = load_comments(published)
    assert [c.answer for c in loaded] == ["御意見として承ります。"] * 2
    kinds = [e.kind for e in service.history(db_session, opened)]
    assert kinds[:2] == ["create", "import"]
    assert kinds.count("approve") == 2
    assert kinds[-1] == "publish"
    with pytest.raises(PlanConflictError, match="published"):
        service.draft(db_session, CLOCK, opened, 1, "変更", actor="alice")


def test_redrafting_takes_the_approval_away(db_session: Session, opened: str) -> None:
    service.categorise(db_session, CLOCK, opened, 1, Category.POLICY, actor="alice")
    service.draft(db_session, CLOCK, opened, 1, "案1", actor="alice")
    row = service.approve(db_session, CLOCK, opened, 1, actor="bob")
    assert service.state_of(row) == "approved"
    row = service.draft(db_session, CLOCK, opened, 1, "案2", actor="bob")
    assert service.state_of(row) == "drafted"
    with pytest.raises(PlanForbiddenError):
        service.approve(db_session, CLOCK, opened, 1, actor="bob")
    assert service.state_of(service.approve(db_session, CLOCK, opened, 1, actor="alice")) == "approved"


def test_approval_needs_a_draft_and_a_category(db_session: Session, opened: str) -> None:
    with pytest.raises(PlanError, match="no drafted answer"):
        service.approve(db_session, CLOCK, opened, 2, actor="bob")
    service.draft(db_session, CLOCK, opened, 2, "回答", actor="alice")
    with pytest.raises(PlanError, match="no category"):
        service.approve(db_session, CLOCK, opened, 2, actor="bob")
    with pytest.raises(PlanNotFoundError, match="no comment 9"):
        service.categorise(db_session, CLOCK, opened, 9, Category.OTHER, actor="a")
    with pytest.raises(PlanError, match="no category nice"):
        service.parse_category("nice")


def test_importing_again_is_idempotent_but_a_changed_comment_is_refused(
        db_session: Session, opened: str) -> None:
    again = service.import_comments(db_session, CLOCK, opened, CSV, "received.csv", actor="a")
    assert (again.added, again.unchanged) == (0, 2)
    changed = CSV.replace("広げるべき".encode(), "狭めるべき".encode())
    with pytest.raises(PlanConflictError, match="comment 1"):
        service.import_comments(db_session, CLOCK, opened, changed, "received.csv", actor="a")


@pytest.mark.parametrize(("data", "name", "message"), [
    (b"number,summary\n1,x\n", "c.csv", "no column submitter"),
    (b"number,submitter,summary,refs\n1,a,x,9.9\n", "c.csv", "no plan node 9.9"),
    (b"number,submitter,summary,category\n1,a,x,nice\n", "c.csv", "unknown category"),
    (b"number,submitter,summary\n1,a,x\n1,b,y\n", "c.csv", "appears twice"),
    (b"format: renkei-plan/1\n", "c.yaml", "expected format"),
    (b"\xff\xfe", "c.csv", "not UTF-8"),
    (b"number,submitter,summary\n1,a," + b"x" * 20_001 + b"\n", "c.csv",
     "line 2 \\(number 1\\): summary is longer than 20000 characters"),
    (b"number,submitter,summary\n1," + b"a" * 201 + b",x\n", "c.csv",
     "submitter is longer than 200"),
])
def test_bad_comment_files_are_refused(db_session: Session, opened: str, data: bytes, name: str,
                                       message: str) -> None:
    with pytest.raises(PlanDataError, match=message):
        service.import_comments(db_session, CLOCK, opened, data, name, actor="a")


def test_oversized_imports_and_unknown_consultations(db_session: Session, opened: str) -> None:
    with pytest.raises(PlanError, match="at most"):
        service.import_comments(db_session, CLOCK, opened, b"x" * (service.MAX_IMPORT_BYTES + 1),
                                "c.csv", actor="a")
    with pytest.raises(PlanNotFoundError):
        service.import_comments(db_session, CLOCK, "nope", CSV, "c.csv", actor="a")
    with pytest.raises(PlanNotFoundError, match="no consultation"):
        service.results(db_session, opened)
    with pytest.raises(PlanConflictError):
        service.create(db_session, CLOCK, opened, "", 2015, actor="a")
    for key in ("a/b", "a b", "a%2F", "a?b", ""):  # a key is a URL's path segment
        with pytest.raises(PlanError, match="letters, digits"):
            service.create(db_session, CLOCK, key, "", 2015, actor="a")
    assert service.create(db_session, CLOCK, "cs-2016_v1.0", "", 2015, actor="a").key


def test_the_2015_comments_import_with_their_categories_as_drafts(db_session: Session) -> None:
    from renkei.plan.load import _data

    service.create(db_session, CLOCK, "again", "", 2015, actor="alice")
    data = _data("comments-2015.yaml").read_bytes()
    assert service.import_comments(db_session, CLOCK, "again", data, "c.yaml",
                                   actor="alice").added == 105
    states = {service.state_of(row) for row in service.comments(db_session, "again")}
    assert states == {"drafted"}
