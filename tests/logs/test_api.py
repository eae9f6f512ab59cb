"""The logs REST API through the real application: a member scans an access log sent as the
body and reads its logs, alerts and counts; another member learns nothing of them, not by
id, not in lists or counts; a reader reads but may not scan; the hub's staff see every log
and scan for a member; wrong bodies and query values are refused with a 4xx that says why."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import renkei
from renkei.core import i18n
from renkei.logs import api as logs_api
from tests.console.test_logs_pages import ATTACKS, line  # the console's upload test's log
from tests.hub_fixtures import ApiHub, api_client, seed_hub
from tests.message_templates import templates

TOKENS = {"hub": "read,submit", "acme": "read,submit", "peer": "read,submit",
          "acme-reader": "read"}
BASE = "/api/v1/logs"


class Hub(ApiHub):
    def scan(self, who: str, body: bytes = ATTACKS.encode(), *, status: int = 201,
             **params: str) -> dict[str, Any]:
        response = self.client.post(f"{BASE}/scan", params=params, content=body,
                                    headers={**self.as_(who), "Content-Type": "text/plain"})
        assert response.status_code == status, response.text
        return dict(response.json())

    def get(self, who: str, path: str, **params: object) -> tuple[int, Any]:
        response = self.client.get(f"{BASE}{path}", params=params, headers=self.as_(who))
        return response.status_code, response.json()


@pytest.fixture
def hub(tmp_path: Path, empty_database_url: str) -> Iterator[Hub]:
    tokens = seed_hub(empty_database_url, ("hub", "acme", "peer"), TOKENS)
    with api_client(tmp_path, empty_database_url) as client:
        yield Hub(client, tokens, empty_database_url)


def test_a_member_scans_a_log_and_lists_its_alerts(hub: Hub) -> None:
    made = hub.scan("acme", name="C:\\logs\\access.log")
    assert made["name"] == "access.log", "a client's path is cut to the file's name"
    assert (made["format"], made["organisation"], made["lines"]) == ("combined", "Acme Bank", 5)
    assert made["findings"] == made["new_alerts"] >= 3
    assert made["problems"] == 0
    status, listed = hub.get("acme", "/logs")
    assert status == 200
    assert [(log["id"], log["name"], log["alerts"]) for log in listed] == [
        (made["id"], "access.log", made["new_alerts"])]

    status, page = hub.get("acme", "/alerts", category="sqli")
    assert status == 200
    assert (page["page"], page["more"]) == (1, False)
    (sqli,) = page["alerts"]
    assert sqli["category"] == "sqli"
    assert sqli["src"] == "198.51.100.23"
    assert "UNION" in sqli["target"]
    assert (sqli["log_id"], sqli["line"], sqli["organisation"]) == (made["id"], 2, "Acme Bank")
    assert hub.get("acme", f"/alerts/{sqli['id']}") == (200, sqli)

    status, summary = hub.get("acme", "/summary")
    assert status == 200
    assert (summary["alerts"], summary["logs"], summary["sources"]) == (made["new_alerts"], 1, 1)
    assert len(summary["daily"]["days"]) == 30
    assert sum(summary["daily"]["by_category"]["sqli"]) == 1

    again = hub.scan("acme", name="access.log")
    assert (again["id"], again["new_alerts"]) == (made["id"], 0), "the same log, nothing new"


def test_another_member_sees_none_of_it(hub: Hub) -> None:
    made = hub.scan("acme")
    _, page = hub.get("acme", "/alerts")
    alert_id = page["alerts"][0]["id"]
    assert hub.get("peer", "/logs") == (200, [])
    assert hub.get("peer", "/alerts") == (200, {"alerts": [], "page": 1, "more": False})
    assert hub.get("peer", "/alerts", log=made["id"])[1]["alerts"] == []
    status, body = hub.get("peer", f"/alerts/{alert_id}")
    missing = hub.get("peer", "/alerts/999999")
    assert (status, body) == missing, "another's alert answers exactly as a missing one"
    assert status == 404
    _, summary = hub.get("peer", "/summary")
    assert (summary["alerts"], summary["logs"], summary["daily"]["days"]) == (0, 0, [])


def test_a_reader_reads_but_may_not_scan(hub: Hub) -> None:
    hub.scan("acme")
    refused = hub.scan("acme-reader", status=403)
    assert refused["description"] == "this call needs the submit scope"
    status, page = hub.get("acme-reader", "/alerts")
    assert status == 200
    assert page["alerts"], "a reader reads its organisation's alerts"
    assert len(hub.get("acme-reader", "/logs")[1]) == 1


def test_the_hub_s_staff_see_every_log_and_scan_for_a_member(hub: Hub) -> None:
    acme = hub.scan("acme", name="access.log")
    for_peer = hub.scan("hub", name="/var/log/nginx/peer.log", organisation="Peer Bank")
    assert for_peer["organisation"] == "Peer Bank"
    assert for_peer["id"] != acme["id"], "the same record for another member is another log"
    own = hub.scan("hub", body=(ATTACKS + line("/x", src="192.0.2.9")).encode(), name="hub.log")
    assert own["organisation"] is None, "without a member it is the hub's own log"
    naming_the_hub = hub.scan("hub", name="h.log", organisation="Hub")
    assert (naming_the_hub["id"], naming_the_hub["organisation"]) == (own["id"], None), (
        "naming the hub is the hub's own log: the same record, the same log, renamed")

    _, listed = hub.get("hub", "/logs")
    assert {(log["name"], log["organisation"]) for log in listed} == {
        ("access.log", "Acme Bank"), ("peer.log", "Peer Bank"), ("h.log", None)}
    assert [log["name"] for log in hub.get("peer", "/logs")[1]] == ["peer.log"]
    _, every = hub.get("hub", "/alerts")
    assert {a["organisation"] for a in every["alerts"]} == {"Acme Bank", "Peer Bank", None}
    assert hub.get("hub", "/summary")[1]["logs"] == 3

    unknown = hub.scan("hub", organisation="Nobody", status=404)
    assert unknown["description"] == "no organisation Nobody"
    # a member may name only itself; another member is answered as a made-up name
    assert hub.scan("acme", organisation="Peer Bank", status=404)["description"] == (
        "no organisation Peer Bank")
    assert hub.scan("acme", organisation="Acme Bank")["organisation"] == "Acme Bank"


def test_alerts_filter_by_outcome_source_and_log_and_page(hub: Hub) -> None:
    many = "\n".join(line(f"/item.php?id={n}%27%20UNION%20SELECT%20password%20FROM%20users--")
                     for n in range(60)) + "\n"
    big = hub.scan("acme", many.encode(), name="big.log")
    small = hub.scan("acme", name="small.log")
    total = hub.get("acme", "/summary")[1]["alerts"]
    assert total == big["new_alerts"] + small["new_alerts"] > 50
    first = hub.get("acme", "/alerts")[1]
    second = hub.get("acme", "/alerts", page=2)[1]
    assert (len(first["alerts"]), first["more"]) == (50, True)
    assert (len(second["alerts"]), second["more"], second["page"]) == (total - 50, False, 2)
    assert not {a["id"] for a in first["alerts"]} & {a["id"] for a in second["alerts"]}

    outcomes = {o: hub.get("acme", "/alerts", outcome=o, page=p)[1]["alerts"]
                for o in ("yes", "no", "unknown") for p in (1, 2)}
    assert all(a["succeeded"] is None for a in outcomes["unknown"])
    assert all(a["succeeded"] is True for a in outcomes["yes"])
    assert hub.get("acme", "/alerts", log=small["id"])[1]["alerts"][0]["log_name"] == "small.log"
    assert all(a["log_id"] == small["id"]
               for a in hub.get("acme", "/alerts", log=small["id"])[1]["alerts"])
    assert hub.get("acme", "/alerts", src="203.0.113.250")[1]["alerts"] == []
    assert len(hub.get("acme", "/logs", limit=1)[1]) == 1


def test_a_log_with_a_line_that_is_not_utf_8_is_scanned_and_the_line_counted(hub: Hub) -> None:
    made = hub.scan("acme", ATTACKS.encode() + b"\xff\xfe not utf-8\n")
    assert (made["lines"], made["problems"]) == (6, 1)
    assert made["new_alerts"] >= 3


@pytest.mark.parametrize(("body", "status", "message"), [
    (b"\x00\x01\x02\xff\xfe binary, not a log at all\n", 400, "not a recognised access log"),
    (b"", 400, "the file is empty"),
    (b"\x1f\x8b\x08\x00rest", 400, "upload the plain log"),
])
def test_a_body_that_is_not_a_plain_access_log_is_refused(hub: Hub, body: bytes, status: int,
                                                          message: str) -> None:
    refused = hub.scan("acme", body, status=status)
    assert message in refused["description"]
    assert hub.get("acme", "/logs") == (200, [])


def test_a_form_upload_is_refused_with_what_to_send(hub: Hub) -> None:
    answer = hub.client.post(f"{BASE}/scan", files={"file": ("a.log", ATTACKS.encode())},
                             headers={**hub.as_("acme"), "Accept-Language": "ja"})
    assert answer.status_code == 415
    assert "リクエストの本文" in answer.json()["description"]


@pytest.mark.parametrize(("path", "params"), [
    ("/alerts", {"page": 0}),
    ("/alerts", {"page": logs_api.MAX_PAGE + 1}),
    ("/alerts", {"category": "<script>"}),
    ("/alerts", {"outcome": "maybe"}),
    ("/alerts", {"log": 0}),
    ("/alerts", {"log": "x"}),
    ("/alerts", {"src": "a" * 101}),
    ("/alerts/0", {}),
    ("/alerts/99999999999", {}),
    ("/logs", {"limit": 0}),
    ("/logs", {"limit": 1001}),
    ("/summary", {"days": 0}),
])
def test_bad_query_values_are_malformed(hub: Hub, path: str, params: dict[str, object]) -> None:
    status, body = hub.get("acme", path, **params)
    assert status == 400, body
    assert body["description"] == "the request is malformed"


def test_bad_scan_parameters_are_malformed(hub: Hub) -> None:
    assert hub.scan("acme", name="a" * 1001, status=400)["description"] == (
        "the request is malformed")
    assert hub.scan("hub", organisation="o" * 201, status=400)["http_status"] == "400"


def test_nothing_without_credentials(hub: Hub) -> None:
    for path in ("/logs", "/alerts", "/alerts/1", "/summary"):
        assert hub.client.get(f"{BASE}{path}").status_code == 401
    assert hub.client.post(f"{BASE}/scan", content=ATTACKS.encode()).status_code == 401


def test_the_routes_are_in_the_api_document(hub: Hub) -> None:
    paths = hub.client.get("/openapi.json").json()["paths"]
    assert {p for p in paths if p.startswith(BASE)} == {
        f"{BASE}/scan", f"{BASE}/logs", f"{BASE}/alerts", f"{BASE}/alerts/{{alert_id}}",
        f"{BASE}/summary"}
    body = paths[f"{BASE}/scan"]["post"]["requestBody"]
    assert set(body["content"]) == {"application/octet-stream", "text/plain"}


def test_every_message_has_japanese() -> None:
    japanese = i18n.messages("ja")
    path = Path(renkei.__file__).parent / "logs" / "api.py"
    found = templates(path, {"HttpError": 1, "gettext_noop": 0})
    assert len(found) >= 3
    missing = [t for t in found if t not in japanese]
    assert not missing, f"add to src/renkei/logs/locale/ja/logs.po: {missing}"
