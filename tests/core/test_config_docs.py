"""docs/configuration.md documents every setting, in English and Japanese, and no other."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from renkei.core.config import SETTINGS, load_config

ROOT = Path(__file__).resolve().parents[2]
CONFIGURATION = ROOT / "docs" / "configuration.md"
SECTIONS = ("English", "日本語")
# Environment variables that are not settings of renkei itself.
NOT_SETTINGS = {"RENKEI_TEST_DATABASE_URL"}


def section_rows(section: str) -> dict[str, list[str]]:
    """The settings table of one language section: {env var: cells}."""
    text = CONFIGURATION.read_text(encoding="utf-8")
    parts = re.split(r"^## ", text, flags=re.MULTILINE)
    body = next(p for p in parts if p.startswith(section))
    rows: dict[str, list[str]] = {}
    for line in body.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        name = cells[0].strip("`")
        if line.startswith("|") and name.startswith("RENKEI_"):
            rows[name] = cells
    return rows


@pytest.mark.parametrize("section", SECTIONS)
def test_every_setting_is_documented(section: str) -> None:
    rows = section_rows(section)
    assert set(rows) == {s.env for s in SETTINGS}, (
        f"the {section} table of docs/configuration.md and config.SETTINGS disagree"
    )
    for setting in SETTINGS:
        _, key, default, meaning = rows[setting.env]
        assert key.strip("`") == (setting.key or "—"), f"{setting.env}: TOML key"
        assert default, f"{setting.env}: no default documented"
        assert meaning, f"{setting.env}: no meaning documented"


@pytest.mark.parametrize("section", SECTIONS)
def test_documented_default_line_length_is_the_real_one(section: str, tmp_path: Path) -> None:
    default = load_config({"RENKEI_HOME": str(tmp_path)}).max_line_bytes
    assert f"`{default}`" in section_rows(section)["RENKEI_MAX_LINE_BYTES"][2]


def test_docs_mention_no_setting_that_does_not_exist() -> None:
    known = {s.env for s in SETTINGS} | NOT_SETTINGS
    texts = [*ROOT.glob("docs/**/*.md"), *ROOT.glob("*.md")]
    stale = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in texts
        for name in re.findall(r"\bRENKEI_[A-Z0-9_]*[A-Z0-9]\b", path.read_text(encoding="utf-8"))
        if name not in known
    }
    assert not stale, f"documented but not in config.SETTINGS: {sorted(stale)}"
