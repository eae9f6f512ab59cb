"""Every message the sharing domain and the HTTP layer can answer with has Japanese."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import renkei
from renkei.core import i18n

PACKAGE = Path(renkei.__file__).parent
FILES = [*sorted((PACKAGE / "sharing").glob("*.py")), PACKAGE / "core" / "http.py"]
# error classes and the position of their message template
TEMPLATE_ARG = {"TaxiiError": 1, "HttpError": 1, "WorkflowError": 0, "UserError": 0,
                "gettext_noop": 0}


def templates(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        index = TEMPLATE_ARG.get(name or "")
        if index is None or len(node.args) <= index:
            continue
        arg = node.args[index]
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            found.append(arg.value)
    return found


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_message_has_japanese(path: Path) -> None:
    japanese = i18n.messages("ja")
    missing = [t for t in templates(path) if t not in japanese]
    assert not missing, f"add to a ja catalogue: {missing}"


def test_the_scan_finds_messages() -> None:
    assert "no collection {id}" in templates(PACKAGE / "sharing" / "taxii.py")
