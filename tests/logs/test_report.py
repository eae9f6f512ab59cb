"""The scan reports: content in both languages, escaping of log text, bounded size."""

from __future__ import annotations

import ast
import csv
import io
import json
import re
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from jinja2.ext import babel_extract
from rich.console import Console

from renkei.logs import report
from renkei.logs.model import Category, FileSummary, Finding, ParseIssue, ScanResult, Severity

JST = timezone(timedelta(hours=9))
START = datetime(2025, 11, 24, 9, 0, tzinfo=JST)
LOGS = Path(report.__file__).parent
SOURCES = [LOGS / "report.py", LOGS / "charts.py", LOGS / "judge.py", LOGS / "aggregate.py"]
TEMPLATE = LOGS / "templates" / "report.html.j2"
CATALOGUE = LOGS / "locale" / "ja" / "report.po"


def finding(**changes: object) -> Finding:
    base = Finding(
        file="/var/log/nginx/access.log", line=10, category=Category.SQLI, rule="RK-SQLI-UNION",
        severity=Severity.HIGH, src="203.0.113.5", time=START, method="GET",
        target="/item.php?id=1 union select 1,2", status=404, size=512,
        user_agent="Mozilla/5.0", field="target", fragment="union select",
        rule_title="UNION-based SQL injection", succeeded=False,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def sample_result() -> ScanResult:
    """A day of a small site's log: several categories, one success, some bad lines."""
    result = ScanResult(started=START + timedelta(days=1), finished=START + timedelta(days=1, seconds=3))
    result.files = [
        FileSummary("/var/log/nginx/access.log", "combined", 5000, 4990, 10, 700_000),
        FileSummary("/var/log/nginx/other.log", "combined", 0, 0, 0, 0, "permission denied"),
    ]
    specs = [
        (Category.SQLI, Severity.HIGH, "/item.php?id=1 union select 1,2", "union select"),
        (Category.XSS, Severity.MEDIUM, "/q?s=<svg onload=alert(1)>", "<svg onload="),
        (Category.TRAVERSAL, Severity.HIGH, "/dl?f=../../etc/passwd", "../../"),
        (Category.CMDI, Severity.CRITICAL, "/ping?h=1;id", ";id"),
        (Category.SCANNER, Severity.LOW, "/", "nikto"),
        (Category.SENSITIVE_FILE, Severity.MEDIUM, "/.env", ".env"),
    ]
    for i in range(60):
        category, severity, target, fragment = specs[i % len(specs)]
        result.findings.append(finding(
            line=100 + i, category=category, severity=severity, target=target,
            fragment=fragment, src=f"198.51.100.{i % 4}", time=START + timedelta(minutes=17 * i),
            rule=f"RK-{category.upper()}", field="ua" if category is Category.SCANNER else "target",
            user_agent="Nikto/2.1.6" if category is Category.SCANNER else "Mozilla/5.0",
        ))
    result.findings.append(finding(
        line=4242, category=Category.TRAVERSAL, severity=Severity.CRITICAL, status=200,
        target="/dl?f=../../../etc/shadow", fragment="../../", src="192.0.2.99",
        succeeded=True, reason="200 with a body like /etc/shadow", time=START + timedelta(hours=5),
    ))
    for hour in range(24):
        result.requests_per_hour[int((START + timedelta(hours=hour)).timestamp()) // 3600] = 200
    for k in range(12):
        result.add_issue(ParseIssue("/var/log/nginx/access.log", 900 + k,
                                    "unreadable timestamp" if k % 3 else "line too long",
                                    "garbage \x16\x03 line"))
    return result


@pytest.fixture(scope="module")
def result() -> ScanResult:
    return sample_result()


@pytest.fixture(scope="module")
def html_en(result: ScanResult) -> str:
    return report.render_html(result, "en")


@pytest.fixture(scope="module")
def html_ja(result: ScanResult) -> str:
    return report.render_html(result, "ja")


# ---------------------------------------------------------------- HTML


def test_html_in_english(html_en: str) -> None:
    assert '<html lang="en">' in html_en
    assert "Web-log attack scan report" in html_en
    assert "Attacks that may have succeeded" in html_en
    assert "Directory traversal" in html_en
    assert "192.0.2.99" in html_en
    assert "permission denied" in html_en  # a file that could not be read is reported


def test_html_in_japanese(html_ja: str) -> None:
    assert '<html lang="ja">' in html_ja
    for text in ("Webログ攻撃検査レポート", "成功した可能性のある攻撃", "種別ごとの検出件数",
                 "攻撃の推移", "攻撃元の上位", "検出一覧", "ディレクトリ・トラバーサル",
                 "SQLインジェクション", "スキップまたは修復した行(理由別)"):
        assert text in html_ja, text
    assert "Web-log attack scan report" not in html_ja


def test_html_is_self_contained(html_en: str) -> None:
    assert "<script" not in html_en.lower()
    assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", html_en)
    assert "default-src 'none'" in html_en  # CSP: nothing loads, nothing runs


def test_succeeded_attacks_come_first(html_en: str) -> None:
    succeeded = html_en.index('id="succeeded"')
    assert succeeded < html_en.index('id="categories"') < html_en.index('id="findings"')
    assert "200 with a body like /etc/shadow" in html_en


def test_charts_are_inline_svg_with_text_as_text(html_ja: str) -> None:
    svgs = re.findall(r"<svg.*?</svg>", html_ja, flags=re.DOTALL)
    assert len(svgs) == 2
    assert "<?xml" not in html_ja
    assert "<!DOCTYPE svg" not in html_ja
    labels = " ".join(re.findall(r"<text[^>]*>([^<]*)</text>", " ".join(svgs)))
    assert "ディレクトリ・トラバーサル" in labels  # fonttype none: the browser draws it
    assert "1時間ごと" in labels


def test_attacker_text_is_escaped_not_run() -> None:
    result = ScanResult(findings=[
        finding(target="/p?q=<script>alert(1)</script>", fragment="<script>"),
        finding(category=Category.SSTI, user_agent="Mozilla {{7*7}} {% raw %}", field="ua",
                fragment="{{7*7}}", target="/", src='"><img src=x onerror=alert(2)>'),
        finding(target="/x\x1b[31mred\u202etxt.exe", fragment="x", rule_title="<b>t</b>"),
    ])
    result.add_issue(ParseIssue("a.log", 3, "bad <i>line</i>", "<script>alert(3)</script>"))
    for lang in ("en", "ja"):
        html = report.render_html(result, lang)
        assert "<script" not in html.lower()
        assert "&lt;script&gt;" in html.lower()
        assert "<mark>&lt;script&gt;</mark>" in html  # the match is marked, escaped
        assert "{{7*7}}" in html
        assert ">49<" not in html
        assert "{% raw %}" in html
        assert "<img" not in html
        assert "&lt;img src=x" in html
        assert "<b>t</b>" not in html
        assert "<i>line</i>" not in html
        assert "\x1b" not in html
        assert "\u202e" not in html
        assert "\\x1b[31mred\\u202etxt.exe" in html


def test_empty_result_renders() -> None:
    for lang in ("en", "ja"):
        html = report.render_html(ScanResult(), lang)
        assert f'<html lang="{lang}">' in html
        assert "</html>" in html
    assert "No attack signs were found." in report.render_html(ScanResult(), "en")
    assert "攻撃の痕跡は見つかりませんでした。" in report.render_html(ScanResult(), "ja")


def test_large_result_is_capped() -> None:
    result = ScanResult(findings=[
        finding(line=i, src=f"10.0.{i // 250}.{i % 250}", time=START + timedelta(seconds=7 * i),
                severity=Severity.CRITICAL if i % 1000 == 0 else Severity.LOW,
                target="/search?q=" + "A" * 3000, fragment="A" * 5)
        for i in range(10_000)
    ])
    html = report.render_html(result, "en")
    body = html.split('id="findings"', 1)[1].split('id="files"', 1)[0]
    assert body.count("<tr>") == report.TABLE_LIMIT + 1  # header row + the cap
    assert "Showing the 2,000 most severe of 10,000 findings" in html
    assert len(html) < 3_000_000
    critical = body.split("<tbody>", 1)[1].split("</tr>", 10)[:10]
    assert all("sev-critical" in row for row in critical)  # the most severe are kept


def test_unknown_language_is_refused(result: ScanResult) -> None:
    with pytest.raises(ValueError, match="unsupported language"):
        report.render_html(result, "fr")


# ---------------------------------------------------------------- CSV and JSON


def test_csv_has_every_finding_and_defuses_formulas(result: ScanResult) -> None:
    result = ScanResult(findings=[*result.findings, finding(
        target="=HYPERLINK(\"http://evil.example\",\"x\")", user_agent="+cmd|' /C calc'!A0",
        src="@SUM(1+1)", fragment="-2+3", reason="\tTAB", rule_title="\rCR", method="＝1+1",
    )])
    out = io.StringIO()
    report.write_csv(result, out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0] == list(report.CSV_COLUMNS)
    assert len(rows) == len(result.findings) + 1
    last = dict(zip(rows[0], rows[-1], strict=True))
    for column in ("target", "user_agent", "src", "fragment", "reason", "rule_title", "method"):
        assert last[column].startswith("'"), column
    assert last["target"] == "'=HYPERLINK(\"http://evil.example\",\"x\")"
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["category"] == "sqli"
    assert first["line"] == "100"
    assert first["time"] == START.isoformat()


def test_csv_of_empty_result_is_the_header() -> None:
    out = io.StringIO()
    report.write_csv(ScanResult(), out)
    assert out.getvalue() == ",".join(report.CSV_COLUMNS) + "\r\n"


def test_json_report(result: ScanResult) -> None:
    out = io.StringIO()
    report.write_json_report(result, out, "ja")
    data = json.loads(out.getvalue())
    assert data["lang"] == "ja"
    assert data["summary"]["findings"] == 61
    assert data["summary"]["succeeded"] == 1
    assert data["summary"]["lines"] == 5000
    assert data["summary"]["skipped"] == 10
    by_category = {row["category"]: row for row in data["by_category"]}
    assert set(by_category) == {str(c) for c in Category}
    assert by_category["traversal"]["findings"] == 11
    assert by_category["traversal"]["succeeded"] == 1
    assert by_category["traversal"]["name"] == "ディレクトリ・トラバーサル"
    assert by_category["rfi"]["findings"] == 0
    expected = Counter(str(f.severity) for f in result.findings)
    assert data["by_severity"] == {str(s): expected[str(s)] for s in report.SEVERITIES}
    assert [s["src"] for s in data["top_sources"][:1]] == ["198.51.100.0"]
    assert data["top_sources"][0]["findings"] == 15
    assert [f["line"] for f in data["succeeded"]] == [4242]
    assert len(data["findings"]) == 61
    assert data["findings"][0] == result.findings[0].to_json()
    assert data["parse_issues"]["counts"] == {"unreadable timestamp": 8, "line too long": 4}
    assert len(data["parse_issues"]["samples"]) == 12
    timeline = data["timeline"]
    assert timeline["bucket_seconds"] == 3600
    assert sum(b["count"] for b in timeline["attacks"]) == 61
    assert sum(b["count"] for b in timeline["requests"]) == 24 * 200


def test_json_of_empty_result() -> None:
    out = io.StringIO()
    report.write_json_report(ScanResult(), out, "en")
    data = json.loads(out.getvalue())
    assert data["summary"]["findings"] == 0
    assert data["findings"] == []
    assert data["timeline"] is None
    assert data["top_sources"] == []


# ---------------------------------------------------------------- terminal


def summary_text(result: ScanResult, lang: str, width: int = 100) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None, force_terminal=False)
    report.print_summary(result, console, lang)
    assert isinstance(console.file, io.StringIO)
    return console.file.getvalue()


def test_terminal_summary(result: ScanResult) -> None:
    text = summary_text(result, "en")
    assert "Attacks that may have succeeded" in text
    assert "192.0.2.99" in text
    assert "Findings by category" in text
    assert "Directory traversal" in text
    assert "█" in text  # bars
    assert "unreadable timestamp" in text
    japanese = summary_text(result, "ja")
    assert "成功した可能性のある攻撃" in japanese
    assert "種別ごとの検出件数" in japanese


def test_terminal_summary_shows_control_characters_harmlessly() -> None:
    result = ScanResult(findings=[finding(src="\x1b]0;pwned\x07", succeeded=True,
                                          target="/\x1b[2J")])
    text = summary_text(result, "en", width=160)
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "\\x1b]0;pwned\\x07" in text


def test_terminal_summary_of_empty_result() -> None:
    assert "No attack signs were found." in summary_text(ScanResult(), "en")
    assert "攻撃の痕跡は見つかりませんでした。" in summary_text(ScanResult(), "ja")


# ---------------------------------------------------------------- the pieces


def test_timeline_by_minute_for_a_short_span() -> None:
    result = ScanResult(findings=[finding(time=START + timedelta(seconds=30 * i))
                                  for i in range(20)])
    timeline = report.build_timeline(result)
    assert timeline is not None
    assert timeline.step == timedelta(minutes=1)
    assert len(timeline.starts) == 10
    assert timeline.totals == [2] * 10
    assert timeline.starts[0] == START  # in the logs' own offset


def test_timeline_stays_bounded_with_a_nonsense_timestamp() -> None:
    result = ScanResult(findings=[finding(time=datetime(1970, 1, 1, tzinfo=UTC)),
                                  finding(time=START)])
    timeline = report.build_timeline(result)
    assert timeline is not None
    assert len(timeline.starts) <= report.MAX_BUCKETS
    assert sum(timeline.totals) == 2
    assert report.per(timeline.step, lambda text: text).endswith("days")


def test_timeline_mixes_naive_and_aware_times() -> None:
    result = ScanResult(findings=[finding(time=datetime(2025, 11, 24, 0, 0)), finding()])
    timeline = report.build_timeline(result)
    assert timeline is not None
    assert sum(timeline.totals) == 2
    assert report.build_timeline(ScanResult()) is None


def test_highlight_marks_and_escapes() -> None:
    marked = report.highlight("GET /a?q=<b>UNION SELECT</b>", "union select")
    assert str(marked) == "GET /a?q=&lt;b&gt;<mark>UNION SELECT</mark>&lt;/b&gt;"
    long = report.highlight("x" * 1000 + "<evil>" + "y" * 1000, "<evil>", limit=100)
    assert "<mark>&lt;evil&gt;</mark>" in str(long)
    assert len(str(long)) < 200


def test_bar_and_sparkline() -> None:
    assert report.bar(8, 8, 10) == "█" * 10
    assert report.bar(1, 16, 10) == "▋"
    assert report.bar(0, 8, 10) == ""
    assert report.sparkline([0, 1, 4, 8], 10).plain == "▁▂▄█"
    assert report.sparkline([1] * 100, 10).plain == "█" * 10  # merged into 10 cells
    assert report.sparkline([], 10).plain == ""


def test_csv_cell() -> None:
    assert report.csv_cell("=1+1") == "'=1+1"
    assert report.csv_cell("\r=1") == "'\r=1"
    assert report.csv_cell("/index.html") == "/index.html"
    assert report.csv_cell(None) == ""
    assert report.csv_cell(404) == "404"


# ---------------------------------------------------------------- the catalogue


def used_messages() -> set[str]:
    """Every msgid the report code and template can show: ``_("…")`` and ``gettext_noop``."""
    found: set[str] = set()
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in ("_", "gettext_noop") and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)):
                found.add(node.args[0].value)
    with TEMPLATE.open("rb") as fh:
        found.update(message for _line, _function, message, _comments
                     in babel_extract(fh, ("_",), (), {}) if isinstance(message, str))
    return found


def test_every_message_has_a_japanese_translation() -> None:
    with CATALOGUE.open("rb") as fh:
        catalogue = read_po(fh, locale="ja")
    translated = {m.id: m.string for m in catalogue if m.id and isinstance(m.id, str)}
    used = used_messages()
    assert len(used) > 80
    missing = sorted(m for m in used if not translated.get(m))
    assert not missing, f"untranslated in {CATALOGUE.name}: {missing}"
    unused = sorted(set(translated) - used)
    assert not unused, f"stale entries in {CATALOGUE.name}: {unused}"
    for message in used:
        names = set(re.findall(r"\{(\w*)\}", message))
        assert names == set(re.findall(r"\{(\w*)\}", str(translated[message]))), message
