"""The console as a person uses it, in real headless Chromium (Debian's ``chromium``,
driven by Playwright): sign in with a password and a second factor, enrol one, see the
overview, switch to Japanese, sign out.

Skipped where Chromium or Playwright is missing, except under CI (``CI`` set), where that
is a failure: CI installs both.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from renkei.console import totp
from renkei.core import members, orgs
from renkei.core.models import Role
from renkei.core.time import Clock, SystemClock
from tests.console.browser import chromium, served, sign_in, watch_csp, with_second_factor
from tests.console.conftest import PASSWORD

pytestmark = pytest.mark.browser
__all__ = ["chromium"]

ADMIN = "admin@hub.example"
NEWCOMER = "newcomer@member.example"


@dataclass(frozen=True)
class Served:
    url: str
    admin_secret: str


@pytest.fixture
def hub(tmp_path: Path, empty_database_url: str) -> Iterator[Served]:
    """A hub with an administrator who has a second factor, and a member with a user who
    has none yet."""
    secrets: list[str] = []

    def seed(session: Session, clock: Clock) -> None:
        the_hub = orgs.add(session, clock, "hub", hub=True)
        member = orgs.add(session, clock, "member")
        admin = members.add_user(session, clock, organisation=the_hub, email=ADMIN,
                                 role=Role.HUB_ADMIN, password=PASSWORD)
        secrets.append(with_second_factor(admin, clock))
        members.add_user(session, clock, organisation=member, email=NEWCOMER,
                         role=Role.MEMBER_SUBMITTER, password=PASSWORD)

    with served(tmp_path, empty_database_url, seed) as url:
        yield Served(url, secrets[0])


def test_sign_in_with_a_second_factor_switch_to_japanese_and_sign_out(
        chromium: Any, hub: Served) -> None:
    page = chromium.new_page()
    page.set_default_timeout(10_000)
    blocked = watch_csp(page)
    page.goto(f"{hub.url}/admin/users")
    assert page.url.endswith("/login?next=%2Fadmin%2Fusers")
    sign_in(page, ADMIN, hub.admin_secret, landing="**/admin/users")
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
    page.goto(f"{hub.url}/")
    assert page.url.endswith("/login")
    assert blocked == []
    page.close()


def test_a_newcomer_enrols_a_second_factor_from_the_qr_page(
        chromium: Any, hub: Served) -> None:
    page = chromium.new_page()
    page.set_default_timeout(10_000)
    blocked = watch_csp(page)
    page.goto(f"{hub.url}/login?lang=ja")
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
    page.wait_for_url(f"{hub.url}/")
    assert page.inner_text("h1") == "Overview"  # the user's language, not the cookie's
    assert not page.is_visible("#panel-audit")  # not for a member
    assert page.locator("nav >> text=Administration").count() == 0
    assert blocked == []
    page.close()
