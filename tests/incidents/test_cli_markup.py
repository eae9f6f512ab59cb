"""`renkei incidents …` prints titles, notes, names and references as they are: "[…]" in
them is neither obeyed nor fatal."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli_markup import hostile, run


@hostile
def test_incident_text_is_printed_as_it_is(renkei_home: Path, markup: str) -> None:
    member = f"Bank {markup}"
    run(["orgs", "add", member])
    run(["incidents", "create", "--title", f"Phishing {markup}", "--org", member,
         "--description", f"Seen {markup}"])
    run(["incidents", "task", "add", "1", f"Block {markup}"])
    run(["incidents", "note", "1", f"Called {markup}"])
    run(["incidents", "evidence", "1", "reference", f"ticket {markup}"])
    out, _ = run(["incidents", "show", "1"])
    for text in (f"#1 Phishing {markup}", f"organisations: {member}", f"Seen {markup}",
                 f"Block {markup}", f"Called {markup}", f"reference:ticket {markup}"):
        assert text in out
    out, _ = run(["incidents", "list"])
    assert f"Phishing {markup}" in out
    assert member in out
    out, _ = run(["incidents", "list", "--json"])
    assert json.loads(out)["title"] == f"Phishing {markup}"
