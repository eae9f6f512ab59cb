"""The hub's staff running the plan from the console: a public consultation from opening to
published results (approval by a second person), a new fiscal year, a framework loaded and
an audit campaign created and assessed; what members may not do or see; and hostile
uploads, each refused with why and without writing anything."""

from __future__ import annotations

import dataclasses

import pytest
import yaml
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select

from renkei.core import audit, members
from renkei.core.models import AuditEvent, Role
from renkei.plan import audits, consultation
from renkei.plan import status as statuses
from renkei.plan.frameworks import MAX_FRAMEWORK_BYTES, shipped_frameworks
from renkei.plan.load import dump_plan
from renkei.plan.store import ConsultationEvent, Framework, PlanYear
from tests.console.conftest import Hub, csrf_of
from tests.console.signed_in import browser

PLAN = statuses.shipped_plan()
FRAMEWORK = shipped_frameworks()[0]
RECEIVED = ("number,submitter,section,refs,summary,category,answer\n"
            "1,個人(1),2.3. (1),2.3(1),ペネトレーションテストの範囲を広げるべき。,,\n"
            '2,(株)例,全般,,"<script>alert(1)</script>\n二行目",その他,御意見として承ります。\n'
            ).encode()



@pytest.fixture(scope="module")
def drafter(hub: Hub) -> TestClient:
    return browser(hub, hub.add_user("hub", Role.HUB_ANALYST))


@pytest.fixture(scope="module")
def approver(hub: Hub) -> TestClient:
    return browser(hub, hub.add_user("hub", Role.HUB_ANALYST))


@pytest.fixture(scope="module")
def reader(hub: Hub) -> TestClient:
    return browser(hub, hub.member)


@pytest.fixture(scope="module")
def submitter(hub: Hub) -> TestClient:
    return browser(hub, hub.add_user("member", Role.MEMBER_SUBMITTER))


def _post(client: TestClient, path: str, data: dict[str, object] | None = None,
          files: list[tuple[str, tuple[str, bytes]]] | None = None) -> Response:
    """A form sent as a browser sends it: with the session's CSRF token."""
    token = csrf_of(client.get("/plan/comments"))
    return client.post(path, data={"csrf": token, **(data or {})}, files=files)


def _open(client: TestClient, key: str, year: int = 2015) -> None:
    answer = _post(client, "/plan/consultations", {"key": key, "title": f"Consultation {key}",
                                                   "year": str(year)})
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"/plan/consultations/{key}"


def _comment_file(client: TestClient, key: str, data: bytes, name: str) -> Response:
    return _post(client, f"/plan/consultations/{key}/import", files=[("file", (name, data))])


def _events(hub: Hub, key: str) -> list[str]:
    with hub.db.session() as session:
        return [e.kind for e in consultation.history(session, key)]


def _state(hub: Hub, key: str, number: int) -> str:
    with hub.db.session() as session:
        row = next(r for r in consultation.comments(session, key) if r.number == number)
        return consultation.state_of(row)


def _user_id(hub: Hub, client: TestClient) -> int:
    shown = client.get("/plan/comments").text
    email = shown.split('<span class="user">')[1].split("<")[0]
    with hub.db.session() as session:
        return members.require_user(session, email).id


# --- the consultation --------------------------------------------------------------------


def test_two_analysts_run_a_consultation_to_its_published_results(
        hub: Hub, drafter: TestClient, approver: TestClient, reader: TestClient) -> None:
    assert 'action="/plan/consultations"' in drafter.get("/plan/comments").text
    _open(drafter, "cs-web")
    page = drafter.get("/plan/consultations/cs-web").text
    assert 'action="/plan/consultations/cs-web/import"' in page
    imported = _comment_file(drafter, "cs-web", RECEIVED, "received.csv")
    assert imported.status_code == 200
    assert "2 comments added, 0 unchanged" in imported.text
    assert "&lt;script&gt;" in imported.text
    again = _comment_file(drafter, "cs-web", RECEIVED, "received.csv")
    assert "0 comments added, 2 unchanged" in again.text
    assert _state(hub, "cs-web", 2) == "drafted"  # a category and answer in the file

    base = "/plan/consultations/cs-web/comments"
    assert _post(drafter, f"{base}/1/category", {"category": "amendment"}).status_code == 303
    drafted = _post(drafter, f"{base}/1/draft", {"answer": "御指摘を踏まえ修正します。",
                                                 "changed": "yes"})
    assert drafted.status_code == 303
    assert drafted.headers["location"] == f"{base}/1"
    own = drafter.get(f"{base}/1").text
    assert "御指摘を踏まえ修正します。" in own
    assert f'action="{base}/1/approve"' not in own  # the drafter is told someone else approves
    refused = _post(drafter, f"{base}/1/approve")
    assert refused.status_code == 403
    assert "someone other than its drafter" in refused.text
    assert f'action="{base}/1/draft"' in refused.text  # the comment's page, with why
    assert _state(hub, "cs-web", 1) == "drafted"

    early = _post(drafter, "/plan/consultations/cs-web/publish")
    assert early.status_code == 409
    assert "not approved yet" in early.text
    assert reader.get("/plan/consultations/cs-web").status_code == 404

    assert f'action="{base}/1/approve"' in approver.get(f"{base}/1").text
    for number in (1, 2):
        assert _post(approver, f"{base}/{number}/approve").status_code == 303
        assert _state(hub, "cs-web", number) == "approved"
    staff_view = approver.get("/plan/consultations/cs-web", params={"state": "approved"}).text
    assert staff_view.count('<tr id="comment-') == 2
    published = _post(approver, "/plan/consultations/cs-web/publish")
    assert published.status_code == 303

    public = reader.get("/plan/consultations/cs-web")
    assert public.status_code == 200
    assert "御指摘を踏まえ修正します。" in public.text
    assert f'href="{base}/1"' not in public.text  # no link to the staff's comment pages
    results = reader.get("/plan/consultations/cs-web/results.yaml")
    assert results.status_code == 200
    document = yaml.safe_load(results.text)
    assert document["format"] == "renkei-comments/1"
    assert [c["changed"] for c in document["comments"]] == [True, False]
    assert "cs-web" in reader.get("/plan/comments").text

    after = drafter.get("/plan/consultations/cs-web").text
    assert "/import" not in after  # a published consultation no longer changes
    late = _post(drafter, f"{base}/1/draft", {"answer": "late"})
    assert late.status_code == 409
    assert "published" in late.text

    assert _events(hub, "cs-web") == ["create", "import", "import", "categorise", "draft",
                                      "approve", "approve", "publish"]
    drafter_id, approver_id = _user_id(hub, drafter), _user_id(hub, approver)
    with hub.db.session() as session:
        steps = session.scalars(select(AuditEvent).where(
            AuditEvent.target.like("cs-web%"))).all()
        actors = {(e.action, e.actor) for e in steps}
        assert ("plan.consultation.draft", f"user:{drafter_id}") in actors
        assert ("plan.consultation.approve", f"user:{approver_id}") in actors
        assert ("plan.consultation.approve", f"user:{drafter_id}") not in actors
        assert all(e.source.startswith("http:") for e in steps)


def test_redrafting_an_approved_answer_needs_approving_again(
        hub: Hub, drafter: TestClient, approver: TestClient) -> None:
    _open(drafter, "cs-redraft")
    _comment_file(drafter, "cs-redraft", RECEIVED, "received.csv")
    base = "/plan/consultations/cs-redraft/comments/2"
    assert _post(approver, f"{base}/approve").status_code == 303
    assert _state(hub, "cs-redraft", 2) == "approved"
    again = _post(approver, f"{base}/draft", {"answer": "書き直しました。"})
    assert again.status_code == 303
    assert _state(hub, "cs-redraft", 2) == "drafted"
    assert _post(approver, f"{base}/approve").status_code == 403
    assert _post(drafter, f"{base}/approve").status_code == 303


@pytest.mark.parametrize(("fields", "status", "message"), [
    ({"key": "a/b"}, 400, "letters, digits"),
    ({"key": ""}, 400, "letters, digits"),
    ({"year": "1999"}, 400, "between 2000 and 2100"),
    ({"year": "abc"}, 400, "between 2000 and 2100"),
    ({"title": "x" * 501}, 400, "longer than 500"),
    ({"key": "cs-dup"}, 409, "already exists"),
])
def test_a_bad_consultation_is_refused_with_the_form_again(
        hub: Hub, drafter: TestClient, fields: dict[str, str], status: int, message: str,
) -> None:
    if fields.get("key") == "cs-dup":
        _open(drafter, "cs-dup")
    with hub.db.session() as session:
        before = len(consultation.consultations(session))
    data = {"key": "cs-bad", "title": "typed title", "year": "2015"} | fields
    answer = _post(drafter, "/plan/consultations", data)
    assert answer.status_code == status
    assert message in answer.text
    assert 'action="/plan/consultations"' in answer.text
    if "title" not in fields:
        assert 'value="typed title"' in answer.text
    with hub.db.session() as session:
        assert len(consultation.consultations(session)) == before


@pytest.mark.parametrize(("fields", "status", "message"), [
    ({"category": "nice"}, 400, "no category nice"),
    ({"answer": "   "}, 400, "cannot be empty"),
    ({"answer": "a\x07b"}, 400, "control characters"),
    ({"answer": "x" * (consultation.MAX_ANSWER_CHARS + 1)}, 400, "longer than"),
])
def test_a_bad_step_is_refused_and_writes_nothing(
        hub: Hub, drafter: TestClient, fields: dict[str, str], status: int,
        message: str) -> None:
    if "cs-steps" not in _keys(hub):
        _open(drafter, "cs-steps")
        _comment_file(drafter, "cs-steps", RECEIVED, "received.csv")
    before = _events(hub, "cs-steps")
    step = "category" if "category" in fields else "draft"
    answer = _post(drafter, f"/plan/consultations/cs-steps/comments/1/{step}", fields)
    assert answer.status_code == status
    assert message in answer.text
    assert _events(hub, "cs-steps") == before
    assert _state(hub, "cs-steps", 1) == "received"
    assert drafter.get("/plan/consultations/cs-steps/comments/9").status_code == 404


def _keys(hub: Hub) -> set[str]:
    with hub.db.session() as session:
        return {c.key for c in consultation.consultations(session)}


HUGE_SUMMARY = ("number,submitter,summary\n1,個人(1)," + "長" * 20_001 + "\n").encode()


@pytest.mark.parametrize(("data", "name", "status", "message"), [
    ("number,submitter,summary\n1,個人(1),範囲\n".encode("shift_jis"), "c.csv", 400,
     "not UTF-8 text"),
    (b"format: renkei-comments/1\nyear: 2015\ncomments:\n- number: 1\n  submitter: [a,", "c.yaml",
     400, "not YAML"),
    (b"format: renkei-comments/1\nyear: 2015\ncomments:\n- number: 1\n  submitter: a\n",
     "c.yaml", 400, "missing summary"),
    (HUGE_SUMMARY, "c.csv", 400, "summary is longer than 20000 characters"),
    (("number,submitter,summary\n1," + "x" * 201 + ",y\n").encode(), "c.csv", 400,
     "submitter is longer than 200"),
    (b"number,submitter,summary\n1,a,b\n" + b"#" * consultation.MAX_IMPORT_BYTES, "c.csv", 413,
     "more than 4194304 bytes"),
    (b"", "c.csv", 400, "choose a file"),
    (b"number,submitter,summary,refs\n1,a,b,9.9\n", "c.csv", 400, "no plan node 9.9"),
])
def test_a_hostile_comment_file_is_refused_and_writes_nothing(
        hub: Hub, drafter: TestClient, data: bytes, name: str, status: int, message: str,
) -> None:
    if "cs-hostile" not in _keys(hub):
        _open(drafter, "cs-hostile")
    before = _events(hub, "cs-hostile")
    answer = _comment_file(drafter, "cs-hostile", data, name)
    assert answer.status_code == status
    assert message in answer.text
    assert 'action="/plan/consultations/cs-hostile/import"' in answer.text  # the form again
    assert _events(hub, "cs-hostile") == before
    with hub.db.session() as session:
        assert consultation.comments(session, "cs-hostile") == []


# --- what a member may not do or see --------------------------------------------------------


STAFF_POSTS = ["/plan/consultations", "/plan/consultations/cs-members/import",
               "/plan/consultations/cs-members/comments/1/category",
               "/plan/consultations/cs-members/comments/1/draft",
               "/plan/consultations/cs-members/comments/1/approve",
               "/plan/consultations/cs-members/publish", "/plan/years", "/plan/frameworks",
               "/plan/campaigns", "/plan/assessments/1/results"]


@pytest.fixture(scope="module")
def unpublished(hub: Hub, drafter: TestClient) -> str:
    """A consultation with a drafted answer no member may read."""
    _open(drafter, "cs-members")
    _comment_file(drafter, "cs-members", RECEIVED, "received.csv")
    return "cs-members"


@pytest.mark.parametrize("path", STAFF_POSTS)
def test_a_member_is_refused_every_staff_step(
        hub: Hub, reader: TestClient, submitter: TestClient, unpublished: str,
        path: str) -> None:
    fields = {"key": "cs-member-made", "year": "2016", "from": "2015", "category": "other",
              "answer": "member answer", "name": "member-campaign", "requirement": "G1.1",
              "result": "compliant", "framework": "renkei-example-baseline/2026"}
    upload = [("file", ("c.csv", RECEIVED))]
    before = _counts(hub)
    for client in (reader, submitter):
        answer = _post(client, path, fields, files=upload if "import" in path else None)
        assert answer.status_code == 403, (path, answer.text)
        assert "only the hub" in answer.text
    assert _counts(hub) == before
    with hub.db.session() as session:
        refused = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "console.forbidden", AuditEvent.target == path)).all()
        assert len(refused) >= 2


def _counts(hub: Hub) -> tuple[int, ...]:
    with hub.db.session() as session:
        return tuple(session.scalar(select(func.count()).select_from(table)) or 0
                     for table in (ConsultationEvent, PlanYear, Framework))


def test_a_member_never_sees_an_unpublished_answer(
        hub: Hub, reader: TestClient, submitter: TestClient, unpublished: str) -> None:
    secret = "御意見として承ります。"
    for client in (reader, submitter):
        listed = client.get("/plan/comments")
        assert "cs-members" not in listed.text
        for path, status in ((f"/plan/consultations/{unpublished}", 404),
                             (f"/plan/consultations/{unpublished}/results.yaml", 404),
                             (f"/plan/consultations/{unpublished}/comments/2", 403),
                             ("/plan/consultations/no-such/comments/2", 403)):
            answer = client.get(path)
            assert answer.status_code == status, path
            assert secret not in answer.text
    assert 'action="/plan/consultations"' not in reader.get("/plan/comments").text
    assert 'action="/plan/years"' not in reader.get("/plan/years").text
    assert 'action="/plan/frameworks"' not in reader.get("/plan/audits").text


# --- a new fiscal year ----------------------------------------------------------------------


def _years(hub: Hub) -> list[int]:
    with hub.db.session() as session:
        return [y for y, _title, _from in statuses.years(session)]


def _plan_file(year: int, *, reword: str | None = None, drop: str | None = None) -> bytes:
    nodes = tuple(dataclasses.replace(n, text=n.text + "（改）") if n.id == reword else n
                  for n in PLAN.nodes if n.id != drop)
    headlines = tuple(dataclasses.replace(h, measure_ids=tuple(m for m in h.measure_ids
                                                               if m != drop))
                      for h in PLAN.headlines)
    plan = dataclasses.replace(PLAN, year=year, nodes=nodes, headlines=headlines)
    return dump_plan(plan).encode()


def test_an_analyst_starts_a_fiscal_year_from_the_console(
        hub: Hub, drafter: TestClient, reader: TestClient) -> None:
    form = drafter.get("/plan/years").text
    assert 'action="/plan/years"' in form
    started = _post(drafter, "/plan/years", {"year": "2016", "from": "2015"})
    assert started.status_code == 200
    count = len(PLAN.measures())
    assert f"Fiscal year 2016 started: {count} carried, 0 reworded, 0 new" in started.text
    board = reader.get("/plan/", params={"year": "2016"}).text
    assert board.count("<small>carried</small>") == count
    again = _post(drafter, "/plan/years", {"year": "2016", "from": "2015"})
    assert again.status_code == 409
    assert "already been started" in again.text

    first, second = PLAN.measures()[0].id, PLAN.measures()[1].id
    changed = _post(drafter, "/plan/years", {"year": "2017", "from": "2016"},
                    files=[("plan", ("plan-2017.yaml", _plan_file(2017, reword=first,
                                                                  drop=second)))])
    assert changed.status_code == 200, changed.text
    assert f"{count - 2} carried, 1 reworded, 0 new, 1 no longer in the plan" in changed.text
    assert second in changed.text
    assert _years(hub)[-2:] == [2016, 2017]
    with hub.db.session() as session:
        event = audit.search(session, action="plan.year.start", limit=1)[0]
        assert event.actor == f"user:{_user_id(hub, drafter)}"


HUGE_ID = _plan_file(2030).replace(b"id: '1'", b"id: '" + b"1" * 101 + b"'", 1)
PLAN_TEXT = _plan_file(2030).decode()
TRUNCATED = PLAN_TEXT[:PLAN_TEXT.index("id: '2.1'") + len("id: '2.")].encode()  # in a quote


@pytest.mark.parametrize(("fields", "plan", "status", "message"), [
    ({}, _plan_file(2030).decode().encode("shift_jis", "replace"), 400, "not UTF-8 text"),
    ({}, TRUNCATED, 400, "a quote that is never closed"),
    ({}, _plan_file(2031), 400, "for 2031, not 2030"),
    ({}, HUGE_ID, 400, "longer than 100 characters"),
    ({}, b"x" * (4 * 1024 * 1024 + 1), 413, "more than 4194304 bytes"),
    ({"from": "2040"}, None, 400, "after the one it starts from"),
    ({"from": "2029"}, None, 404, "has not been started"),
    ({"year": "junk"}, None, 400, "between 2000 and 2100"),
])
def test_a_bad_new_year_is_refused_and_writes_nothing(
        hub: Hub, drafter: TestClient, fields: dict[str, str], plan: bytes | None, status: int,
        message: str) -> None:
    before = _years(hub)
    files = [("plan", ("plan.yaml", plan))] if plan is not None else None
    answer = _post(drafter, "/plan/years", {"year": "2030", "from": "2015"} | fields,
                   files=files)
    assert answer.status_code == status
    assert message in answer.text
    assert 'action="/plan/years"' in answer.text
    assert _years(hub) == before


# --- frameworks, campaigns, results ---------------------------------------------------------


def test_an_analyst_loads_a_framework_and_runs_a_campaign(
        hub: Hub, drafter: TestClient, reader: TestClient) -> None:
    data = FRAMEWORK.read_bytes()
    loaded = _post(drafter, "/plan/frameworks", files=[("file", (FRAMEWORK.name, data))])
    assert loaded.status_code == 200
    assert "Framework renkei-example-baseline version 2026 loaded: 14 requirements." \
        in loaded.text
    again = _post(drafter, "/plan/frameworks", files=[("file", (FRAMEWORK.name, data))])
    assert "already loaded; nothing changed" in again.text
    assert 'action="/plan/campaigns"' in again.text

    made = _post(drafter, "/plan/campaigns", {
        "name": "fy2016-web", "title": "FY2016", "year": "2016",
        "framework": "renkei-example-baseline/2026", "orgs": ["member"]})
    assert made.status_code == 303
    duplicate = _post(drafter, "/plan/campaigns", {
        "name": "fy2016-web", "title": "kept title", "year": "2016",
        "framework": "renkei-example-baseline/2026"})
    assert duplicate.status_code == 409
    assert "already exists" in duplicate.text
    assert 'value="kept title"' in duplicate.text
    unknown = _post(drafter, "/plan/campaigns", {"name": "x", "year": "2016",
                                                 "framework": "nothing/1"})
    assert unknown.status_code == 404
    assert "no framework nothing" in unknown.text

    with hub.db.session() as session:
        campaign = audits.get_campaign(session, "fy2016-web")
        (assessment, org), = audits.assessments(session, campaign)
        assert org.name == "member"
    path = f"/plan/assessments/{assessment.id}"
    assert f'action="{path}/results"' in drafter.get(path).text
    recorded = _post(drafter, f"{path}/results", {
        "requirement": "G1.1", "result": "partially_compliant",
        "findings": "責任者が <b>未指名</b>", "recommendations": "指名する"})
    assert recorded.status_code == 303
    mine = reader.get(path)
    assert "責任者が &lt;b&gt;未指名&lt;/b&gt;" in mine.text
    assert 'class="outcome outcome-partially_compliant"' in mine.text
    assert f'action="{path}/results"' not in mine.text
    bad = _post(drafter, f"{path}/results", {"requirement": "G1", "result": "compliant",
                                             "findings": "typed"})
    assert bad.status_code == 404  # a group is not assessed
    assert "no requirement G1" in bad.text
    assert ">typed</textarea>" in bad.text
    assert _post(drafter, f"{path}/results", {"requirement": "G1.1",
                                              "result": "great"}).status_code == 400
    assert _post(drafter, "/plan/assessments/99999/results", {}).status_code == 404


FRAME = "format: renkei-framework/1\nkey: k{n}\nversion: '1'\ntitle: {title}\nrequirements:\n"


@pytest.mark.parametrize(("data", "status", "message"), [
    ((FRAME.format(n=1, title="例") + "- {ref: A, title: 例}\n").encode("shift_jis"), 400,
     "not UTF-8 text"),
    ((FRAME.format(n=2, title="t") + "- {ref: A, title: [a").encode(), 400, "not YAML"),
    ((FRAME.format(n=3, title="t" * 1001) + "- {ref: A, title: a}\n").encode(), 400,
     "title is longer than 1000 characters"),
    ((FRAME.format(n=4, title="t") + "- {ref: A, title: a, text: " + "x" * 20_001 + "}\n")
     .encode(), 400, "text is longer than 20000 characters"),
    (b"#" * (MAX_FRAMEWORK_BYTES + 1), 413, "more than 2097152 bytes"),
    ((FRAME.format(n=5, title="t") + "- {ref: A, title: other}\n").encode(), 409,
     "already loaded with other content"),
])
def test_a_hostile_framework_file_is_refused_and_writes_nothing(
        hub: Hub, drafter: TestClient, data: bytes, status: int, message: str) -> None:
    if status == 409:  # k5 version 1 first, then other content under that version
        first = (FRAME.format(n=5, title="t") + "- {ref: A, title: a}\n").encode()
        assert _post(drafter, "/plan/frameworks",
                     files=[("file", ("f.yaml", first))]).status_code == 200
    before = _counts(hub)
    answer = _post(drafter, "/plan/frameworks", files=[("file", ("f.yaml", data))])
    assert answer.status_code == status
    assert message in answer.text
    assert 'action="/plan/frameworks"' in answer.text
    assert _counts(hub) == before


def test_the_staff_pages_speak_japanese(hub: Hub, unpublished: str) -> None:
    client = browser(hub, hub.add_user("hub", Role.HUB_ANALYST))
    client.post("/language", data={"csrf": csrf_of(client.get("/")), "lang": "ja"})
    assert "意見募集を開始" in client.get("/plan/comments").text
    assert "寄せられた意見の取込み" in client.get(f"/plan/consultations/{unpublished}").text
    assert "承認する" in client.get(f"/plan/consultations/{unpublished}/comments/2").text
    assert "新しい年度を開始" in client.get("/plan/years").text
    refused = _post(client, f"/plan/consultations/{unpublished}/import",
                    files=[("file", ("c.csv", "番号".encode("shift_jis")))])
    assert "UTF-8 のテキストではありません" in refused.text
