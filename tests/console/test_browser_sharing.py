"""A member's report from the form to another member's screen, in real headless Chromium:
the submitter signs in with a second factor and submits a report with an indicator, a hub
analyst sanitises it and reads the diff, the submitter approves the sanitised version, the
analyst publishes it, and a member of another organisation in the same community finds the
indicator (TLP:GREEN) among the shared objects.

Skipped, like tests/console/test_browser.py, where Chromium or Playwright is missing
(a failure under CI).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from renkei.core import members, orgs
from renkei.core.models import Role
from renkei.core.time import Clock
from tests.console.browser import chromium, served, sign_in, watch_csp, with_second_factor
from tests.console.conftest import PASSWORD

pytestmark = pytest.mark.browser
__all__ = ["chromium"]

SUBMITTER = "submitter@bank.example"
ANALYST = "analyst@hub.example"
READER = "reader@insurer.example"


@dataclass(frozen=True)
class Hub:
    url: str
    secrets: dict[str, str]


@pytest.fixture
def hub(tmp_path: Path, empty_database_url: str) -> Iterator[Hub]:
    """A hub with an analyst, and two members of the finance community, each with a user
    who has a second factor."""
    secrets: dict[str, str] = {}

    def seed(session: Session, clock: Clock) -> None:
        the_hub = orgs.add(session, clock, "hub", hub=True)
        bank = orgs.add(session, clock, "bank", communities=["finance"])
        insurer = orgs.add(session, clock, "insurer", communities=["finance"])
        for org, email, role in ((the_hub, ANALYST, Role.HUB_ANALYST),
                                 (bank, SUBMITTER, Role.MEMBER_SUBMITTER),
                                 (insurer, READER, Role.MEMBER_READER)):
            user = members.add_user(session, clock, organisation=org, email=email, role=role,
                                    password=PASSWORD)
            secrets[email] = with_second_factor(user, clock)

    with served(tmp_path, empty_database_url, seed) as url:
        yield Hub(url, secrets)


def signed_in(browser: Any, hub: Hub, email: str) -> tuple[Any, list[str]]:
    """A page of a browser context of its own (its own cookies), signed in as ``email``."""
    page = browser.new_context().new_page()
    page.set_default_timeout(10_000)
    blocked = watch_csp(page)
    page.goto(f"{hub.url}/login")
    sign_in(page, email, hub.secrets[email], landing=f"{hub.url}/")
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
