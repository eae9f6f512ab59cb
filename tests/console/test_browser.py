"""The console as a person uses it, in real headless Chromium (Debian's ``chromium``,
driven by Playwright): sign in with a password and a second factor, enrol one, see the
overview, switch to Japanese, sign out.

Skipped where Chromium or Playwright is missing, except under CI (``CI`` set), where that
is a failure: CI installs both.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from renkei.app import create_app
from renkei.console import totp
from renkei.core import members, orgs
from renkei.core.config import load_config
from renkei.core.db import Database
from renkei.core.models import Role
from renkei.core.time import SystemClock
from tests.console.conftest import PASSWORD

pytestmark = pytest.mark.browser

ADMIN = "admin@hub.example"
NEWCOMER = "newcomer@member.example"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run the browser tests")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    executable = shutil.which("chromium")
    if executable is None:
        _unavailable("no chromium on PATH (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True)
        yield browser
        browser.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Served:
    url: str
    admin_secret: str


@pytest.fixture
def served(tmp_path: Path, empty_database_url: str) -> Iterator[Served]:
    """The real app under uvicorn, in a thread, on a fresh database: a hub with an
    administrator who has a second factor, and a member with a user who has none yet."""
    clock = SystemClock()
    app = create_app(load_config({"RENKEI_HOME": str(tmp_path),
                                  "RENKEI_DATABASE_URL": empty_database_url}),
                     clock=clock, validation_workers=1)
    db: Database = app.state.renkei.db
    secret = totp.new_secret()
    with db.session() as session:
        the_hub = orgs.add(session, clock, "hub", hub=True)
        member = orgs.add(session, clock, "member")
        admin = members.add_user(session, clock, organisation=the_hub, email=ADMIN,
                                 role=Role.HUB_ADMIN, password=PASSWORD)
        admin.totp_secret, admin.totp_enabled_at = secret, clock.now()
        members.add_user(session, clock, organisation=member, email=NEWCOMER,
                         role=Role.MEMBER_SUBMITTER, password=PASSWORD)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield Served(f"http://127.0.0.1:{port}", secret)
    server.should_exit = True
    thread.join(timeout=10)


def _watch_csp(page: Any) -> list[str]:
    """Messages Chromium logs about anything the page's CSP blocked (there must be none)."""
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text)
            if "Content Security Policy" in m.text else None)
    return blocked


def test_sign_in_with_a_second_factor_switch_to_japanese_and_sign_out(
        chromium: Any, served: Served) -> None:
    page = chromium.new_page()
    page.set_default_timeout(10_000)
    blocked = _watch_csp(page)
    page.goto(f"{served.url}/admin/users")
    assert page.url.endswith("/login?next=%2Fadmin%2Fusers")
    page.fill("input[name=email]", ADMIN)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/login/totp*")
    page.fill("input[name=code]", totp.code_at(served.admin_secret, SystemClock().now()))
    page.click("main button[type=submit]")
    page.wait_for_url("**/admin/users")
    assert page.inner_text("h1") == "Users"
    page.click("nav >> text=Overview")
    assert page.inner_text("h1") == "Overview"
    assert page.is_visible("#panel-audit")
    page.click("button[name=lang][value=ja]")
    page.wait_for_selector("h1:has-text('概要')")
    assert "あなたのアカウント" in page.inner_text("main")
    assert page.get_attribute("html", "lang") == "ja"
    page.click("text=サインアウト")
    page.wait_for_url("**/login")
    page.goto(f"{served.url}/")
    assert page.url.endswith("/login")
    assert blocked == []
    page.close()


def test_a_newcomer_enrols_a_second_factor_from_the_qr_page(
        chromium: Any, served: Served) -> None:
    page = chromium.new_page()
    page.set_default_timeout(10_000)
    blocked = _watch_csp(page)
    page.goto(f"{served.url}/login?lang=ja")
    assert page.inner_text("h1") == "サインイン"
    page.fill("input[name=email]", NEWCOMER)
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/login/enrol")
    qr = page.locator("img.qr")
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")
    secret = page.inner_text("#totp-secret").replace(" ", "")
    page.fill("input[name=code]", totp.code_at(secret, SystemClock().now()))
    page.click("main button[type=submit]")
    page.wait_for_url(f"{served.url}/")
    assert page.inner_text("h1") == "Overview"  # the user's language, not the cookie's
    assert not page.is_visible("#panel-audit")  # not for a member
    assert page.locator("nav >> text=Administration").count() == 0
    assert blocked == []
    page.close()
