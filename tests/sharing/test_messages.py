"""Every message the sharing domain and the HTTP layer can answer with has Japanese."""

from __future__ import annotations

from pathlib import Path

import pytest

import renkei
from renkei.core import i18n
from tests.message_templates import templates

PACKAGE = Path(renkei.__file__).parent
FILES = [*sorted((PACKAGE / "sharing").glob("*.py")), PACKAGE / "core" / "http.py"]
# error classes and the position of their message template
TEMPLATE_ARG = {"TaxiiError": 1, "HttpError": 1, "WorkflowError": 0, "UserError": 0,
                "gettext_noop": 0}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_message_has_japanese(path: Path) -> None:
    japanese = i18n.messages("ja")
    missing = [t for t in templates(path, TEMPLATE_ARG) if t not in japanese]
    assert not missing, f"add to a ja catalogue: {missing}"


def test_the_scan_finds_messages() -> None:
    assert "no collection {id}" in templates(PACKAGE / "sharing" / "taxii.py", TEMPLATE_ARG)


def test_a_refusal_s_fixed_reason_is_translated_too() -> None:
    from renkei.sharing.service import REFUSALS, WorkflowError

    ja = i18n.translator("ja")
    for reason in REFUSALS:
        shown = WorkflowError("not allowed: {reason}", status=403, reason=reason).translate(ja)
        assert shown.startswith("許可されていません: ")
        assert reason not in shown
    dynamic = WorkflowError("not allowed: {reason}", reason="the submission is published")
    assert dynamic.translate(ja).endswith("the submission is published")
