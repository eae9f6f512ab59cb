"""The logs pages as a member uses them, in real headless Chromium: sign in with a password
and a second factor, upload an access log with attacks, scan it, read its alerts, and see
the overview's chart (an ``<img>`` of an SVG ``data:`` URI). Skipped like test_browser."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
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
from renkei.logs import upload
from tests.console.conftest import PASSWORD
from tests.console.test_browser import Served, _watch_csp, chromium, free_port
from tests.console.test_logs_pages import ATTACKS

pytestmark = pytest.mark.browser
__all__ = ["chromium"]  # the Chromium fixture of test_browser, shared

MEMBER = "analyst@member.example"


@pytest.fixture
def served(tmp_path: Path, empty_database_url: str) -> Iterator[Served]:
    """The real app under uvicorn on a fresh database, with a member submitter who has a
    second factor (its secret in ``admin_secret``)."""
    clock = SystemClock()
    app = create_app(load_config({"RENKEI_HOME": str(tmp_path),
                                  "RENKEI_DATABASE_URL": empty_database_url}),
                     clock=clock, validation_workers=1)
    db: Database = app.state.renkei.db
    secret = totp.new_secret()
    with db.session() as session:
        orgs.add(session, clock, "hub", hub=True)
        member = orgs.add(session, clock, "member")
        user = members.add_user(session, clock, organisation=member, email=MEMBER,
                                role=Role.MEMBER_SUBMITTER, password=PASSWORD)
        user.totp_secret, user.totp_enabled_at = secret, clock.now()
    warm = tmp_path / "warm.log"  # rules compiled and kernels jitted once per process, here
    warm.write_text(ATTACKS, encoding="utf-8")
    upload.scanner().scan_file(warm)
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


def test_a_member_uploads_a_log_sees_its_alerts_and_the_overview_chart(
        chromium: Any, served: Served) -> None:
    page = chromium.new_page()
    page.set_default_timeout(10_000)
    blocked = _watch_csp(page)
    page.goto(f"{served.url}/logs/")
    page.fill("input[name=email]", MEMBER)
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/login/totp*")
    page.fill("input[name=code]", totp.code_at(served.admin_secret, SystemClock().now()))
    page.click("main button[type=submit]")
    page.wait_for_url("**/logs/")
    assert page.inner_text("h1") == "Web-server logs"
    page.set_input_files("input[name=file]", files=[{
        "name": "access.log", "mimeType": "text/plain", "buffer": ATTACKS.encode()}])
    page.click("form[action='/logs/scan'] button[type=submit]", timeout=60_000)
    page.wait_for_url("**/logs/sources/*")
    assert "access.log" in page.inner_text("h1")
    page.click("text=Its alerts")
    page.wait_for_url("**/logs/alerts?log=*")
    table = page.inner_text("main table")
    assert "SQL injection" in table
    assert "198.51.100.23" in table
    page.click("nav >> text=Overview")
    page.wait_for_selector("#panel-logs")
    chart = page.locator("#panel-logs img.chart")
    source = chart.get_attribute("src") or ""
    assert source.startswith("data:image/svg+xml;base64,")
    assert base64.b64decode(source.split(",", 1)[1]).startswith(b"<svg")
    assert chart.evaluate("img => img.complete && img.naturalWidth > 0")
    assert blocked == []
    page.close()
