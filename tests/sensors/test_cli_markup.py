"""`renkei sensors …` prints sites, owners and research scanners' names as they are: "[…]"
in them is neither obeyed nor fatal."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.cli_markup import hostile, run
from tests.sensors.sample_captures import MIRAI_SRC, darknet_capture


@hostile
def test_sites_owners_and_scanner_names_are_printed_as_they_are(
        renkei_home: Path, tmp_path: Path, write_file: Callable[..., Path], markup: str) -> None:
    owner, site, scanner = f"ISP {markup}", f"Koganei {markup}", f"Lab {markup}"
    run(["orgs", "add", owner])
    run(["sensors", "register", "tokyo-1", "--site", site, "--owner", owner,
         "--block", "203.0.113.0/24"])
    research = tmp_path / "research.yaml"
    research.write_text(json.dumps({scanner: [f"{MIRAI_SRC}/32"]}), encoding="utf-8")
    capture = write_file(darknet_capture())
    out, _ = run(["sensors", "list"])
    assert site in out
    assert owner in out
    out, _ = run(["sensors", "analyse", str(capture), "--research", str(research)])
    assert scanner in out
    run(["sensors", "ingest", str(capture), "--sensor", "tokyo-1", "--research", str(research)])
    out, _ = run(["sensors", "findings", "--src", MIRAI_SRC])
    assert scanner in out
    out, _ = run(["sensors", "findings", "--src", MIRAI_SRC, "--json"])
    assert scanner in json.loads(out.splitlines()[0])["labels"]
    out, _ = run(["sensors", "series"])
    assert "tokyo-1" in out
