"""`renkei plan …` prints plan, comment and framework files, notes, organisations' and
campaigns' names as they are: "[…]" in them is neither obeyed nor fatal."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli_markup import hostile, run


@hostile
def test_plan_files_notes_and_audits_are_printed_as_they_are(
        renkei_home: Path, tmp_path: Path, markup: str) -> None:
    measure = f"1(ア){markup}"
    plan = tmp_path / "plan.yaml"  # JSON is YAML, and needs no quoting of "[" here
    plan.write_text(json.dumps({
        "format": "renkei-plan/1", "year": 2016, "title": f"Plan {markup}",
        "nodes": [{"id": "1", "kind": "chapter", "title": "c"},
                  {"id": measure, "kind": "measure", "parent": "1", "text": f"Do {markup}",
                   "owners": [f"Office {markup}"]}]}), encoding="utf-8")
    comments = tmp_path / "comments.yaml"
    comments.write_text(json.dumps({
        "format": "renkei-comments/1", "year": 2016,
        "comments": [{"number": 1, "submitter": f"Org {markup}", "section": f"S {markup}",
                      "category": "support", "summary": f"Agree {markup}", "answer": "ok",
                      "refs": [measure]}]}), encoding="utf-8")
    framework = tmp_path / "framework.yaml"
    framework.write_text(json.dumps({
        "format": "renkei-framework/1", "key": "k", "version": "1", "title": f"F {markup}",
        "requirements": [{"ref": f"R{markup}", "title": f"Owner named {markup}"}]}),
        encoding="utf-8")
    member = f"Ministry {markup}"
    earlier, later = f"fy2015 {markup}", f"fy2016 {markup}"

    out, _ = run(["plan", "measures", "--plan", str(plan)])
    for text in (f"Plan {markup}: 1 measures", measure, f"Do {markup}", f"Office {markup}"):
        assert text in out
    out, _ = run(["plan", "comments", "list", "--plan", str(plan), "--comments", str(comments)])
    for text in (f"Org {markup}", f"S {markup}", f"Agree {markup}"):
        assert text in out

    run(["plan", "status", "set", "2.3(1)(キ)", "--year", "2015", "--status", "delayed",
         "--note", f"Late {markup}\nsecond line"])
    out, _ = run(["plan", "status", "show", "--year", "2015"])
    assert f"Late {markup}" in out

    run(["orgs", "add", member])
    run(["plan", "audits", "load", str(framework)])
    for campaign, result in ((earlier, "non_compliant"), (later, "compliant")):
        run(["plan", "audits", "campaign", campaign, "--framework", "k", "--year", "2015"])
        run(["plan", "audits", "result", campaign, "--org", member, "--requirement",
             f"R{markup}", "--result", result, "--finding", f"Found {markup}"])
    out, _ = run(["plan", "audits", "show", earlier, "--org", member])
    for text in (f"{earlier} · {member}", f"R{markup}", f"Owner named {markup}",
                 f"Found {markup}"):
        assert text in out
    out, _ = run(["plan", "audits", "compare", earlier, later, "--org", member])
    for text in (f"{member}: {earlier} → {later}", earlier, later, f"Owner named {markup}"):
        assert text in out
