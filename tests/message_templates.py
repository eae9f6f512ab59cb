"""Finds the message templates a module can answer with, for the tests that check each has
Japanese: the constant string a call to an error class (or ``_``) is given."""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from pathlib import Path


def templates(path: Path, template_arg: Mapping[str, int]) -> list[str]:
    """Constant strings passed to the callables named in ``template_arg`` (name -> position
    of the template among the positional arguments)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        index = template_arg.get(name or "")
        if index is None or len(node.args) <= index:
            continue
        arg = node.args[index]
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            found.append(arg.value)
    return found


_TEMPLATE_CALL = re.compile(r"""\b_\(\s*(?:'([^'\\]*)'|"([^"\\]*)")\s*\)""")


def page_templates(path: Path) -> list[str]:
    """The constant strings a Jinja2 template translates: ``{{ _('Sign in') }}``."""
    return [m.group(1) if m.group(1) is not None else m.group(2)
            for m in _TEMPLATE_CALL.finditer(path.read_text(encoding="utf-8"))]
