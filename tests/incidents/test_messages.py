"""Every message the incidents domain can answer or print has Japanese."""

from __future__ import annotations

from pathlib import Path

import pytest

import renkei
from renkei.core import i18n
from renkei.incidents import notify
from renkei.incidents.model import Category, EventKind, Severity, Status
from tests.message_templates import templates

FILES = sorted((Path(renkei.__file__).parent / "incidents").glob("*.py"))
# error classes and the position of their message template; ``_`` is the CLI's translator
TEMPLATE_ARG = {"IncidentError": 0, "SourceError": 0, "NotifyError": 0, "HttpError": 1, "_": 0,
                "gettext_noop": 0}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_message_has_japanese(path: Path) -> None:
    japanese = i18n.messages("ja")
    missing = [t for t in templates(path, TEMPLATE_ARG) if t not in japanese]
    assert not missing, f"add to src/renkei/incidents/locale/ja/incidents.po: {missing}"


def test_statuses_severities_categories_and_events_have_japanese() -> None:
    japanese = i18n.messages("ja")
    words = [*Status, *Severity, *Category, *EventKind, "acknowledge", "resolve"]
    missing = [str(w) for w in words if str(w) not in japanese]
    assert not missing, missing


def test_a_refusal_reads_in_japanese() -> None:
    from renkei.incidents.errors import IncidentError

    error = IncidentError("no incident {id}", status=404, id=7)
    assert error.translate(i18n.translator("ja")) == "インシデント 7 はありません"
    assert str(error) == "no incident 7"


def test_the_notification_lines_are_translated() -> None:
    japanese = i18n.messages("ja")
    assert all(line in japanese for line in (notify.SUBJECT, *notify.LINES))
