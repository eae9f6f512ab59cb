"""`renkei logs …` prints log lines and rule files as they are: "[…]" in a request or a
rule's title is neither obeyed nor fatal."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.cli_markup import hostile, run, run_on_terminal
from tests.logs.conftest import clf

RULE = """rules:
  - id: RK-TEST-PROBE
    title: {{en: 'Probe {markup}', ja: '探査 {markup}'}}
    category: sqli
    severity: high
    pattern: 'markup-probe'
"""


@hostile
def test_requests_and_rule_titles_are_printed_as_they_are(
        renkei_home: Path, tmp_path: Path, write_log: Callable[..., Path], markup: str) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULE.format(markup=markup), encoding="utf-8")
    target = f"/markup-probe?q={markup}"
    log = write_log([clf(target, status=500), clf("/")])
    out, _ = run(["logs", "rules", "--rules", str(rules)])
    assert f"Probe {markup}" in out
    out, _ = run(["logs", "rules", "--rules", str(rules), "--lang", "ja"])
    assert f"探査 {markup}" in out
    out, _ = run(["logs", "scan", str(log), "--rules", str(rules)])
    assert f"GET {target}" in out, "the request that may have succeeded"
    run_on_terminal(["logs", "scan", str(log), "--rules", str(rules), "--no-store"])
    out, _ = run(["logs", "alerts"])
    assert target in out
    out, _ = run(["logs", "alerts", "--json"])
    assert json.loads(out)["target"] == target
