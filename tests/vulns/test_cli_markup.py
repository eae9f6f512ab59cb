"""`renkei vulns …` prints the feeds', inventories' and members' text as it is: "[…]" in a
title, a file's name or an organisation's name is neither obeyed nor fatal."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from tests.cli_markup import hostile, run, run_on_terminal
from tests.vulns.test_cli import KEV, OSV


@hostile
def test_feed_inventory_and_member_text_is_printed_as_it_is(renkei_home: Path, tmp_path: Path,
                                                             markup: str) -> None:
    member = f"Bank {markup}"
    feeds = tmp_path / f"feeds {markup}"  # a "/" in it makes folders: the path holds it
    feeds.mkdir(parents=True)
    osv = {**OSV, "summary": f"SQL injection {markup}", "details": f"One {markup}\nTwo"}
    (feeds / "osv.json").write_text(json.dumps(osv))
    kev = {**KEV, "vulnerabilities": [{**KEV["vulnerabilities"][0],  # type: ignore[index]
                                       "requiredAction": f"Patch {markup}"}]}
    (feeds / "known_exploited_vulnerabilities.json").write_text(json.dumps(kev))
    with zipfile.ZipFile(feeds / "more.zip", "w") as archive:
        archive.writestr(f"broken {markup}.json", '{"id": "PYSEC-2026-12", "modified": ')
    inventory = tmp_path / "requirements.txt"
    inventory.write_text(f"django==4.2.1\n{markup} == 1\n")
    run(["orgs", "add", member])

    _, err = run_on_terminal(["vulns", "import", str(feeds)])
    assert str(feeds)[-40:] in err, "the progress bar shows the file's name"
    assert f"broken {markup}.json" in err, "the problem names the zip member"
    out, _ = run(["vulns", "show", "CVE-2026-1111"])
    assert f"SQL injection {markup}" in out
    assert f"Patch {markup}" in out
    run(["vulns", "assets", "add", "--org", member, "--name", f"web {markup}", str(inventory)])
    out, _ = run(["vulns", "alerts"])
    assert member in out
    out, err = run(["vulns", "match", "--inventory", str(inventory)])
    assert "CVE-2026-1111" in out
    assert f'"{markup} == 1"' in err, "the inventory's problem quotes the line"


@hostile
def test_json_output_is_the_feeds_text_untouched(renkei_home: Path, tmp_path: Path,
                                                 markup: str) -> None:
    feed = tmp_path / "osv.json"
    feed.write_text(json.dumps({**OSV, "summary": markup}))
    run(["vulns", "import", str(feed), "--json"])
    out, _ = run(["vulns", "show", "CVE-2026-1111", "--json"])
    (record,) = json.loads(out)["records"]
    assert record["summary"] == markup
