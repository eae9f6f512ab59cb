"""A body too large (413) and a server error (500) on the console's paths are pages, not the
API's JSON; a server error's page tells nothing of the error. The API answers as before."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from renkei.core.http import MAX_REQUEST_BYTES
from tests.console.conftest import ORIGIN, Hub, csrf_of

SECRET = "kaboom: password=hunter2 at /srv/renkei/secret.py"
TOO_LARGE = "what was sent is larger than this site takes"


def boom() -> None:
    raise RuntimeError(SECRET)


@pytest.fixture(scope="module")
def failing(hub: Hub) -> Hub:
    """The hub with a console page and an API route that fail."""
    hub.app.add_api_route("/vulns/boom", boom, methods=["GET"], include_in_schema=False)
    hub.app.add_api_route("/api/v1/boom", boom, methods=["GET"], include_in_schema=False)
    return hub


@pytest.fixture(scope="module")
def member(hub: Hub) -> TestClient:
    client = hub.client()
    hub.sign_in(client, hub.add_user())
    return client


def assert_page(answer: Response, status: int, text: str, *, nav: bool) -> None:
    assert answer.status_code == status, answer.text[:300]
    assert answer.headers["content-type"].startswith("text/html")
    assert text in answer.text, answer.text[:500]
    assert ('<nav aria-label="Main">' in answer.text) is nav
    assert "default-src 'self'" in answer.headers["content-security-policy"]
    assert answer.headers["x-frame-options"] == "DENY"


def chunks(total: int) -> Iterator[bytes]:
    """A body sent without a Content-Length: the bound is found while it is read."""
    sent = 0
    while sent < total:
        yield b"x" * 65536
        sent += 65536


def test_a_body_too_large_is_a_page_for_a_signed_in_user(member: TestClient) -> None:
    token = csrf_of(member.get("/"))
    big = "x" * (MAX_REQUEST_BYTES + 1)
    answer = member.post("/incidents/1/notes", data={"csrf": token, "text": big})
    assert_page(answer, 413, TOO_LARGE, nav=True)
    assert f"at most {MAX_REQUEST_BYTES} bytes" in answer.text
    assert answer.headers["connection"] == "close"
    streamed = member.post("/language", content=chunks(MAX_REQUEST_BYTES + 1), headers={
        "Content-Type": "application/x-www-form-urlencoded", "X-CSRF-Token": token})
    assert_page(streamed, 413, TOO_LARGE, nav=True)


def test_a_body_too_large_is_a_page_for_a_stranger_too(hub: Hub) -> None:
    """Every path answers it alike, so the page tells a stranger nothing."""
    stranger = hub.client()
    for path in ("/login", "/admin/users", "/no-such-page"):
        answer = stranger.post(path, content=b"x" * (MAX_REQUEST_BYTES + 1),
                               headers={"Content-Type": "application/x-www-form-urlencoded",
                                        "Accept-Language": "ja"})
        assert_page(answer, 413, "最大", nav=False)
        assert '<html lang="ja">' in answer.text
    streamed = stranger.post("/login", content=chunks(MAX_REQUEST_BYTES + 1),
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_page(streamed, 413, TOO_LARGE, nav=False)


def test_the_api_s_413_is_as_before(hub: Hub) -> None:
    answer = hub.client().post("/api/v1/sharing/submissions",
                               content=b"x" * (MAX_REQUEST_BYTES + 1),
                               headers={"Content-Type": "application/json"})
    assert answer.status_code == 413
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {
        "title": "Request entity too large", "http_status": "413",
        "description": f"the request body is larger than {MAX_REQUEST_BYTES} bytes"}
    assert answer.headers["content-security-policy"] == \
        "default-src 'none'; frame-ancestors 'none'"


def test_a_server_error_is_a_page_that_says_nothing_of_it(failing: Hub,
                                                          member: TestClient) -> None:
    browser = TestClient(failing.app, base_url=ORIGIN, raise_server_exceptions=False,
                         cookies=member.cookies)
    answer = browser.get("/vulns/boom")
    assert_page(answer, 500, "the server failed; the error is in its log", nav=False)
    assert "<h1>Internal server error</h1>" in answer.text
    for part in ("kaboom", "hunter2", "secret.py", "RuntimeError", "Traceback"):
        assert part not in answer.text
    japanese = TestClient(failing.app, base_url=ORIGIN, raise_server_exceptions=False)
    assert "サーバー内部エラー" in japanese.get("/vulns/boom?lang=ja").text


def test_the_api_s_500_is_as_before(failing: Hub) -> None:
    client = TestClient(failing.app, base_url=ORIGIN, raise_server_exceptions=False)
    answer = client.get("/api/v1/boom")
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {"title": "Internal server error", "http_status": "500",
                             "description": "the server failed; the error is in its log"}
    assert "kaboom" not in answer.text
