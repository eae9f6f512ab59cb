"""`renkei sharing …` prints reports, collections and the diff of a sanitisation as they are:
"[…]" in a report's title or a collection's is neither obeyed nor fatal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from renkei.core import members
from tests.cli_markup import hostile, run


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(members, "PASSWORD_HASHER",
                        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@hostile
def test_reports_and_collections_are_printed_as_they_are(renkei_home: Path, tmp_path: Path,
                                                         markup: str) -> None:
    member = f"Bank {markup}"
    run(["orgs", "add", "NISC", "--hub"])
    run(["orgs", "add", member, "--community", "finance"])
    analyst = run(["tokens", "create", "--org", "NISC", "--scope", "read,submit"])[0].strip()
    alice = run(["tokens", "create", "--org", member, "--scope", "read,submit",
                 "--label", f"Alice {markup}"])[0].strip()
    report = tmp_path / "report.json"
    report.write_text(json.dumps({
        "title": f"Phishing {markup}", "description": f"Seen at {markup} by staff",
        "tlp": "green", "indicators": [{"type": "domain", "value": "evil.example"}]}),
        encoding="utf-8")
    number = run(["sharing", "submit", str(report), "--token", alice])[0].split("\t")[0]
    out, _ = run(["sharing", "sanitise", number, "--token", analyst, "--staff-name", "staff"])
    assert f"Seen at {markup} by" in out
    out, _ = run(["sharing", "show", number, "--token", alice])
    assert f"Seen at {markup} by" in out
    run(["sharing", "approve", number, "--token", alice])
    run(["sharing", "publish", number, "--token", analyst])
    out, _ = run(["sharing", "objects", "--token", alice, "--json", "--type", "report"])
    assert json.loads(out)["name"] == f"Phishing {markup}"
    run(["sharing", "collections", "add", "finance", "--title", f"Finance {markup}",
         "--community", "finance"])
    out, _ = run(["sharing", "collections", "list"])
    assert f"\tFinance {markup}\n" in out
    out, _ = run(["tokens", "list", "--org", member])
    assert f"\tAlice {markup}\n" in out
