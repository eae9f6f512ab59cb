"""A member's report from the form to another member's screen, in real headless Chromium:
the submitter signs in with a second factor and submits a report with an indicator, a hub
analyst sanitises it and reads the diff, the submitter approves the sanitised version, the
analyst publishes it, and a member of another organisation in the same community finds the
indicator (TLP:GREEN) among the shared objects.

Skipped, like tests/console/test_browser.py, where Chromium or Playwright is missing
(a failure under CI).
"""

from __future__ import annotations

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
from tests.console.test_browser import _watch_csp, chromium, free_port

pytestmark = pytest.mark.browser
__all__ = ["chromium"]  # the fixture, shared with test_browser.py

SUBMITTER = "submitter@bank.example"
ANALYST = "analyst@hub.example"
READER = "reader@insurer.example"


@dataclass(frozen=True)
class Hub:
    url: str
    secrets: dict[str, str]


@pytest.fixture
def hub(tmp_path: Path, empty_database_url: str) -> Iterator[Hub]:
    """The real app under uvicorn on a fresh database: a hub with an analyst, and two
    members of the finance community, each with a user who has a second factor."""
    clock = SystemClock()
    app = create_app(load_config({"RENKEI_HOME": str(tmp_path),
                                  "RENKEI_DATABASE_URL": empty_database_url}),
                     clock=clock, validation_workers=1)
    db: Database = app.state.renkei.db
    secrets = {}
    with db.session() as session:
        the_hub = orgs.add(session, clock, "hub", hub=True)
        bank = orgs.add(session, clock, "bank", communities=["finance"])
        insurer = orgs.add(session, clock, "insurer", communities=["finance"])
        for org, email, role in ((the_hub, ANALYST, Role.HUB_ANALYST),
                                 (bank, SUBMITTER, Role.MEMBER_SUBMITTER),
                                 (insurer, READER, Role.MEMBER_READER)):
            user = members.add_user(session, clock, organisation=org, email=email, role=role,
                                    password=PASSWORD)
            user.totp_secret, user.totp_enabled_at = totp.new_secret(), clock.now()
            secrets[email] = user.totp_secret
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield Hub(f"http://127.0.0.1:{port}", secrets)
    server.should_exit = True
    thread.join(timeout=10)


def signed_in(browser: Any, hub: Hub, email: str) -> tuple[Any, list[str]]:
    """A page of a browser context of its own (its own cookies), signed in as ``email``."""
    page = browser.new_context().new_page()
    page.set_default_timeout(10_000)
    blocked = _watch_csp(page)
    page.goto(f"{hub.url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/login/totp*")
    page.fill("input[name=code]", totp.code_at(hub.secrets[email], SystemClock().now()))
    page.click("main button[type=submit]")
    page.wait_for_url(f"{hub.url}/")
    return page, blocked


def test_a_report_is_submitted_sanitised_approved_published_and_read(
        chromium: Any, hub: Hub) -> None:
    member, member_blocked = signed_in(chromium, hub, SUBMITTER)
    member.click("nav >> text=Sharing")
    member.click("text=Submit a report")
    member.fill("input[name=title]", "Phishing from a look-alike domain")
    member.fill("textarea[name=description]", "Seen by alice@bank.example on our gateway")
    member.fill("textarea[name=indicators]", "domain bank-login.example")
    member.select_option("select[name=tlp]", "green")
    member.click("main form button[type=submit]")
    member.wait_for_url("**/sharing/submissions/*")
    report = member.url
    assert member.inner_text("#state") == "submitted"

    analyst, analyst_blocked = signed_in(chromium, hub, ANALYST)
    assert "To sanitise" in analyst.inner_text("#panel-sharing-review")
    analyst.click("#panel-sharing-review >> text=Report 1")
    analyst.fill("textarea[name=own_domains]", "bank.example")
    analyst.click("#sanitise button[type=submit]")
    analyst.wait_for_selector("#diff")
    assert "alice@bank.example" in analyst.inner_text("#diff del")
    assert "[e-mail address]" in analyst.inner_text("#diff")
    assert analyst.inner_text("#state") == "sanitised"

    member.goto(report)
    assert "[e-mail address]" in member.inner_text("#diff")
    member.click("button[name=approve]")
    member.wait_for_selector("#state:has-text('approved')")

    analyst.reload()
    analyst.click("button[name=publish]")
    analyst.wait_for_selector("#state:has-text('published')")

    reader, reader_blocked = signed_in(chromium, hub, READER)
    reader.click("nav >> text=Sharing")
    reader.click(".tabs >> text=Shared objects")
    row = reader.locator("#objects tr", has_text="domain bank-login.example")
    assert row.count() == 1
    assert "TLP:GREEN" in row.inner_text()
    assert reader.locator("img.chart").evaluate("img => img.complete && img.naturalWidth > 0")
    assert member_blocked == analyst_blocked == reader_blocked == []
