"""Text that rich would read as markup, for the tests that every command prints others' text
as it is: a stray closing tag (rich refused it, and the command failed), a colour and a
link (rich obeyed them, and what was shown changed)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Sequence

import pytest
from typer.testing import CliRunner

from renkei.cli import app

HOSTILE = ("[/x]", "[red]x[/red]", "[link=http://e.invalid]x[/link]")
hostile = pytest.mark.parametrize("markup", HOSTILE, ids=("closing-tag", "colour", "link"))

_runner = CliRunner()
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def run(args: Sequence[str], stdin: str | None = None,
        env: dict[str, str] | None = None) -> tuple[str, str]:
    """``renkei *args`` in-process on a terminal wide enough that no cell wraps; it must
    exit 0 (a MarkupError is raised as itself). Returns stdout and stderr."""
    result = _runner.invoke(app, list(args), input=stdin, env={"COLUMNS": "400", **(env or {})})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, (args, result.stdout, result.stderr)
    return result.stdout, result.stderr


def run_on_terminal(args: Sequence[str]) -> tuple[str, str]:
    """``renkei *args`` in a child process that rich takes for a terminal, so that progress
    bars are drawn; it must exit 0. Returns stdout and stderr without colours."""
    done = subprocess.run(
        [sys.executable, "-m", "renkei", *args], capture_output=True, text=True, check=False,
        env={**os.environ, "TTY_COMPATIBLE": "1", "COLUMNS": "400"}, timeout=300)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return _ANSI.sub("", done.stdout), _ANSI.sub("", done.stderr)
