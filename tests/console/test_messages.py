"""Every word the console shows has Japanese: its templates, its refusals, its navigation."""

from __future__ import annotations

from pathlib import Path

import pytest

import renkei
from renkei.console import routes
from renkei.core import i18n
from renkei.core.models import Role
from tests.message_templates import page_templates, templates

CONSOLE = Path(renkei.__file__).parent / "console"
FILES = sorted(CONSOLE.rglob("*.py"))
PAGES = sorted((CONSOLE / "templates").rglob("*.html"))
TEMPLATE_ARG = {"SignInError": 0, "UserError": 0, "gettext_noop": 0, "t": 0, "_": 0}


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(CONSOLE)))
def test_every_message_has_japanese(path: Path) -> None:
    japanese = i18n.messages("ja")
    missing = [t for t in templates(path, TEMPLATE_ARG) if t not in japanese]
    assert not missing, f"add to src/renkei/console/locale/ja/console.po: {missing}"


@pytest.mark.parametrize("path", PAGES, ids=lambda p: str(p.relative_to(CONSOLE)))
def test_every_page_word_has_japanese(path: Path) -> None:
    japanese = i18n.messages("ja")
    missing = [t for t in page_templates(path) if t not in japanese]
    assert not missing, f"add to src/renkei/console/locale/ja/console.po: {missing}"


def test_navigation_roles_and_states_have_japanese() -> None:
    japanese = i18n.messages("ja")
    words = [e.label for e in routes.NAV] + [r.value for r in Role] + [
        "active", "expired", "revoked"]
    assert [w for w in words if w not in japanese] == []


def test_the_template_scanner_finds_both_quotes() -> None:
    assert page_templates(Path(__file__).parent / "files" / "sample.html") == [
        "Sign in", "It's here", "Plan"]
