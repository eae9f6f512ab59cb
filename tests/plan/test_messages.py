"""Every message the plan domain can answer or print has Japanese."""

from __future__ import annotations

from pathlib import Path

import pytest

import renkei
from renkei.core import i18n
from renkei.plan.model import Category, SubmitterKind
from tests.message_templates import templates

FILES = sorted((Path(renkei.__file__).parent / "plan").glob("*.py"))
# error classes and the position of their message template; ``_`` is the CLI's translator
TEMPLATE_ARG = {"PlanDataError": 0, "PlanError": 0, "PlanNotFoundError": 0,
                "PlanForbiddenError": 0, "PlanConflictError": 0, "HttpError": 1,
                "gettext_noop": 0, "_fail": 0, "_": 0}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_message_has_japanese(path: Path) -> None:
    japanese = i18n.messages("ja")
    missing = [t for t in templates(path, TEMPLATE_ARG) if t not in japanese]
    assert not missing, f"add to src/renkei/plan/locale/ja/plan.po: {missing}"


def test_categories_and_submitter_kinds_are_shown_in_japanese() -> None:
    _ = i18n.translator("ja")
    assert [_(c.key) for c in Category] == [c.value for c in Category]
    assert [_(k.value) for k in SubmitterKind] == ["企業・団体", "個人"]


def test_the_report_template_has_japanese() -> None:
    import re

    template = Path(renkei.__file__).parent / "plan" / "templates" / "report.html.j2"
    japanese = i18n.messages("ja")
    missing = [t for t in re.findall(r'_\("([^"]+)"\)', template.read_text(encoding="utf-8"))
               if t not in japanese]
    assert not missing, f"add to src/renkei/plan/locale/ja/plan.po: {missing}"


@pytest.mark.parametrize("value", ["planned", "in_progress", "done", "delayed", "dropped",
                                   "carried", "reworded", "new", "changed", "compliant",
                                   "partially_compliant", "non_compliant", "not_applicable",
                                   "not_assessed", "improved", "worsened", "same", "received",
                                   "categorised", "drafted", "approved"])
def test_values_shown_in_tables_have_japanese(value: str) -> None:
    assert value in i18n.messages("ja")
