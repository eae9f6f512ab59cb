"""`renkei plan status|year|audits|consultation|report` as a user runs them, on a fresh
database of the suite's kind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from renkei.cli import app
from renkei.core.pdf import pdf_available

runner = CliRunner()


def _run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, ["plan", *args])
    assert result.exit_code == code, result.output
    return result.output


def test_status_year_and_report(renkei_home: Path, tmp_path: Path) -> None:
    evidence = tmp_path / "minutes.txt"
    evidence.write_text("議事録", encoding="utf-8")
    _run("status", "set", "2.3(1)(キ)", "--year", "2015", "--status", "delayed",
         "--note", "<script>alert(1)</script>", "--evidence", "https://example.go.jp/x",
         "--file", str(evidence), "--evidence-date", "2015-11-30")
    lines = _run("status", "show", "--year", "2015", "--json").splitlines()
    assert len(lines) == 240
    (item,) = [json.loads(line) for line in lines if "2.3(1)(キ)" in line]
    assert item["status"] == "delayed"
    assert [e["kind"] for e in item["evidence"]] == ["link", "file"]
    assert _run("status", "show", "--year", "2015", "--json", "--as-of", "2000-01-01").count(
        '"status": null') == 240
    assert "delayed" in _run("status", "history", "2.3(1)(キ)", "--year", "2015")
    started = json.loads(_run("year", "start", "2016", "--from", "2015", "--json"))
    assert started["carried"] == 240
    assert "2016" in _run("year", "list")
    out = tmp_path / "report.html"
    _run("report", "--year", "2015", "--lang", "ja", "--out", str(out))
    html = out.read_text(encoding="utf-8")
    assert "年次評価報告" in html
    assert "<script>alert" not in html
    if pdf_available():
        pdf = tmp_path / "report.pdf"
        _run("report", "--year", "2015", "--lang", "en", "--out", str(pdf))
        assert pdf.read_bytes().startswith(b"%PDF-")


def test_refusals_exit_2_with_the_reason(renkei_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = runner.invoke(app, ["plan", "status", "set", "9(ア)", "--year", "2015",
                                 "--status", "done"])
    assert result.exit_code == 2
    assert "no measure 9(ア)" in result.output
    result = runner.invoke(app, ["plan", "status", "set", "5(ア)", "--year", "2015",
                                 "--status", "finished"])
    assert result.exit_code == 2
    monkeypatch.setenv("RENKEI_LANG", "ja")
    result = runner.invoke(app, ["plan", "status", "set", "5(ア)", "--year", "2015",
                                 "--status", "finished"])
    assert "状況 finished は使えません" in result.output


def test_audits_and_consultation(renkei_home: Path, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    assert runner.invoke(app, ["orgs", "add", "総務省"]).exit_code == 0
    assert "loaded" in _run("audits", "load")
    assert "unchanged" in _run("audits", "load")
    _run("audits", "campaign", "fy2015", "--framework", "renkei-example-baseline",
         "--year", "2015")
    _run("audits", "campaign", "fy2016", "--framework", "renkei-example-baseline",
         "--year", "2016")
    _run("audits", "result", "fy2015", "--org", "総務省", "--requirement", "G1.1",
         "--result", "partially-compliant", "--finding", "責任者が未指名")
    _run("audits", "result", "fy2016", "--org", "総務省", "--requirement", "G1.1",
         "--result", "compliant")
    shown = json.loads(_run("audits", "show", "fy2015", "--org", "総務省", "--json"))
    assert shown["counts"]["partially_compliant"] == 1
    compared = [json.loads(line) for line in _run(
        "audits", "compare", "fy2015", "fy2016", "--org", "総務省", "--json").splitlines()]
    assert next(c for c in compared if c["ref"] == "G1.1")["trend"] == "improved"

    comments = tmp_path / "received.csv"
    comments.write_text("number,submitter,summary\n1,個人(1),意見です。\n", encoding="utf-8")
    _run("consultation", "create", "cs2016", "--year", "2016")
    assert "1 comments added" in _run("consultation", "import", "cs2016", str(comments))
    _run("consultation", "categorise", "cs2016", "1", "policy")
    monkeypatch.setenv("USER", "drafter")
    monkeypatch.setenv("LOGNAME", "drafter")
    _run("consultation", "draft", "cs2016", "1", "--answer", "参考とします。")
    assert "other than its drafter" in _run("consultation", "approve", "cs2016", "1", code=2)
    monkeypatch.setenv("USER", "approver")
    monkeypatch.setenv("LOGNAME", "approver")
    _run("consultation", "approve", "cs2016", "1")
    out = tmp_path / "results.yaml"
    summary = json.loads(_run("consultation", "publish", "cs2016", "--out", str(out)))
    assert summary["by_category"]["policy"] == 1
    again = json.loads(_run("comments", "summary", "--json", "--comments", str(out)))
    assert again["comments"] == 1
