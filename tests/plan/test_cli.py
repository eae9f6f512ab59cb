"""`renkei plan …` as a user runs it: the shipped 2015 data, no set-up, no database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from renkei.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty data directory and a database URL nobody could reach: a command that
    touched the database would fail or leave a file behind."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("RENKEI_HOME", str(home))
    monkeypatch.setenv("RENKEI_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    monkeypatch.setenv("RENKEI_LANG", "en")
    return home


def _run(*args: str) -> str:
    result = runner.invoke(app, ["plan", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_measures_json_is_one_measure_per_line(home: Path) -> None:
    lines = _run("measures", "--json").splitlines()
    assert len(lines) == 240
    first = json.loads(lines[0])
    assert list(first) == ["id", "chapter", "section", "subsection", "number", "page", "owners", "text"]
    assert first["id"] == "1.1(1)(ア)"
    assert first["owners"] == ["内閣官房"]
    assert first["page"] == 2
    by_id = {m["id"]: m for m in map(json.loads, lines)}
    assert by_id["2.3(1)(キ)"]["section"] == "2.3"
    assert by_id["2.3(1)(キ)"]["subsection"] == "2.3(1)"
    assert by_id["5(ア)"]["section"] is None
    assert by_id["2.2(ア)"]["subsection"] is None
    assert list(home.iterdir()) == []


def test_measures_filter_by_owner_and_chapter() -> None:
    ipa = [json.loads(line) for line in _run("measures", "--json", "--owner", "IPA").splitlines()]
    assert ipa
    assert all("IPA" in m["owners"] for m in ipa)
    gov = [json.loads(line) for line in _run("measures", "--json", "--chapter", "2.3").splitlines()]
    assert len(gov) == 28
    both = _run("measures", "--json", "--owner", "総務省", "--chapter", "4").splitlines()
    assert {json.loads(line)["chapter"] for line in both} == {"4"}


def test_measures_table() -> None:
    out = _run("measures", "--chapter", "5")
    assert "5 measures" in out
    assert "5(ア)" in out


def test_comments_summary_json() -> None:
    summary = json.loads(_run("comments", "summary", "--json"))
    assert list(summary) == ["submitters", "comments", "by_submitter_kind", "by_category",
                             "changed", "changed_total", "published", "differences"]
    assert summary["comments"] == 105
    published = summary["published"]
    assert (published["submitters"], published["comments"]) == (30, 105)
    assert published["by_submitter_kind"] == {"organisation": {"submitters": 10, "comments": 54},
                                              "individual": {"submitters": 20, "comments": 51}}
    assert published["by_category"] == {"support": 3, "amendment": 33, "policy": 66, "other": 3}
    assert published["changed_total"] == 6
    assert summary["by_category"] == {"support": 3, "amendment": 34, "policy": 65, "other": 3}
    assert len(summary["differences"]) == 8


def test_comments_summary_table_in_japanese(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RENKEI_LANG", "ja")
    result = runner.invoke(app, ["plan", "comments", "summary"])
    assert result.exit_code == 0
    assert "意見募集の結果" in result.stdout
    assert "公表値" in result.stdout
    assert "修正意見" in result.stdout


def test_comments_list() -> None:
    rows = [json.loads(line) for line in _run("comments", "list", "--json").splitlines()]
    assert len(rows) == 105
    assert rows[0]["category"] == "other"
    assert rows[0]["category_ja"] == "その他"
    assert rows[13]["changed"] is True
    assert rows[13]["measure_ids"] == ["2.1(3)(コ)"]
    support = _run("comments", "list", "--json", "--category", "賛同意見").splitlines()
    assert [json.loads(line)["number"] for line in support] == [6, 81, 94]
    assert "34 public comments" in _run("comments", "list", "--category", "amendment")


def test_an_unknown_category_is_an_error() -> None:
    result = runner.invoke(app, ["plan", "comments", "list", "--category", "praise"])
    assert result.exit_code == 2
    assert "no category praise" in result.stderr


def test_other_years_load_from_files(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text("format: renkei-plan/1\nyear: 2016\ntitle: t\nnodes:\n"
                    "- {id: '1', kind: chapter}\n"
                    "- {id: 1(ア), kind: measure, parent: '1', text: 総務省において…, owners: [総務省]}\n",
                    encoding="utf-8")
    comments = tmp_path / "comments.csv"
    comments.write_text("number,submitter,category,summary,answer,refs,changed\n"
                        "1,個人(1),修正意見,直すべき。,修文しました。,1(ア),true\n", encoding="utf-8")
    assert json.loads(_run("measures", "--json", "--plan", str(plan)))["owners"] == ["総務省"]
    summary = json.loads(_run("comments", "summary", "--json", "--plan", str(plan),
                              "--comments", str(comments)))
    assert summary["changed_total"] == 1
    assert "published" not in summary
    listed = json.loads(_run("comments", "list", "--json", "--plan", str(plan), "--comments", str(comments)))
    assert listed["measure_ids"] == ["1(ア)"]


def test_a_broken_file_is_an_error_in_the_users_language(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"\xff\xfe not utf-8")
    result = runner.invoke(app, ["plan", "measures", "--plan", str(bad)])
    assert result.exit_code == 2
    assert "not UTF-8 text" in result.stderr
    monkeypatch.setenv("RENKEI_LANG", "ja")
    result = runner.invoke(app, ["plan", "comments", "summary", "--comments", str(bad)])
    assert result.exit_code == 2
    assert "UTF-8 のテキストではありません" in result.stderr
