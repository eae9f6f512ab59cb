"""Behind a TLS-terminating proxy (``RENKEI_PUBLIC_ORIGIN``, ``renkei serve
--public-origin``) the console's cookies are Secure although the proxy speaks plain http to
it, and forms must come from the public origin; without one, the request's own scheme and
Host decide, as on a laptop."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient
from httpx import Response
from typer.testing import CliRunner

from renkei.cli import app as cli
from renkei.console import totp
from renkei.core.config import ConfigError, load_config, parse_public_origin
from tests.console.conftest import PASSWORD, Hub, built_hub, csrf_of

PUBLIC = "https://hub.example"


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory, _pg_schemas: object) -> Iterator[Hub]:
    with built_hub(tmp_path_factory, _pg_schemas,
                   RENKEI_PUBLIC_ORIGIN="HTTPS://Hub.Example:443") as made:
        yield made


class Browser:
    """A browser behind the proxy: it sent https, renkei sees http from the proxy with the
    internal Host; so its cookie (Secure) is handed on by hand, as the proxy would."""

    def __init__(self, hub: Hub, origin: str = PUBLIC) -> None:
        self.client = TestClient(hub.app, base_url="http://renkei.internal:8000",
                                 headers={"Origin": origin}, follow_redirects=False)
        self.cookie = ""

    def send(self, method: str, path: str, **options: Any) -> Response:
        headers = options.pop("headers", {})
        if self.cookie:
            headers["Cookie"] = f"renkei_session={self.cookie}"
        answer = self.client.request(method, path, headers=headers, **options)
        found = answer.headers.get("set-cookie", "")
        if found.startswith("renkei_session="):
            assert "; secure" in found.lower(), found
            self.cookie = found.split(";")[0].split("=", 1)[1].strip('"')
        return answer


def sign_in(hub: Hub, browser: Browser, email: str) -> None:
    assert browser.send("POST", "/login",
                        data={"email": email, "password": PASSWORD}).status_code == 303
    page = browser.send("GET", "/login/enrol")
    secret = page.text.split('id="totp-secret">')[1].split("<")[0].replace(" ", "")
    hub.tick()
    answer = browser.send("POST", "/login/enrol", data={
        "code": totp.code_at(secret, hub.clock.now()), "csrf": csrf_of(page)})
    assert answer.status_code == 303, answer.text


def test_cookies_are_secure_and_forms_come_from_the_public_origin(proxied: Hub) -> None:
    browser = Browser(proxied)
    sign_in(proxied, browser, proxied.add_user())
    overview = browser.send("GET", "/")
    assert overview.status_code == 200
    token = csrf_of(overview)
    assert browser.send("POST", "/language", data={"lang": "ja", "csrf": token}
                        ).status_code == 303
    for origin in ("http://renkei.internal:8000", "http://hub.example",
                   "https://hub.example:8443", "https://evil.example", "null"):
        refused = browser.send("POST", "/language", data={"lang": "en", "csrf": token},
                               headers={"Origin": origin})
        assert refused.status_code == 403, origin
    by_referer = Browser(proxied, origin="")
    by_referer.client.headers.pop("Origin")
    by_referer.cookie = browser.cookie
    assert by_referer.send("POST", "/language", data={"lang": "en", "csrf": token},
                           headers={"Referer": "https://HUB.example/sharing/"}
                           ).status_code == 303
    assert browser.send("POST", "/logout", data={"csrf": token}).status_code == 303


def test_sign_in_from_the_internal_host_is_refused(proxied: Hub) -> None:
    inside = Browser(proxied, origin="http://renkei.internal:8000")
    answer = inside.send("POST", "/login", data={"email": proxied.admin, "password": PASSWORD})
    assert answer.status_code == 403
    assert inside.cookie == ""


def test_without_a_public_origin_the_request_decides(hub: Hub) -> None:
    local = hub.client()  # http://testserver, Origin http://testserver
    answer = local.post("/login", data={"email": hub.add_user(), "password": PASSWORD})
    assert answer.status_code == 303
    assert "secure" not in answer.headers["set-cookie"].lower()
    foreign = hub.client()
    refused = foreign.post("/login", data={"email": hub.admin, "password": PASSWORD},
                           headers={"Origin": PUBLIC})
    assert refused.status_code == 403
    assert hub.app.state.console.public_origin is None


@pytest.mark.parametrize(("given", "normal"), [
    ("https://hub.example", "https://hub.example"), ("HTTPS://Hub.Example:443/", "https://hub.example"),
    ("http://10.0.0.1:8080", "http://10.0.0.1:8080"), ("https://[2001:db8::1]:443", "https://[2001:db8::1]"),
    ("", ""), ("  ", ""),
])
def test_an_origin_is_read_in_its_normal_form(given: str, normal: str) -> None:
    assert parse_public_origin(given) == normal


@pytest.mark.parametrize("given", [
    "hub.example", "ftp://hub.example", "https://hub.example/console", "https://hub.example?x",
    "https://user@hub.example", "https://", "https://hub.example:99999", "https://hub .example",
    "javascript:alert(1)", "https://hub.example#x", "https://hub.example:x",
])
def test_anything_but_an_origin_is_refused(given: str) -> None:
    with pytest.raises(ConfigError, match="RENKEI_PUBLIC_ORIGIN"):
        load_config({"RENKEI_HOME": "/nonexistent", "RENKEI_PUBLIC_ORIGIN": given})


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """What uvicorn.run was asked to serve, and RENKEI_PUBLIC_ORIGIN while it ran."""
    calls: list[dict[str, Any]] = []

    def run(target: Any, **options: Any) -> None:
        calls.append({"target": target, "env": os.environ.get("RENKEI_PUBLIC_ORIGIN"),
                      **options})

    monkeypatch.setattr(uvicorn, "run", run)
    return calls


def test_serve_takes_the_public_origin(renkei_home: Path, served: list[dict[str, Any]]) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["serve", "--public-origin", "https://Hub.Example:443"])
    assert result.exit_code == 0, result.output
    assert "https://hub.example/" in result.output
    assert served[0]["target"].state.console.public_origin == PUBLIC
    result = runner.invoke(cli, ["serve", "--workers", "2", "--public-origin", PUBLIC])
    assert result.exit_code == 0, result.output
    assert served[1]["target"] == "renkei.app:create_app"
    assert served[1]["env"] == PUBLIC  # each worker process builds its app from it
    assert "RENKEI_PUBLIC_ORIGIN" not in os.environ
    result = runner.invoke(cli, ["serve"])
    assert served[2]["target"].state.console.public_origin is None
    refused = runner.invoke(cli, ["serve", "--public-origin", "hub.example"])
    assert refused.exit_code == 2
    assert "--public-origin" in refused.output
    assert len(served) == 3


def test_serve_reads_it_from_the_environment(renkei_home: Path, served: list[dict[str, Any]],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RENKEI_PUBLIC_ORIGIN", "https://env.example")
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 0, result.output
    assert served[0]["target"].state.console.public_origin == "https://env.example"
