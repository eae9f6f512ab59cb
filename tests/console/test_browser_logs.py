"""The logs pages as a member uses them, in real headless Chromium: sign in with a password
and a second factor, upload an access log with attacks, scan it, read its alerts, and see
the overview's charts (each an ``<img>`` of an SVG ``data:`` URI): its attacks, its
incidents, the plan. Skipped like test_browser."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from renkei.core import members, orgs
from renkei.core.models import Role
from renkei.core.time import Clock
from renkei.incidents import service
from renkei.incidents.service import Caller
from renkei.logs import upload
from tests.console.browser import chromium, served, sign_in, watch_csp, with_second_factor
from tests.console.conftest import PASSWORD
from tests.console.test_browser import Served
from tests.console.test_logs_pages import ATTACKS

pytestmark = pytest.mark.browser
__all__ = ["chromium"]

MEMBER = "analyst@member.example"


@pytest.fixture
def hub(tmp_path: Path, empty_database_url: str) -> Iterator[Served]:
    """A member submitter who has a second factor (its secret in ``admin_secret``)."""
    secrets: list[str] = []

    def seed(session: Session, clock: Clock) -> None:
        orgs.add(session, clock, "hub", hub=True)
        member = orgs.add(session, clock, "member")
        user = members.add_user(session, clock, organisation=member, email=MEMBER,
                                role=Role.MEMBER_SUBMITTER, password=PASSWORD)
        secrets.append(with_second_factor(user, clock))
        service.create(session, clock, Caller.local("local:test"), title="Web shell found",
                       severity="high", organisations=["member"])

    warm = tmp_path / "warm.log"  # rules compiled and kernels jitted once per process, here
    warm.write_text(ATTACKS, encoding="utf-8")
    upload.scanner().scan_file(warm)
    with served(tmp_path, empty_database_url, seed) as url:
        yield Served(url, secrets[0])


def test_a_member_uploads_a_log_sees_its_alerts_and_the_overview_chart(
        chromium: Any, hub: Served) -> None:
    page = chromium.new_page()
    page.set_default_timeout(10_000)
    blocked = watch_csp(page)
    page.goto(f"{hub.url}/logs/")
    sign_in(page, MEMBER, hub.admin_secret, landing="**/logs/")
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
    for panel in ("logs", "incidents-open", "plan-progress"):  # attacks, incidents, the plan
        chart = page.locator(f"#panel-{panel} img.chart")
        source = chart.get_attribute("src") or ""
        assert source.startswith("data:image/svg+xml;base64,"), panel
        assert base64.b64decode(source.split(",", 1)[1]).startswith(b"<svg"), panel
        assert chart.evaluate("img => img.complete && img.naturalWidth > 0"), panel
    assert blocked == []
    page.close()
