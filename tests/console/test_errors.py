"""Errors on the console's paths are pages in the user's language; a stranger learns
nothing of which paths exist; the API's and TAXII's errors are exactly what they were."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from tests.console.conftest import Hub, csrf_of

MALFORMED_IDS = [
    "/plan/evidence/abc", "/plan/evidence/0", "/plan/evidence/-1",
    "/plan/evidence/99999999999999999999", "/plan/assessments/1.5",
    "/vulns/feeds/99999999999999999999", "/vulns/feeds/abc", "/vulns/feeds/0",
    "/logs/alerts/abc", "/logs/sources/0", "/logs/sources/x/report.html",
    "/incidents/abc", "/incidents/99999999999999999999", "/incidents/-1",
    "/sharing/submissions/abc", "/sharing/submissions/-1",
    "/sharing/submissions/99999999999999999999",
]
UNKNOWN = ["/no-such-page", "/admin/nothing", "/plan/nothing/at/all", "/vulns/v",
           "/%E2%80%AE", "/logs/alerts/1/extra", "/static/no-such.css", "/docs/x", "/taxii", "/apis"]


@pytest.fixture(scope="module")
def member(hub: Hub) -> TestClient:
    client = hub.client()
    hub.sign_in(client, hub.add_user())
    return client


def assert_page(answer: Response, status: int, text: str) -> None:
    assert answer.status_code == status, (answer.request.url, answer.text[:300])
    assert answer.headers["content-type"].startswith("text/html")
    assert '<nav aria-label="Main">' in answer.text or 'aria-label="メイン"' in answer.text
    assert text in answer.text, answer.text[:500]
    assert "default-src 'self'" in answer.headers["content-security-policy"]


@pytest.mark.parametrize("path", UNKNOWN)
def test_an_unknown_path_is_a_page(hub: Hub, member: TestClient, path: str) -> None:
    assert_page(member.get(path), 404, "there is no such page here")


@pytest.mark.parametrize("path", MALFORMED_IDS)
def test_a_malformed_or_impossible_id_is_no_page(member: TestClient, path: str) -> None:
    answer = member.get(path)
    assert answer.status_code == 404, (path, answer.text[:300])
    assert answer.headers["content-type"].startswith("text/html"), path
    assert "<h1>Not found</h1>" in answer.text, path


def test_a_form_to_a_malformed_id_changes_nothing_and_is_no_page(member: TestClient) -> None:
    token = csrf_of(member.get("/"))
    for path in ("/incidents/abc/notes", "/vulns/suppressions/abc/remove",
                 "/sharing/submissions/x/approve"):
        answer = member.post(path, data={"csrf": token, "text": "x"})
        assert answer.status_code == 404, path
        assert "there is no such page here" in answer.text
    # without the token either: the route never runs, so there is nothing to refuse
    assert member.post("/incidents/abc/notes", data={"text": "x"}).status_code == 404


def test_a_malformed_query_is_a_bad_request_page(member: TestClient) -> None:
    assert_page(member.get("/logs/alerts", params={"page": "0"}), 400,
                "the request is malformed")
    assert_page(member.get("/sensors/findings", params={"port": "x"}), 400,
                "the request is malformed")


def test_a_method_a_page_does_not_take(member: TestClient) -> None:
    answer = member.get("/logout")
    assert_page(answer, 405, "this method is not allowed here")
    assert answer.headers["allow"] == "POST"


def test_the_page_speaks_the_user_s_language(hub: Hub) -> None:
    client = hub.client()
    hub.sign_in(client, hub.add_user())
    token = csrf_of(client.get("/"))
    assert client.post("/language", data={"lang": "ja", "csrf": token}).status_code == 303
    answer = client.get("/no-such-page")
    assert_page(answer, 404, "このページはありません")
    assert '<html lang="ja">' in answer.text
    assert "見つかりません" in client.get("/plan/evidence/abc").text


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_a_stranger_cannot_tell_which_paths_exist(hub: Hub, method: str) -> None:
    stranger = hub.client()
    answers = {path: stranger.request(method, path)
               for path in ("/admin/users", "/no-such-page", "/plan/evidence/abc",
                            "/plan/evidence/1", "/admin/users/disable", "/logout/x")}
    for path, answer in answers.items():
        assert answer.status_code == 303, (method, path, answer.status_code)
        assert answer.headers["location"].startswith("/login"), path
        assert "renkei_session" not in answer.headers.get("set-cookie", "")
    if method == "GET":
        assert answers["/no-such-page"].headers["location"] == "/login?next=%2Fno-such-page"
        assert answers["/admin/users"].headers["location"] == "/login?next=%2Fadmin%2Fusers"
    else:
        assert {a.headers["location"] for a in answers.values()} == {"/login"}


def test_a_half_signed_in_browser_is_sent_to_sign_in(hub: Hub) -> None:
    """A session waiting for its second factor opens no page, not even an error page."""
    client = hub.client()
    hub.sign_in(client, email := hub.add_user())  # enrols the second factor
    client = hub.client()
    client.post("/login", data={"email": email, "password": "correct horse battery staple"})
    answer = client.get("/no-such-page")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login")


def test_the_api_and_taxii_answer_as_before(hub: Hub, member: TestClient) -> None:
    for client in (member, hub.client()):
        unknown = client.get("/api/v1/no-such-thing")
        assert unknown.status_code == 404
        assert unknown.headers["content-type"] == "application/json"
        assert unknown.json() == {"title": "Not found", "description": "no such resource",
                                  "http_status": "404"}
        assert unknown.headers["content-security-policy"] == \
            "default-src 'none'; frame-ancestors 'none'"
        taxii = client.get("/taxii2/no-such-root/x/", headers={"Accept": "application/taxii+json;version=2.1"})
        assert taxii.status_code in (401, 404)
        assert taxii.headers["content-type"].startswith("application/taxii+json")
        malformed = client.get("/api/v1/incidents/abc")
        assert malformed.status_code in (400, 401)
        assert malformed.headers["content-type"] == "application/json"
        wrong_method = client.delete("/api/v1/vulns/suppressions")
        assert wrong_method.status_code == 405
        assert wrong_method.json()["http_status"] == "405"
    bare = member.get("/api")
    assert bare.status_code == 404
    assert bare.headers["content-type"] == "application/json"
    assert member.get("/openapi.json").status_code == 200
    assert member.get("/api/v1/incidents/abc", auth=(hub.admin, "correct horse battery staple")
                      ).json()["http_status"] == "400"
