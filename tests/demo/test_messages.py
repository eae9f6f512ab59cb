"""Every message the demo prints has Japanese, in the demo's own catalogue."""

from __future__ import annotations

from pathlib import Path

import pytest

import renkei
from renkei.core import i18n
from renkei.demo import banner
from tests.message_templates import templates

PACKAGE = Path(renkei.__file__).parent / "demo"
FILES = sorted(PACKAGE.rglob("*.py"))
CATALOGUE = PACKAGE / "locale" / "ja" / "demo.po"
TEMPLATE_ARG = {"DemoError": 0, "_": 0, "gettext_noop": 0}


def _japanese() -> dict[str, str]:
    return {str(m.id): str(m.string) for m in i18n.read_catalogue(CATALOGUE, "ja")
            if m.id and m.string}


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_message_has_japanese(path: Path) -> None:
    japanese = _japanese()
    missing = [t for t in templates(path, TEMPLATE_ARG) if t not in japanese]
    assert not missing, f"add to src/renkei/demo/locale/ja/demo.po: {missing}"


def test_the_catalogue_is_read_at_run_time() -> None:
    assert "demo" in i18n.DOMAINS, "add 'demo' to renkei.core.i18n.DOMAINS"
    assert i18n.translator("ja")(banner.SYNTHETIC).startswith("renkei デモ用ハブ")
