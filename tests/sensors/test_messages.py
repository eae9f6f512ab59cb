"""Every message the sensors domain's store, service, notifications, CLI and API can answer
or print has Japanese."""

from __future__ import annotations

from pathlib import Path

import pytest

import renkei
from renkei.core import i18n
from tests.message_templates import templates

FOLDER = Path(renkei.__file__).parent / "sensors"
FILES = [FOLDER / name for name in ("store.py", "service.py", "notify.py", "cli.py", "api.py")]
# error classes and the position of their message template; ``_`` is the CLI's translator
TEMPLATE_ARG = {"SensorsError": 0, "NotFoundError": 0, "NoSuchMemberError": 0,
                "HttpError": 1, "_": 0}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_message_has_japanese(path: Path) -> None:
    japanese = i18n.messages("ja")
    missing = [t for t in templates(path, TEMPLATE_ARG) if t not in japanese]
    assert not missing, f"add to src/renkei/sensors/locale/ja/cli.po: {missing}"


def test_the_finding_table_speaks_japanese() -> None:
    _ = i18n.translator("ja")
    assert [_(name) for name in ("kind", "source", "packets")] == ["種別", "送信元", "パケット数"]
