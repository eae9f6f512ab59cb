"""The plan pages as members and the hub's staff use them: the measures board, a measure's
history and evidence, changing a status, audits year on year, public comments and
consultations, the yearly report and the overview's panel; and what a member may not do."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

import renkei
from renkei.core import audit, i18n, members, orgs
from renkei.core.models import AuditEvent, Role
from renkei.plan import audits, board, consultation
from renkei.plan import status as statuses
from renkei.plan.frameworks import shipped_frameworks
from renkei.plan.model import AuditOutcome, Category, Status
from tests.console.conftest import Hub, csrf_of
from tests.message_templates import page_templates, templates

TEMPLATES = Path(renkei.__file__).parent / "console" / "templates" / "plan"
PLAN = statuses.shipped_plan()
FIRST = PLAN.measures()[0].id
POLICE = next(m.id for m in PLAN.measures() if "警察庁" in m.owners)
RECEIVED = ("number,submitter,section,refs,summary\n"
            "1,個人(1),2.3. (1),2.3(1),範囲を広げるべき。\n").encode()


@pytest.fixture(scope="module")
def seeded(hub: Hub) -> Hub:
    """Two statuses with evidence, two audit campaigns of two members, a published and an
    open consultation."""
    clock = hub.clock
    with hub.db.session() as session:
        orgs.add(session, clock, "other")
        statuses.set_status(session, clock, FIRST, 2015, Status.DONE,
                            note="done <b>early</b>", links=["https://example.org/proof"],
                            files=[statuses.EvidenceFile("proof.txt", b"evidence bytes")],
                            actor="test")
        statuses.set_status(session, clock, POLICE, 2015, Status.DELAYED, note="waiting",
                            actor="test")
        shipped = shipped_frameworks()[0]
        audits.load_framework(session, clock, shipped.read_bytes(), shipped.name, actor="test")
        for name, year, outcome in (("audit-2014", 2014, AuditOutcome.NON_COMPLIANT),
                                    ("audit-2015", 2015, AuditOutcome.COMPLIANT)):
            campaign = audits.create_campaign(session, clock, name, "renkei-example-baseline",
                                              year, organisations=["member", "other"],
                                              actor="test")
            for assessment, org in audits.assessments(session, campaign):
                result = outcome if org.name == "member" else AuditOutcome.PARTIAL
                audits.record_result(session, clock, assessment, "G1.1", result,
                                     findings=f"{org.name} finding <i>x</i>", actor="test")
        for key, publish in (("done-2015", True), ("open-2016", False)):
            consultation.create(session, clock, key, f"Consultation {key}", 2015, actor="a")
            consultation.import_comments(session, clock, key, RECEIVED, "c.csv", actor="a")
            consultation.categorise(session, clock, key, 1, Category.AMENDMENT, actor="a")
            consultation.draft(session, clock, key, 1, f"answer of {key}", changed=True,
                               actor="a")
            if publish:
                consultation.approve(session, clock, key, 1, actor="b")
                consultation.publish(session, clock, key, actor="b")
    return hub


def _client(hub: Hub, email: str) -> TestClient:
    client = hub.client()
    hub.sign_in(client, email)
    return client


@pytest.fixture(scope="module")
def admin(seeded: Hub) -> TestClient:
    return _client(seeded, seeded.admin)


@pytest.fixture(scope="module")
def reader(seeded: Hub) -> TestClient:
    return _client(seeded, seeded.member)


@pytest.fixture(scope="module")
def analyst(seeded: Hub) -> TestClient:
    return _client(seeded, seeded.add_user("hub", Role.HUB_ANALYST))


def test_the_pages_need_a_signed_in_user(seeded: Hub) -> None:
    client = seeded.client()
    for path in ("/plan/", "/plan/audits", "/plan/comments", "/plan/report",
                 "/plan/evidence/1", f"/plan/measure?id={FIRST}"):
        answer = client.get(path)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/login")


def test_the_board_shows_every_measure_coloured_by_status(reader: TestClient) -> None:
    page = reader.get("/plan/")
    assert page.status_code == 200
    assert page.text.count('<tr class="measure">') == len(PLAN.measures())
    assert 'class="status status-done"' in page.text
    assert 'class="status status-delayed"' in page.text
    assert 'class="chart"' in page.text
    assert 'href="/plan/report' not in page.text  # the report is the hub's staff's


def test_the_board_filters_by_ministry_and_status(reader: TestClient) -> None:
    police = reader.get("/plan/", params={"owner": "警察庁"}).text
    count = sum(1 for m in PLAN.measures() if "警察庁" in m.owners)
    assert police.count('<tr class="measure">') == count
    delayed = reader.get("/plan/", params={"status": "delayed"}).text
    assert delayed.count('<tr class="measure">') == 1
    assert f">{POLICE}</a>" in delayed
    none = reader.get("/plan/", params={"status": "none", "owner": "警察庁"}).text
    assert none.count('<tr class="measure">') == count - 1
    for params in ({"status": "junk"}, {"year": "abc"}, {"owner": "<script>"}, {"year": "-1"}):
        assert reader.get("/plan/", params=params).status_code == 200
    assert reader.get("/plan/", params={"year": "2016"}).status_code == 404


def test_a_measure_shows_its_history_and_evidence(reader: TestClient) -> None:
    page = reader.get("/plan/measure", params={"id": FIRST, "year": "2015"})
    assert page.status_code == 200
    assert "done &lt;b&gt;early&lt;/b&gt;" in page.text
    assert 'href="https://example.org/proof"' in page.text
    assert 'name="status"' not in page.text  # a member may not change it
    link = page.text.split('href="/plan/evidence/')[1].split('"')[0]
    file = reader.get(f"/plan/evidence/{link}")
    assert file.content == b"evidence bytes"
    assert file.headers["content-disposition"].startswith("attachment")
    assert reader.get("/plan/evidence/99999").status_code == 404
    assert reader.get("/plan/measure", params={"id": "9.9(9)(ア)"}).status_code == 404


def test_the_hub_staff_change_a_status(seeded: Hub, analyst: TestClient) -> None:
    page = analyst.get("/plan/measure", params={"id": FIRST})
    assert 'name="status"' in page.text
    csrf = csrf_of(page)
    answer = analyst.post("/plan/measure/status", data={
        "csrf": csrf, "id": FIRST, "year": "2015", "status": "in_progress",
        "note": "reopened", "links": "https://example.org/a\n\nhttps://example.org/b",
        "date": "2026-03-01"}, files=[("files", ("scan.pdf", b"%PDF-1.4"))])
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/plan/measure?id=")
    shown = analyst.get(answer.headers["location"]).text
    assert "reopened" in shown
    assert "scan.pdf" in shown
    assert "https://example.org/b" in shown
    with seeded.db.session() as session:
        event = audit.search(session, action="plan.status.set", limit=1)[0]
        user = members.require_user(session, analyst_email(seeded))
        assert event.actor == f"user:{user.id}"
        assert event.source.startswith("http:")


def analyst_email(hub: Hub) -> str:
    with hub.db.session() as session:
        return next(u.email for u in members.list_users(session) if u.role is Role.HUB_ANALYST)


@pytest.mark.parametrize(("fields", "message"), [
    ({"links": "javascript:alert(1)"}, "http or https"),
    ({"date": "yesterday"}, "YYYY-MM-DD"),
    ({"date": "2999-01-01"}, "between"),
    ({"status": "finished"}, "unknown status"),
    ({"note": "a\x07b"}, "control characters"),  # (a NUL is dropped from any form)
])
def test_a_bad_status_change_is_refused_and_writes_nothing(
        seeded: Hub, admin: TestClient, fields: dict[str, str], message: str) -> None:
    before = _events(seeded)
    data = {"csrf": csrf_of(admin.get("/plan/")), "id": POLICE, "year": "2015",
            "status": "done"} | fields
    answer = admin.post("/plan/measure/status", data=data)
    assert answer.status_code == 400
    assert message in answer.text
    assert _events(seeded) == before


def _events(hub: Hub) -> int:
    with hub.db.session() as session:
        return len(statuses.history(session, 2015, POLICE))


def test_a_member_may_not_change_a_status(seeded: Hub, reader: TestClient) -> None:
    submitter = _client(seeded, seeded.add_user("member", Role.MEMBER_SUBMITTER))
    for client in (reader, submitter):
        answer = client.post("/plan/measure/status", data={
            "csrf": csrf_of(client.get("/plan/")), "id": POLICE, "year": "2015",
            "status": "done"})
        assert answer.status_code == 403
    assert "only the hub" in answer.text
    with seeded.db.session() as session:
        refused = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "console.forbidden",
            AuditEvent.target == "/plan/measure/status")).all()
        assert len(refused) >= 2
        assert statuses.history(session, 2015, POLICE)[-1][0].status == "delayed"
    no_csrf = reader.post("/plan/measure/status", data={"id": POLICE, "year": "2015"})
    assert no_csrf.status_code == 403


def test_a_member_reads_its_own_audits_only(seeded: Hub, reader: TestClient) -> None:
    page = reader.get("/plan/audits").text
    assert "audit-2014" in page
    assert "audit-2015" in page
    assert "<td>member</td>" in page
    assert "<td>other</td>" not in page
    with seeded.db.session() as session:
        campaign = audits.get_campaign(session, "audit-2015")
        ids = {org.name: a.id for a, org in audits.assessments(session, campaign)}
    mine = reader.get(f"/plan/assessments/{ids['member']}")
    assert mine.status_code == 200
    assert "member finding &lt;i&gt;x&lt;/i&gt;" in mine.text
    theirs = reader.get(f"/plan/assessments/{ids['other']}")
    assert theirs.status_code == 404
    assert "other finding" not in theirs.text
    compared = reader.get("/plan/audits/compare", params={"earlier": "audit-2014",
                                                          "later": "audit-2015"})
    assert compared.status_code == 200
    assert 'class="trend trend-improved"' in compared.text
    other = reader.get("/plan/audits/compare", params={"earlier": "audit-2014",
                                                       "later": "audit-2015", "org": "other"})
    assert other.status_code == 404


def test_the_hub_staff_read_every_audit(admin: TestClient) -> None:
    page = admin.get("/plan/audits").text
    assert "<td>member</td>" in page
    assert "<td>other</td>" in page
    assert 'action="/plan/audits/compare"' in page
    for hostile in ("\x00", "audit-2014\x00"):  # a NUL in a URL is refused before any page
        assert admin.get("/plan/audits/compare", params={
            "earlier": hostile, "later": "audit-2015", "org": "oth\x00er"}).status_code == 400
    compared = admin.get("/plan/audits/compare", params={"earlier": "audit-2014",
                                                         "later": "audit-2015", "org": "other"})
    assert compared.status_code == 200
    assert "trend-same" in compared.text


def test_the_2015_comments_with_their_figures(reader: TestClient) -> None:
    shipped = board.shipped_comments()
    page = reader.get("/plan/comments").text
    assert f"{len(shipped.comments)} comments." in page
    assert page.count('<tr id="comment-') == 25
    for line in shipped.differences:
        assert line.replace("'", "&#39;") in page
    support = reader.get("/plan/comments", params={"category": "support"}).text
    wanted = sum(1 for c in shipped.comments if c.category is Category.SUPPORT)
    assert f"{wanted} comments." in support
    last = reader.get("/plan/comments", params={"page": "5"}).text
    assert last.count('<tr id="comment-') == len(shipped.comments) - 100
    assert reader.get("/plan/comments", params={"page": "x", "category": "<x>"}).status_code \
        == 200


def test_a_member_reads_published_consultations_only(reader: TestClient,
                                                     admin: TestClient) -> None:
    page = reader.get("/plan/comments").text
    assert "done-2015" in page
    assert "open-2016" not in page
    published = reader.get("/plan/consultations/done-2015")
    assert published.status_code == 200
    assert "answer of done-2015" in published.text
    hidden = reader.get("/plan/consultations/open-2016")
    assert hidden.status_code == 404
    assert "answer of open-2016" not in hidden.text
    assert "open-2016" in admin.get("/plan/comments").text
    staff = admin.get("/plan/consultations/open-2016")
    assert staff.status_code == 200
    assert "answer of open-2016" in staff.text
    assert "drafted" in staff.text
    assert admin.get("/plan/consultations/nothing").status_code == 404
    assert admin.get("/plan/consultations/open-2016%00").status_code == 400  # NUL refused
    assert admin.get("/plan/consultations/%00").status_code == 400


def test_the_yearly_report_is_for_the_hub_staff(reader: TestClient, admin: TestClient) -> None:
    assert reader.get("/plan/report").status_code == 403
    assert 'href="/plan/report?year=2015"' in admin.get("/plan/").text
    report = admin.get("/plan/report", params={"year": "2015", "lang": "ja"})
    assert report.status_code == 200
    assert report.headers["content-disposition"] == 'attachment; filename="plan-report-2015.html"'
    assert "年次" in report.text or "評価" in report.text


def test_the_overview_shows_progress_and_delayed_measures(reader: TestClient) -> None:
    page = reader.get("/").text
    panel = page.split('id="panel-plan-progress"')[1].split("</section>")[0]
    assert 'class="chart"' in panel
    assert f">{POLICE}</a>" in panel


def test_pages_speak_japanese(seeded: Hub) -> None:
    client = _client(seeded, seeded.add_user("member"))
    client.post("/language", data={"csrf": csrf_of(client.get("/")), "lang": "ja"})
    assert "施策ボード" in client.get("/plan/").text
    assert "計画の進捗" in client.get("/").text


@pytest.mark.parametrize("path", sorted(TEMPLATES.glob("*.html")), ids=lambda p: p.name)
def test_every_page_word_has_japanese(path: Path) -> None:
    japanese = i18n.messages("ja")
    missing = [t for t in page_templates(path) if t not in japanese]
    assert not missing, f"add to src/renkei/plan/locale/ja/plan.po: {missing}"


def test_every_message_of_the_pages_has_japanese() -> None:
    japanese = i18n.messages("ja")
    words = [word for source in sorted((Path(renkei.__file__).parent / "plan").glob("pages*.py"))
             for word in templates(source, {"gettext_noop": 0, "t": 0, "PlanError": 0,
                                            "UploadTooLargeError": 0})]
    words += [consultation.OPEN, consultation.PUBLISHED]
    assert [w for w in words if w not in japanese] == []


def test_board_lines_keep_the_headings_above_the_measures_shown() -> None:
    shown = [s for s in _blank_statuses() if s.measure.id == POLICE]
    lines = board.lines(PLAN, shown)
    assert [line.node.id for line in lines][-1] == POLICE
    depths = [line.depth for line in lines]
    assert depths == sorted(set(depths))
    assert depths[0] == 0
    assert depths[-1] == 3
    assert all(line.item is None for line in lines[:-1])
    assert board.counts(shown)["none"] == 1
    assert board.narrow(_blank_statuses(), owner="警察庁", status="done") == []


def _blank_statuses() -> list[statuses.MeasureStatus]:
    return [statuses.MeasureStatus(m, 2015, None) for m in PLAN.measures()]
