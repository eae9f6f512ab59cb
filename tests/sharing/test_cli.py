"""`renkei sharing …` as an analyst and a member script it: the whole consent workflow,
collections, objects and sightings, refusals audited."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from typer.testing import CliRunner

from renkei.cli import app
from renkei.core import members
from renkei.core.db import Database
from renkei.core.models import AuditEvent

runner = CliRunner()
PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(members, "PASSWORD_HASHER",
                        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def renkei(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def token(*args: str) -> str:
    code, out, err = renkei("tokens", "create", *args)
    assert code == 0, err
    return out.strip()


@pytest.fixture
def hub(renkei_home: Path) -> dict[str, str]:
    assert renkei("orgs", "add", "NISC", "--hub")[0] == 0
    assert renkei("orgs", "add", "Example Bank", "--community", "finance")[0] == 0
    assert renkei("orgs", "add", "Other Bank", "--community", "finance")[0] == 0
    for email, org, role in (("analyst@nisc.example", "NISC", "hub-analyst"),
                             ("alice@bank.example", "Example Bank", "member-submitter"),
                             ("bob@bank.example", "Example Bank", "member-reader")):
        code, _, err = renkei("users", "add", "--org", org, "--role", role, "--password-stdin",
                              email, stdin=PASSWORD + "\n")
        assert code == 0, err
    return {"analyst": token("--org", "NISC", "--user", "analyst@nisc.example",
                             "--scope", "read,submit"),
            "alice": token("--org", "Example Bank", "--user", "alice@bank.example",
                           "--scope", "read,submit"),
            "bob": token("--org", "Example Bank", "--user", "bob@bank.example", "--scope", "read"),
            "other": token("--org", "Other Bank", "--scope", "read")}


def audit_actions() -> list[str]:
    db = Database(os.environ["RENKEI_DATABASE_URL"])
    try:
        with db.session() as session:
            return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    finally:
        db.dispose()


def test_the_workflow_from_the_command_line(hub: dict[str, str], tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    report.write_text(json.dumps({
        "title": "Phishing", "description": "Reported by alice@bank.example from "
        "mail01.bank.example", "tlp": "amber",
        "indicators": [{"type": "domain", "value": "evil.example"},
                       {"type": "ipv4", "value": "10.20.30.40"}]}), encoding="utf-8")
    code, out, err = renkei("sharing", "submit", str(report), "--token", hub["alice"])
    assert code == 0, err
    number, state, marking = out.strip().split("\t")
    assert (state, marking) == ("submitted", "TLP:AMBER")
    code, out, err = renkei("sharing", "sanitise", number, "--token", hub["analyst"],
                            "--own-domain", "bank.example", "--own-network", "10.0.0.0/8")
    assert code == 0, err
    assert "[e-mail address]" in out
    code, _, err = renkei("sharing", "approve", number, "--token", hub["bob"])
    assert code == 2
    assert "error:" in err
    assert renkei("sharing", "approve", number, "--token", hub["alice"])[0] == 0
    code, out, err = renkei("sharing", "publish", number, "--token", hub["analyst"])
    assert code == 0, err
    assert "TLP:AMBER" in out
    code, out, _ = renkei("sharing", "objects", "--token", hub["other"], "--json",
                          "--type", "indicator")
    lines = [json.loads(line) for line in out.splitlines()]
    assert [o["pattern"] for o in lines] == ["[domain-name:value = 'evil.example']"]
    assert "10.20.30.40" not in out  # the submitter's own network was removed
    code, out, err = renkei("sharing", "sight", lines[0]["id"], "--token", hub["alice"],
                            "--count", "4")
    assert code == 0, err
    assert out.strip().split("\t")[1:] == ["4", "1"]
    code, out, _ = renkei("sharing", "submissions", "--token", hub["other"])
    assert out == ""  # another bank sees none of Example Bank's submissions
    assert renkei("sharing", "show", number, "--token", hub["other"])[0] == 2
    actions = audit_actions()
    assert {"sharing.submit", "sharing.sanitise", "sharing.approve.refused",
            "sharing.approve", "sharing.publish", "sharing.sighting"} <= set(actions)


def test_invalid_reports_and_bad_tokens_are_refused(hub: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"title": "x", "tlp": "ultraviolet", "indicators": []}', encoding="utf-8")
    code, _, err = renkei("sharing", "submit", str(bad), "--token", hub["alice"])
    assert code == 2
    assert "tlp" in err.lower()
    code, _, err = renkei("sharing", "submissions", "--token", "rk_0000000000000000_" + "A" * 43)
    assert code == 2
    assert "invalid credentials" in err
    code, _, err = renkei("sharing", "submit", str(tmp_path / "missing.json"),
                          "--token", hub["alice"])
    assert code == 2
    assert "auth.failed" in audit_actions()


def test_collections_are_added_and_listed(hub: dict[str, str]) -> None:
    code, out, err = renkei("sharing", "collections", "add", "finance-amber", "--title",
                            "Finance (AMBER)", "--marking", "amber", "--community", "finance")
    assert code == 0, err
    code, out, _ = renkei("sharing", "collections", "list")
    rows = [line.split("\t") for line in out.splitlines()]
    assert [r[1:4] for r in rows] == [["hub", "*", "*"], ["finance-amber", "amber", "finance"]]
    code, _, err = renkei("sharing", "collections", "add", "x", "--title", "X",
                          "--community", "nobody")
    assert code == 2
    assert "nobody" in err


def test_misp_events_go_out_and_come_in(hub: dict[str, str], tmp_path: Path) -> None:
    from pymisp import MISPEvent

    event = MISPEvent()
    event.info = "Campaign against banks"
    event.add_tag("tlp:green")
    event.add_attribute("ip-dst", "198.51.100.23", to_ids=True)
    event.add_attribute("domain", "bad.example", to_ids=True)
    event.add_attribute("text", "free text MISP cannot say in STIX")
    source = tmp_path / "event.json"
    source.write_text(event.to_json(), encoding="utf-8")
    code, out, err = renkei("sharing", "misp", "import", str(source), "--token", hub["alice"])
    assert code == 0, err
    number, state, marking = out.strip().split("\t")
    assert (state, marking) == ("submitted", "TLP:GREEN")
    assert "text" in err  # what could not come along is said
    assert renkei("sharing", "sanitise", number, "--token", hub["analyst"])[0] == 0
    assert renkei("sharing", "approve", number, "--token", hub["alice"])[0] == 0
    assert renkei("sharing", "publish", number, "--token", hub["analyst"])[0] == 0
    exported = tmp_path / "out.json"
    code, _, err = renkei("sharing", "misp", "export", "--token", hub["other"],
                          "--out", str(exported))
    assert code == 0, err
    (only,) = json.loads(exported.read_text(encoding="utf-8"))
    values = {a["value"] for a in only["Event"].get("Attribute", [])}
    values |= {a["value"] for o in only["Event"].get("Object", []) for a in o["Attribute"]}
    assert {"198.51.100.23", "bad.example"} <= values
    assert only["Event"]["Orgc"]["name"] == "NISC"
    assert any(t["name"] == "tlp:green" for t in only["Event"]["Tag"])
    assert "sharing.misp.export" in audit_actions()
