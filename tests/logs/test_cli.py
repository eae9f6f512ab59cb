"""The `renkei logs` command as other tools use it: flags and the JSON Lines contract."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner

from renkei.cli import app
from tests.logs.conftest import clf

CONTRACT = {"file", "line", "category", "rule", "severity", "src", "succeeded"}
CATEGORIES = {"sqli", "xss", "cmdi", "traversal", "rfi", "code-injection", "java", "shellshock",
              "ssti", "scanner", "sensitive-file", "brute-force", "error-anomaly"}

runner = CliRunner()


def test_scan_json_lines_contract(renkei_home: Path, write_log: Callable[..., Path]) -> None:
    path = write_log([clf("/"), clf("/p.php?id=1%20UNION%20SELECT%201,2", status=500)])
    result = runner.invoke(app, ["logs", "scan", str(path), "--json"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows
    for row in rows:
        assert set(row) >= CONTRACT
        assert row["category"] in CATEGORIES
        assert row["succeeded"] in (True, False, None)
        assert row["file"] == str(path)
    sqli = next(r for r in rows if r["category"] == "sqli")
    assert (sqli["line"], sqli["src"], sqli["succeeded"]) == (2, "192.0.2.10", True)


def test_scan_sample_writes_reports(renkei_home: Path, tmp_path: Path) -> None:
    html, csv_path, report = tmp_path / "r.html", tmp_path / "r.csv", tmp_path / "r.json"
    result = runner.invoke(app, ["logs", "scan", "--sample", "--lang", "ja", "--html", str(html),
                                 "--csv", str(csv_path), "--report-json", str(report)])
    assert result.exit_code == 0, result.output
    assert 'lang="ja"' in html.read_text(encoding="utf-8")
    assert csv_path.read_text(encoding="utf-8").count("\n") > 5
    assert json.loads(report.read_text(encoding="utf-8"))
    again = runner.invoke(app, ["logs", "alerts", "--json", "--limit", "1000"])
    assert again.exit_code == 0
    assert len(again.stdout.splitlines()) > 5


def test_unreadable_input_exits_2_and_names_the_file(renkei_home: Path, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(bytes(range(256)))
    result = runner.invoke(app, ["logs", "scan", str(garbage), "--json", "--no-store"])
    assert result.exit_code == 2
    assert "garbage.bin" in result.stderr


def test_rules_list_and_test(renkei_home: Path) -> None:
    listed = runner.invoke(app, ["logs", "rules", "--json"])
    assert listed.exit_code == 0
    rules = [json.loads(line) for line in listed.stdout.splitlines()]
    assert {r["category"] for r in rules} <= CATEGORIES
    tested = runner.invoke(app, ["logs", "rules", "--test"])
    assert tested.exit_code == 0, tested.output
    assert " 0 failures" in tested.stderr


def test_bad_rule_file_is_named(renkei_home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - id: X1\n    category: nope\n    severity: high\n    pattern: a\n")
    result = runner.invoke(app, ["logs", "rules", "--rules", str(bad)])
    assert result.exit_code == 2
    assert "bad.yaml" in result.stderr
    assert "X1" in result.stderr


def test_the_installed_command_runs(renkei_home: Path, write_log: Callable[..., Path]) -> None:
    path = write_log([clf("/q?x=1%20union%20select%202")])
    done = subprocess.run([sys.executable, "-m", "renkei", "logs", "scan", str(path), "--json",
                           "--no-store"], capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[0])["line"] == 1


def test_sigma_rules_run_beside_renkeis(renkei_home: Path, write_log: Callable[..., Path]) -> None:
    rules = Path(__file__).parent / "files" / "sigma" / "scanner_regex.yml"
    path = write_log([clf("/", agent="sqlmap/1.8"), clf("/", agent="Mozilla/5.0")])
    result = runner.invoke(app, ["logs", "scan", str(path), "--json", "--no-store",
                                 "--sigma", str(rules)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    sigma = [r for r in rows if r["engine"] == "sigma"]
    assert [(r["line"], r["category"]) for r in sigma] == [(1, "scanner")]
    assert sigma[0]["rule"].startswith("sigma:")


def test_broken_sigma_rules_are_named_and_skipped(renkei_home: Path, write_log: Callable[..., Path]) -> None:
    folder = Path(__file__).parent / "files" / "sigma"
    path = write_log([clf("/", agent="sqlmap/1.8")])
    result = runner.invoke(app, ["logs", "scan", str(path), "--json", "--no-store", "--sigma", str(folder)])
    assert result.exit_code == 0, result.output
    assert "broken.yml" in result.stderr
    assert any(json.loads(line)["engine"] == "sigma" for line in result.stdout.splitlines())


def test_unknown_organisation_is_a_clear_error(renkei_home: Path, write_log: Callable[..., Path]) -> None:
    result = runner.invoke(app, ["logs", "scan", str(write_log([clf("/")])), "--org", "Nobody"])
    assert result.exit_code == 2
    assert "no organisation named 'Nobody'" in result.stderr
