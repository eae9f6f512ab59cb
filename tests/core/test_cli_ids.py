"""A record's number on the command line is 1 to MAX_ID: past it is a usage error, where
PostgreSQL refused the query (integer out of range) and the command died with a traceback.
The largest number that may exist is looked up like any other and is simply not found."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from renkei.cli import app
from renkei.core.models import MAX_ID

HUGE = "99999999999999999999"
COMMANDS = [
    ["incidents", "show", "{id}"],
    ["incidents", "ack", "{id}"],
    ["incidents", "note", "{id}", "x"],
    ["incidents", "task", "done", "1", "{id}"],
    ["incidents", "contacts", "remove", "{id}"],
    ["incidents", "webhooks", "remove", "{id}"],
    ["sharing", "show", "{id}", "--token", "x"],
    ["sharing", "approve", "{id}", "--token", "x"],
]
COMMENT = ["plan", "consultation", "approve", "pc-2026", "{id}"]  # numbered from 0 as printed


def run(command: list[str], number: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, [part.replace("{id}", number) for part in command])
    assert isinstance(result.exception, SystemExit | None), result.exception  # no traceback
    return result.exit_code, result.output


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_number_past_any_id_is_a_usage_error(renkei_home: Path, command: list[str]) -> None:
    for number in (HUGE, str(MAX_ID + 1), "0"):
        code, output = run(command, number)
        assert code == 2, (number, output)
        assert "Invalid value for" in output, output
        assert ("2147483647" if number != "0" else "greater than or equal to 1") in output
        assert "Traceback" not in output


@pytest.mark.parametrize("command", COMMANDS[:2] + COMMANDS[4:6], ids=" ".join)
def test_the_largest_id_is_looked_up_and_not_found(renkei_home: Path,
                                                   command: list[str]) -> None:
    code, output = run(command, str(MAX_ID))
    assert code == 2, output
    assert "error:" in output, output


def test_a_comment_number_may_be_0_but_not_past_any_id(renkei_home: Path) -> None:
    for number in (HUGE, str(MAX_ID + 1)):
        code, output = run(COMMENT, number)
        assert code == 2, output
        assert "Invalid value for" in output, (number, output)
    code, output = run(COMMENT, "0")  # looked up like any other number: no such consultation
    assert code == 2, output
    assert "Invalid value for" not in output, output
    assert "error:" in output, output
