"""`renkei incidents …` as an operator uses it, on a fresh data directory."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from renkei.cli import app

runner = CliRunner()


def renkei(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_an_incident_from_the_command_line(renkei_home: Path) -> None:
    for name in ("Acme Bank", "Peer Bank"):
        assert renkei("orgs", "add", name)[0] == 0
    code, out, err = renkei("incidents", "create", "--title", "Phishing wave",
                            "--severity", "high", "--category", "fraud", "--org", "Acme Bank",
                            "--org", "Peer Bank")
    assert code == 0, err
    assert "incident 1 opened" in out
    assert renkei("incidents", "ack", "1")[1].strip() == "incident 1 is acknowledged"
    code, _, err = renkei("incidents", "status", "1", "contained")
    assert code == 2
    assert "can move to closed, investigating, resolved, not contained" in err
    assert renkei("incidents", "task", "add", "1", "Block the domain")[0] == 0
    assert renkei("incidents", "task", "done", "1", "1")[0] == 0
    assert renkei("incidents", "note", "1", "Acme confirmed")[0] == 0
    assert renkei("incidents", "indicator", "add", "1", "domain", "evil.example")[0] == 0
    assert renkei("incidents", "evidence", "1", "reference", "ticket 4711")[0] == 0
    code, out, _ = renkei("incidents", "list", "--json")
    (listed,) = [json.loads(line) for line in out.splitlines()]
    assert listed["status"] == "acknowledged"
    assert listed["organisations"] == ["Acme Bank", "Peer Bank"]
    code, out, _ = renkei("incidents", "show", "1", "--json")
    assert [e["kind"] for e in json.loads(out)["events"]] == [
        "created", "status", "task_added", "task_done", "note", "indicator", "evidence"]
    code, out, _ = renkei("incidents", "metrics", "--json")
    assert json.loads(out)["time_to_acknowledge"]["count"] == 1
    assert renkei("incidents", "list", "--overdue", "--json")[1] == ""
    assert renkei("incidents", "metrics")[0] == 0


def test_hostile_text_is_shown_escaped(renkei_home: Path) -> None:
    renkei("orgs", "add", "Acme Bank")
    code, _, err = renkei("incidents", "create", "--title", "evil\x1b[2J", "--org", "Acme Bank")
    assert code == 2
    assert "control characters" in err
    assert renkei("incidents", "create", "--title", "[bold red]boom[/] <b>",
                  "--org", "Acme Bank")[0] == 0
    renkei("incidents", "note", "1", "line one\n\x1b[31m")  # refused: an escape sequence
    code, out, _ = renkei("incidents", "show", "1")
    assert "[bold red]boom[/] <b>" in out
    assert "\x1b" not in out
    code, out, _ = renkei("incidents", "list")
    assert "[bold" in out  # the markup is shown as text (the cell may wrap), not applied
    assert renkei("incidents", "create", "--title", "x", "--org", "Nobody")[0] == 2


def test_webhook_secret_is_shown_once(renkei_home: Path) -> None:
    renkei("orgs", "add", "Acme Bank")
    code, out, err = renkei("incidents", "webhooks", "add", "Acme Bank",
                            "https://hooks.acme.example/renkei")
    assert code == 0, err
    secret = out.splitlines()[-1]
    assert secret.startswith("whsec_")
    code, out, _ = renkei("incidents", "webhooks", "list")
    assert "https://hooks.acme.example/renkei" in out
    assert secret not in out
    code, _, err = renkei("incidents", "webhooks", "add", "Acme Bank", "http://acme.example/")
    assert code == 2
    assert "must be https" in err
    hook_id = out.split("\t")[0] if (out := renkei("incidents", "webhooks", "list")[1]) else ""
    code, out, err = renkei("incidents", "webhooks", "remove", hook_id)
    assert code == 0, err
    assert "removed" in out
    assert renkei("incidents", "webhooks", "list")[1] == ""
    assert renkei("incidents", "webhooks", "remove", hook_id)[0] == 2  # gone: refused


def test_contacts_are_listed_and_removed(renkei_home: Path) -> None:
    renkei("orgs", "add", "Acme Bank")
    renkei("orgs", "add", "Peer Bank")
    assert renkei("incidents", "contacts", "add", "Acme Bank", "soc@acme.example")[0] == 0
    assert renkei("incidents", "contacts", "add", "Peer Bank", "cert@peer.example",
                  "--lang", "ja")[0] == 0
    code, out, _ = renkei("incidents", "contacts", "list", "--org", "Peer Bank")
    assert out.strip().split("\t")[1:] == ["Peer Bank", "cert@peer.example", "ja"]
    contact_id = out.split("\t")[0]
    code, out, err = renkei("incidents", "contacts", "remove", contact_id)
    assert code == 0, err
    assert "cert@peer.example" in out
    assert "cert@peer.example" not in renkei("incidents", "contacts", "list")[1]
    assert "soc@acme.example" in renkei("incidents", "contacts", "list")[1]


def test_japanese_messages(renkei_home: Path, monkeypatch: object) -> None:
    import pytest

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    monkeypatch.setenv("RENKEI_LANG", "ja")
    renkei("orgs", "add", "Acme Bank")
    _code, out, _ = renkei("incidents", "create", "--title", "不審メール", "--org", "Acme Bank")
    assert "インシデント 1 を起票しました" in out
    _code, _, err = renkei("incidents", "status", "1", "resolved")
    assert "移れる状態は" in err
