"""The logs pages through the real app: a member uploads and scans a log, sees its alerts,
one alert, the report and the overview's chart; another member, and a member reader, see
and may do only what is theirs; every word has Japanese."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import renkei
from renkei.core import i18n, orgs
from renkei.core.models import Role
from renkei.logs import pages as logs_pages
from renkei.logs import upload
from tests.console.conftest import Hub, csrf_of
from tests.message_templates import page_templates, templates

TEMPLATES = Path(renkei.__file__).parent / "console" / "templates" / "logs"


def line(target: str, *, src: str = "198.51.100.23", status: int = 200, size: int = 1234,
         when: str = "10/Mar/2026:13:55:36 +0900") -> str:
    return f'{src} - - [{when}] "GET {target} HTTP/1.1" {status} {size} "-" "Mozilla/5.0"'


ATTACKS = "\n".join([
    line("/index.html", src="192.0.2.1"),
    line("/item.php?id=1%27%20UNION%20SELECT%20password%20FROM%20users--"),
    line("/search?q=%3Cscript%3Ealert(1)%3C/script%3E", when="11/Mar/2026:01:00:00 +0900"),
    line("/download?file=../../../../etc/passwd", size=2400),
    line("/about.html", src="192.0.2.1"),
]) + "\n"


@pytest.fixture(scope="module")
def submitter(hub: Hub) -> str:
    return hub.add_user("member", Role.MEMBER_SUBMITTER)


@pytest.fixture(scope="module")
def scanned(hub: Hub, submitter: str) -> tuple[TestClient, str]:
    """A member submitter who has scanned ATTACKS through the page: (client, report path)."""
    client = hub.client()
    hub.sign_in(client, submitter)
    answer = client.post("/logs/scan", data={"csrf": csrf_of(client.get("/logs/"))},
                         files={"file": ("C:\\logs\\access.log", ATTACKS.encode(), "text/plain")})
    assert answer.status_code == 303, answer.text
    return client, answer.headers["location"]


def _other_member(hub: Hub) -> TestClient:
    with hub.db.session() as session:
        if orgs.get_by_name(session, "other") is None:
            orgs.add(session, hub.clock, "other")
    client = hub.client()
    hub.sign_in(client, hub.add_user("other", Role.MEMBER_SUBMITTER))
    return client


def test_a_member_scans_an_upload_and_sees_its_alerts_and_report(
        hub: Hub, scanned: tuple[TestClient, str]) -> None:
    client, report = scanned
    assert re.fullmatch(r"/logs/sources/\d+", report)
    page = client.get(report)
    assert page.status_code == 200
    assert "access.log" in page.text
    assert "C:\\" not in page.text
    assert 'src="data:image/svg+xml;base64,' in page.text
    listing = client.get("/logs/alerts")
    assert listing.status_code == 200
    assert "198.51.100.23" in listing.text
    assert "SQL injection" in listing.text
    sqli = client.get("/logs/alerts", params={"category": "sqli"}).text
    assert "Cross-site scripting" not in sqli.split("<tbody>")[1]
    first = re.search(r'href="/logs/alerts/(\d+)"', listing.text)
    assert first is not None
    detail = client.get(f"/logs/alerts/{first.group(1)}")
    assert detail.status_code == 200
    assert "Cross-site scripting" in detail.text
    assert "%3Cscript%3E" in detail.text
    download = client.get(f"{report}/report.html")
    assert download.status_code == 200
    assert download.headers["content-disposition"].startswith("attachment")


def test_the_overview_panel_draws_alerts_per_day(hub: Hub,
                                                 scanned: tuple[TestClient, str]) -> None:
    client, _ = scanned
    page = client.get("/")
    panel = page.text.split('id="panel-logs"')[1].split("</section>")[0]
    found = re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', panel)
    assert found is not None
    assert base64.b64decode(found.group(1)).startswith(b"<svg")
    assert "may have succeeded" in panel


def test_filters_by_source_and_outcome_and_pages(hub: Hub,
                                                  scanned: tuple[TestClient, str]) -> None:
    client, _ = scanned
    none = client.get("/logs/alerts", params={"src": "203.0.113.250"}).text
    assert "No alerts match." in none
    assert client.get("/logs/alerts", params={"outcome": "unknown", "page": 3}).status_code == 200
    assert client.get("/logs/alerts", params={"page": 0}).status_code == 400
    assert client.get("/logs/alerts", params={"category": "<script>"}).status_code == 200


def test_another_member_sees_none_of_it(hub: Hub, scanned: tuple[TestClient, str]) -> None:
    owner, report = scanned
    alert_id = re.search(r'href="/logs/alerts/(\d+)"', owner.get("/logs/alerts").text)
    assert alert_id is not None
    other = _other_member(hub)
    assert "198.51.100.23" not in other.get("/logs/alerts").text
    assert other.get(f"/logs/alerts/{alert_id.group(1)}").status_code == 404
    assert other.get(report).status_code == 404
    assert other.get(f"{report}/report.html").status_code == 404
    assert "198.51.100.23" not in other.get("/").text
    assert "access.log" not in other.get("/logs/").text


def test_the_same_log_uploaded_by_another_member_stays_theirs(
        hub: Hub, scanned: tuple[TestClient, str]) -> None:
    owner, report = scanned
    other = _other_member(hub)
    answer = other.post("/logs/scan", data={"csrf": csrf_of(other.get("/logs/"))},
                        files={"file": ("mine.log", ATTACKS.encode(), "text/plain")})
    assert answer.status_code == 303
    assert answer.headers["location"] != report
    assert "mine.log" not in owner.get(report).text
    assert "mine.log" in other.get(answer.headers["location"]).text


def test_the_hub_sees_every_log_and_scans_for_a_member(
        hub: Hub, scanned: tuple[TestClient, str]) -> None:
    _, report = scanned
    staff = hub.client()
    hub.sign_in(staff, hub.admin)
    index = staff.get("/logs/")
    assert "access.log" in index.text
    assert 'name="organisation"' in index.text
    assert staff.get(report).status_code == 200
    bad = staff.post("/logs/scan", data={"csrf": csrf_of(index), "organisation": "999999"},
                     files={"file": ("x.log", ATTACKS.encode(), "text/plain")})
    assert bad.status_code == 400
    assert "choose one of the organisations offered" in bad.text


def test_a_member_reader_reads_but_may_not_scan(hub: Hub) -> None:
    client = hub.client()
    hub.sign_in(client, hub.member)
    index = client.get("/logs/")
    assert index.status_code == 200
    assert 'action="/logs/scan"' not in index.text
    answer = client.post("/logs/scan", data={"csrf": csrf_of(index)},
                         files={"file": ("a.log", ATTACKS.encode(), "text/plain")})
    assert answer.status_code == 400
    assert "your role may read alerts but not scan logs" in answer.text


@pytest.mark.parametrize(("name", "body", "message"), [
    ("a.log.gz", b"\x1f\x8b\x08\x00rest", "upload the plain log"),
    ("a.log", b"", "the file is empty"),
    ("a.log", b"\x00\x01 not a log at all\n", "not a recognised access log"),
])
def test_hostile_or_wrong_uploads_are_refused(hub: Hub, submitter: str, name: str, body: bytes,
                                               message: str) -> None:
    client = hub.client()
    hub.sign_in(client, submitter)
    answer = client.post("/logs/scan", data={"csrf": csrf_of(client.get("/logs/"))},
                         files={"file": (name, body, "text/plain")})
    assert answer.status_code == 400
    assert message in answer.text


def test_a_scan_needs_the_csrf_token_and_a_file(hub: Hub, submitter: str) -> None:
    client = hub.client()
    hub.sign_in(client, submitter)
    refused = client.post("/logs/scan", files={"file": ("a.log", ATTACKS.encode())})
    assert refused.status_code == 403
    empty = client.post("/logs/scan", data={"csrf": csrf_of(client.get("/logs/"))})
    assert empty.status_code == 400
    assert "choose a log file to upload" in empty.text


def test_an_upload_over_the_bound_is_refused(hub: Hub, submitter: str, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(upload, "MAX_UPLOAD_BYTES", 100)
    client = hub.client()
    hub.sign_in(client, submitter)
    answer = client.post("/logs/scan", data={"csrf": csrf_of(client.get("/logs/"))},
                         files={"file": ("big.log", ATTACKS.encode(), "text/plain")})
    assert answer.status_code == 400
    assert "at most" in answer.text


def test_not_signed_in_goes_to_sign_in(hub: Hub) -> None:
    answer = hub.client().get("/logs/alerts")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login")


def test_the_pages_speak_japanese(hub: Hub, scanned: tuple[TestClient, str]) -> None:
    client = hub.client()
    email = hub.add_user("member", Role.MEMBER_SUBMITTER)
    hub.sign_in(client, email)
    client.post("/language", data={"lang": "ja", "csrf": csrf_of(client.get("/logs/")),
                                   "next": "/logs/"})
    assert "ウェブサーバーのログ" in client.get("/logs/").text
    assert "SQLインジェクション" in client.get("/logs/alerts").text


@pytest.mark.parametrize("path", sorted(TEMPLATES.glob("*.html")), ids=lambda p: p.name)
def test_every_page_word_has_japanese(path: Path) -> None:
    japanese = i18n.messages("ja")
    missing = [t for t in page_templates(path) if t not in japanese]
    assert not missing, f"add to src/renkei/logs/locale/ja/logs.po: {missing}"


@pytest.mark.parametrize("module", [logs_pages, upload], ids=lambda m: m.__name__)
def test_every_message_has_japanese(module: object) -> None:
    japanese = i18n.messages("ja")
    path = Path(str(getattr(module, "__file__", "")))
    found = templates(path, {"gettext_noop": 0, "UploadError": 0, "UserError": 0, "t": 0})
    missing = [t for t in found if t not in japanese]
    assert not missing, f"add to src/renkei/logs/locale/ja/logs.po: {missing}"


def test_a_burst_s_evidence_reads_in_japanese() -> None:
    from renkei.core.i18n import translator
    from renkei.logs.aggregate import BURST_EVIDENCE, BURST_RULE
    from renkei.logs.pages import evidence_text

    stored = BURST_EVIDENCE.format(count=13, first=10, window=300)
    ja = translator("ja")
    assert evidence_text(ja, BURST_RULE, stored) == "ログイン試行 13 回（最初の 10 回が 300 秒以内）"
    assert evidence_text(ja, "RK-SQLI-1", stored) == stored, "a request's text is as sent"
    assert evidence_text(ja, "RK-SQLI-1", "' OR 1=1 --") == "' OR 1=1 --"
