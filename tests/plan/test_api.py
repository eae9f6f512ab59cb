"""The plan REST API through the real application: members read, the hub's staff change;
a member never changes a status nor reads another organisation's assessment."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from renkei.app import create_app
from renkei.core import members, orgs
from renkei.core.config import load_config
from renkei.core.db import Database
from renkei.core.models import Role
from renkei.core.pdf import pdf_available
from renkei.core.time import SystemClock
from renkei.plan.frameworks import shipped_frameworks

PENTEST = "2.3(1)(キ)"
API = "/api/v1/plan"


@dataclass
class Hub:
    client: TestClient
    tokens: dict[str, str]

    def as_(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


@pytest.fixture
def hub(tmp_path: Path, empty_database_url: str) -> Iterator[Hub]:
    clock = SystemClock()
    db = Database(empty_database_url)
    tokens = {}
    with db.session() as s:
        made = {"hub": orgs.add(s, clock, "Hub", hub=True), "mic": orgs.add(s, clock, "総務省"),
                "meti": orgs.add(s, clock, "経済産業省")}
        for who, scopes in (("hub", "read,submit,admin"), ("mic", "read,submit"),
                            ("meti", "read,submit")):
            tokens[who] = members.create_token(s, clock, organisation=made[who],
                                               scopes=scopes).token
        for email, role in (("alice@hub.example", Role.HUB_ANALYST),
                            ("bob@hub.example", Role.HUB_ANALYST)):
            user = members.add_user(s, clock, email=email, organisation=made["hub"], role=role,
                                    password="correct horse battery")
            tokens[email.split("@")[0]] = members.create_token(
                s, clock, organisation=made["hub"], user=user, scopes="read,submit").token
    db.dispose()
    config = load_config({"RENKEI_HOME": str(tmp_path), "RENKEI_DATABASE_URL": empty_database_url})
    with TestClient(create_app(config, validation_workers=1)) as client:
        yield Hub(client, tokens)


def test_status_set_by_the_hub_read_by_members(hub: Hub) -> None:
    body = {"measure": PENTEST, "year": 2015, "status": "delayed", "note": "<b>late</b>",
            "evidence": ["https://example.go.jp/a"], "evidence_date": "2015-12-01",
            "files": [{"name": "minutes.txt", "content_base64": base64.b64encode(b"hi").decode()}]}
    made = hub.client.post(f"{API}/status", json=body, headers=hub.as_("hub"))
    assert made.status_code == 201, made.text
    shown = hub.client.get(f"{API}/status?year=2015", headers=hub.as_("mic"))
    assert shown.status_code == 200
    (item,) = [s for s in shown.json() if s["measure"] == PENTEST]
    assert (item["status"], item["note"]) == ("delayed", "<b>late</b>")
    file_id = next(e["id"] for e in item["evidence"] if e["kind"] == "file")
    download = hub.client.get(f"{API}/evidence/{file_id}", headers=hub.as_("mic"))
    assert download.content == b"hi"
    assert download.headers["content-type"] == "application/octet-stream"
    assert download.headers["content-disposition"].startswith("attachment")
    before = hub.client.get(f"{API}/status?year=2015&as_of=2000-01-01T00:00:00Z",
                            headers=hub.as_("mic")).json()
    assert next(s for s in before if s["measure"] == PENTEST)["status"] is None
    history = hub.client.get(f"{API}/status/history", params={"measure": PENTEST, "year": 2015},
                             headers=hub.as_("mic"))
    assert [h["status"] for h in history.json()] == ["delayed"]


def test_a_member_cannot_change_a_status_or_start_a_year(hub: Hub) -> None:
    body = {"measure": PENTEST, "year": 2015, "status": "done"}
    refused = hub.client.post(f"{API}/status", json=body, headers=hub.as_("mic"))
    assert refused.status_code == 403
    assert "hub's staff" in refused.json()["description"]
    refused_ja = hub.client.post(f"{API}/status", json=body,
                                 headers={**hub.as_("mic"), "Accept-Language": "ja"})
    assert "ハブの職員" in refused_ja.json()["description"]
    assert hub.client.post(f"{API}/years", json={"year": 2016, "from_year": 2015},
                           headers=hub.as_("mic")).status_code == 403
    assert hub.client.get(f"{API}/status?year=2015", headers={}).status_code == 401
    shown = hub.client.get(f"{API}/status?year=2015", headers=hub.as_("mic")).json()
    assert next(s for s in shown if s["measure"] == PENTEST)["status"] is None


def test_unknown_measures_statuses_and_bad_links_are_400_or_404(hub: Hub) -> None:
    for body, code in (({"measure": "9(ア)", "year": 2015, "status": "done"}, 404),
                       ({"measure": PENTEST, "year": 2015, "status": "finished"}, 400),
                       ({"measure": PENTEST, "year": 2015, "status": "done",
                         "evidence": ["javascript:alert(1)"]}, 400),
                       ({"measure": PENTEST, "year": 2015, "status": "done",
                         "files": [{"name": "x", "content_base64": "!!"}]}, 400)):
        answer = hub.client.post(f"{API}/status", json=body, headers=hub.as_("hub"))
        assert answer.status_code == code, answer.text


def test_oversized_bodies_are_refused_before_the_route(hub: Hub) -> None:
    big = base64.b64encode(b"x" * (5 * 1024 * 1024)).decode()
    body = {"measure": PENTEST, "year": 2015, "status": "done",
            "files": [{"name": "big.bin", "content_base64": big}]}
    assert hub.client.post(f"{API}/status", json=body, headers=hub.as_("hub")).status_code == 413


def test_audits_members_read_their_own_assessment_only(hub: Hub) -> None:
    framework = shipped_frameworks()[0].read_bytes()
    assert hub.client.post(f"{API}/frameworks?name=f.yaml", content=framework,
                           headers=hub.as_("mic")).status_code == 403
    loaded = hub.client.post(f"{API}/frameworks?name=f.yaml", content=framework,
                             headers=hub.as_("hub"))
    assert loaded.status_code == 201, loaded.text
    bad = hub.client.post(f"{API}/frameworks?name=f.yaml", content=b"format: [",
                          headers=hub.as_("hub"))
    assert bad.status_code == 400
    campaign = hub.client.post(f"{API}/campaigns", headers=hub.as_("hub"), json={
        "name": "fy2015", "framework": loaded.json()["key"], "year": 2015}).json()
    ids = {a["organisation"]: a["id"] for a in campaign["assessments"]}
    assert set(ids) == {"総務省", "経済産業省"}
    result = {"requirement": "G1.1", "result": "non_compliant", "findings": "no owner named"}
    assert hub.client.post(f"{API}/assessments/{ids['総務省']}/results", json=result,
                           headers=hub.as_("mic")).status_code == 403
    assert hub.client.post(f"{API}/assessments/{ids['総務省']}/results", json=result,
                           headers=hub.as_("hub")).status_code == 201
    own = hub.client.get(f"{API}/assessments/{ids['総務省']}", headers=hub.as_("mic"))
    assert own.status_code == 200
    assert own.json()["counts"]["non_compliant"] == 1
    other = hub.client.get(f"{API}/assessments/{ids['総務省']}", headers=hub.as_("meti"))
    assert other.status_code == 404
    listed = hub.client.get(f"{API}/campaigns/fy2015/assessments", headers=hub.as_("meti"))
    assert [a["organisation"] for a in listed.json()] == ["経済産業省"]
    assert len(hub.client.get(f"{API}/campaigns/fy2015/assessments",
                              headers=hub.as_("hub")).json()) == 2
    compared = hub.client.get(f"{API}/audits/compare", headers=hub.as_("meti"), params={
        "earlier": "fy2015", "later": "fy2015", "org": "総務省"})
    assert compared.status_code == 404


def test_consultation_four_eyes_and_publication(hub: Hub) -> None:
    assert hub.client.post(f"{API}/consultations", json={"key": "cs", "year": 2015},
                           headers=hub.as_("hub")).status_code == 201
    csv = "number,submitter,summary\n1,個人(1),意見です。\n".encode()
    imported = hub.client.post(f"{API}/consultations/cs/comments?name=c.csv", content=csv,
                               headers=hub.as_("hub"))
    assert imported.json() == {"added": 1, "unchanged": 0}
    assert hub.client.get(f"{API}/consultations/cs/comments",
                          headers=hub.as_("mic")).status_code == 403
    step = f"{API}/consultations/cs/comments/1"
    assert hub.client.post(f"{step}/category", json={"category": "policy"},
                           headers=hub.as_("alice")).status_code == 200
    assert hub.client.post(f"{step}/draft", json={"answer": "参考とします。"},
                           headers=hub.as_("alice")).status_code == 200
    same = hub.client.post(f"{step}/approve", headers=hub.as_("alice"))
    assert same.status_code == 403
    assert hub.client.post(f"{step}/approve", headers=hub.as_("mic")).status_code == 403
    assert hub.client.get(f"{API}/consultations/cs/results",
                          headers=hub.as_("mic")).status_code == 404
    assert hub.client.post(f"{step}/approve", headers=hub.as_("bob")).json()["state"] == "approved"
    assert hub.client.post(f"{API}/consultations/cs/publish",
                           headers=hub.as_("hub")).status_code == 200
    published = hub.client.get(f"{API}/consultations/cs/results", headers=hub.as_("mic")).json()
    assert published["summary"]["by_category"]["policy"] == 1
    assert [c["key"] for c in hub.client.get(f"{API}/consultations",
                                             headers=hub.as_("mic")).json()] == ["cs"]


def test_the_report_is_for_the_hub_s_staff(hub: Hub) -> None:
    assert hub.client.get(f"{API}/report?year=2015", headers=hub.as_("mic")).status_code == 403
    answer = hub.client.get(f"{API}/report?year=2015&lang=ja", headers=hub.as_("hub"))
    assert answer.status_code == 200
    assert "年次評価報告" in answer.text
    assert hub.client.get(f"{API}/report?year=2016",
                          headers=hub.as_("hub")).status_code == 404
    assert hub.client.get(f"{API}/report?year=2015&format=doc",
                          headers=hub.as_("hub")).status_code == 400
    if pdf_available():
        answer = hub.client.get(f"{API}/report?year=2015&format=pdf", headers=hub.as_("hub"))
        assert answer.headers["content-type"] == "application/pdf"
        assert answer.content.startswith(b"%PDF-")


def test_numbers_and_times_out_of_range_are_refused_by_name(hub: Hub) -> None:
    """Each of these was a server error (tests/test_openapi_fuzz.py and its probes)."""
    headers, too_big = hub.as_("hub"), 2**31  # past PostgreSQL's INTEGER

    def problems(method: str, path: str, **kwargs: object) -> list[str]:
        response = hub.client.request(method, f"{API}{path}", headers=headers, **kwargs)
        assert response.status_code == 400, response.text
        return [p["where"] for p in response.json()["details"]["problems"]]

    assert problems("GET", f"/evidence/{too_big}") == ["path.evidence_id"]
    assert problems("GET", f"/assessments/{too_big}") == ["path.assessment_id"]
    assert problems("POST", f"/consultations/c1/comments/{too_big}/approve") == ["path.number"]
    assert problems("GET", "/status", params={"as_of": "0001-01-01T00:00:00+01:00"}) == [
        "query.as_of"]
    opened = hub.client.post(f"{API}/consultations", json={"key": "c1", "year": 2026},
                             headers=headers)
    assert opened.status_code == 201, opened.text
    for number in ("'²'", "99999999999999999999"):
        yaml = (f"format: renkei-comments/1\ncomments:\n- number: {number}\n"
                "  submitter: Acme\n  summary: Fine\n")
        response = hub.client.post(f"{API}/consultations/c1/comments", content=yaml.encode(),
                                   headers=headers)
        assert response.status_code == 400, response.text
        assert response.json()["description"] == (
            "comments.yaml: comments[0]: number must be a whole number up to 2147483647")
    response = hub.client.post(f"{API}/consultations/c1/comments?name=c.csv",
                               content=b"number,submitter,summary\n" + b"9" * 5000 + b",a,s\n",
                               headers=headers)
    assert response.status_code == 400, response.text


def test_a_nul_character_in_a_file_is_named(hub: Hub) -> None:
    """YAML's "\\0" made a text PostgreSQL cannot keep: a server error there."""
    framework = (b'format: renkei-framework/1\nkey: k\nversion: "1"\ntitle: T\n'
                 b'requirements: [{ref: a, title: "t\\0"}]\n')
    response = hub.client.post(f"{API}/frameworks?name=f.yaml", content=framework,
                               headers=hub.as_("hub"))
    assert response.status_code == 400, response.text
    assert response.json()["description"] == (
        "f.yaml: requirements[0] (a): title holds a NUL character")


def test_a_file_that_is_not_yaml_or_csv_is_refused_naming_the_line(hub: Hub) -> None:
    """The reason is ours, in the caller's language, and the place is in ``details`` too."""
    framework = b"format: renkei-framework/1\nkey: k\nversion: '1'\ntitle: Baseline: 2026\n"
    for language, said in (("en", "f.yaml: not YAML (line 4, column 16): a ':' where no key"),
                           ("ja", "f.yaml: YAML として読めません(4 行目 16 文字目): ここでは「:」")):
        refused = hub.client.post(f"{API}/frameworks?name=f.yaml", content=framework,
                                  headers={**hub.as_("hub"), "Accept-Language": language})
        assert refused.status_code == 400, refused.text
        assert refused.json()["description"].startswith(said)
        assert refused.json()["details"] == {"line": 4, "column": 16}
        assert "mapping values" not in refused.text  # PyYAML's own words stay in the server
    assert hub.client.post(f"{API}/consultations", json={"key": "cs-broken", "year": 2015},
                           headers=hub.as_("hub")).status_code == 201
    comments = b"format: renkei-comments/1\ncomments:\n- number: 1\n  summary: 'open\n"
    refused = hub.client.post(f"{API}/consultations/cs-broken/comments?name=c.yaml",
                              content=comments, headers=hub.as_("hub"))
    assert refused.status_code == 400, refused.text
    assert refused.json()["description"] == (
        "c.yaml: not YAML (line 4, column 12): a quote that is never closed")
    started = hub.client.post(f"{API}/years", headers=hub.as_("hub"), json={
        "year": 2016, "from_year": 2015, "plan_yaml": "format: renkei-plan/1\nyear: [2016\n"})
    assert started.status_code == 400, started.text
    assert started.json()["description"].startswith("plan: not YAML (line 3, column 1): the "
                                                    "list that '[' opens on line 2")
    csv = b'number,submitter,summary\n1,a,"' + b"x\n" * 70_000
    refused = hub.client.post(f"{API}/consultations/cs-broken/comments?name=c.csv",
                              content=csv, headers=hub.as_("hub"))
    assert refused.status_code == 400, refused.text
    assert refused.json()["description"].startswith("c.csv: not CSV (line 2): a field longer")
