"""`renkei logs …`: parse options, call the service, hand the result to the reports."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from importlib.resources import files
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from renkei.core.cli_output import literal
from renkei.core.config import load_config
from renkei.core.db import Database
from renkei.core.i18n import translator
from renkei.core.orgs import OrganisationError
from renkei.core.text import visible
from renkei.core.time import SystemClock
from renkei.logs.model import LogFormat
from renkei.logs.rules import RuleError, load_rules, run_rule_tests

app = typer.Typer(help="Web-server log attack detection (iLogScanner-style).", no_args_is_help=True)

SAMPLE_LOG = Path(str(files("renkei.logs"))) / "samples" / "access.log"


def _lang(value: str | None) -> str:
    lang = value or load_config().lang
    if lang not in ("en", "ja"):
        raise typer.BadParameter("use en or ja", param_hint="--lang")
    return lang


@app.command()
def scan(
    paths: Annotated[list[Path] | None, typer.Argument(help="Log files (.gz/.bz2/.zst too).")] = None,
    sample: Annotated[bool, typer.Option("--sample", help="Scan the bundled sample access log.")] = False,
    json_lines: Annotated[bool, typer.Option("--json", help="JSON Lines on stdout, one finding per line.")] = False,
    log_format: Annotated[LogFormat | None, typer.Option("--format", help="Skip detection.")] = None,
    lang: Annotated[str | None, typer.Option("--lang", help="Report language: en or ja.")] = None,
    html: Annotated[Path | None, typer.Option("--html", help="Write the HTML report here.")] = None,
    csv_path: Annotated[Path | None, typer.Option("--csv", help="Write findings as CSV here.")] = None,
    report_json: Annotated[Path | None, typer.Option("--report-json", help="Write the full JSON report here.")] = None,
    sigma: Annotated[list[Path] | None, typer.Option("--sigma", help="Sigma rule file or folder (repeatable).")] = None,
    rules: Annotated[list[Path] | None, typer.Option("--rules", help="Use these rule files/folders instead of the bundled rules.")] = None,
    store_alerts: Annotated[bool, typer.Option("--store/--no-store", help="Keep findings as alerts in the database.")] = True,
    org: Annotated[str | None, typer.Option("--org", help="Organisation the logs belong to.")] = None,
) -> None:
    """Scan access logs for attacks and report what may have succeeded."""
    from renkei.logs import report
    from renkei.logs.scan import LogScanner
    from renkei.logs.service import scan_logs

    config = load_config()
    language = _lang(lang)
    targets = list(paths or [])
    if sample:
        targets.append(SAMPLE_LOG)
    if not targets:
        raise typer.BadParameter("give at least one log file, or --sample", param_hint="PATHS")
    sigma_set = None
    if sigma:
        from renkei.logs.sigma import load_sigma_rules

        sigma_set = load_sigma_rules(sigma)
        for problem in sigma_set.errors:
            typer.echo(f"sigma: {problem.path}: {problem.reason}", err=True)
    try:
        scanner = LogScanner(load_rules(rules) if rules else None, sigma=sigma_set,
                             max_line=config.max_line_bytes)
    except RuleError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    database = Database.from_config(config) if store_alerts else None
    try:
        result = scan_logs(targets, scanner, SystemClock(), database=database, fmt=log_format,
                           organisation=org, show_progress=not json_lines)
    except OrganisationError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    finally:
        if database is not None:
            database.dispose()
    for issue in result.issues[:20]:  # log text is attacker's text: controls made visible
        if issue.line == 0:
            typer.echo(f"error: {visible(issue.reason)}", err=True)
        else:
            typer.echo(f"{visible(issue.file)}:{issue.line}: {visible(issue.reason)}: "
                       f"{visible(issue.sample)}", err=True)
    for summary in result.files:
        if summary.error and summary.lines:
            typer.echo(f"warning: {visible(summary.error)}", err=True)
    hidden = sum(result.issue_counts.values()) - min(20, len(result.issues))
    if hidden > 0:
        typer.echo(f"… and {hidden} more line problems (see the report)", err=True)
    if json_lines:
        out = sys.stdout
        for finding in result.findings:
            out.write(json.dumps(finding.to_json(), ensure_ascii=False) + "\n")
    else:
        report.print_summary(result, Console(), language)
    if html is None and sample and not json_lines:
        html = config.home / "reports" / f"scan-{datetime.now():%Y%m%d-%H%M%S}.html"
    if html is not None:
        html.parent.mkdir(parents=True, exist_ok=True)
        html.write_text(report.render_html(result, language), encoding="utf-8")
        typer.echo(f"HTML report: {html}", err=True)
    if csv_path is not None:
        with csv_path.open("w", encoding="utf-8", newline="") as fh:
            report.write_csv(result, fh)
    if report_json is not None:
        with report_json.open("w", encoding="utf-8") as fh:
            report.write_json_report(result, fh, language)
    if any(f.error and not f.lines for f in result.files):
        raise typer.Exit(2)


@app.command("rules")
def list_rules(
    test: Annotated[bool, typer.Option("--test", help="Run every rule's own examples.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable list.")] = False,
    lang: Annotated[str | None, typer.Option("--lang", help="Language of the titles: en or ja.")] = None,
    path: Annotated[list[Path] | None, typer.Option("--rules", help="Rule files/folders to check instead of the bundled ones.")] = None,
) -> None:
    """List renkei's detection rules; with --test, check them against their examples."""
    language = _lang(lang)
    _ = translator(language)
    try:
        rules = load_rules(path)
    except RuleError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    if json_out:
        for rule in rules:
            sys.stdout.write(json.dumps({
                "id": rule.id, "category": str(rule.category), "severity": str(rule.severity),
                "fields": list(rule.fields), "title": rule.title(language), "pattern": rule.pattern,
            }, ensure_ascii=False) + "\n")
    else:
        table = Table(title=_("Detection rules"))
        for heading in (_("Rule"), _("Category"), _("Severity"), _("Fields"), _("Title")):
            table.add_column(heading)
        for rule in rules:  # --rules files are anyone's: their text is shown, not obeyed
            table.add_row(*(literal(value) for value in (
                rule.id, rule.category, rule.severity, ",".join(rule.fields),
                rule.title(language))))
        Console().print(table)
    if test:
        from renkei.logs.match import FieldMatcher

        failures = run_rule_tests(rules)
        for failure in failures:
            expected = "should match" if failure.expected else "should not match"
            typer.echo(f"FAIL {failure.rule}: {expected}: {failure.sample}", err=True)
        FieldMatcher(rules)  # compiles every pattern with Hyperscan too, or raises
        examples = sum(len(r.tests_match) + len(r.tests_no_match) for r in rules)
        typer.echo(f"{len(rules)} rules, {examples} examples, {len(failures)} failures", err=True)
        if failures:
            raise typer.Exit(1)


@app.command()
def alerts(
    category: Annotated[str | None, typer.Option("--category", help="Only this category (e.g. sqli).")] = None,
    src: Annotated[str | None, typer.Option("--src", help="Only alerts from this source address.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=100000, help="At most this many alerts.")] = 50,
    json_out: Annotated[bool, typer.Option("--json", help="JSON Lines on stdout, one alert per line.")] = False,
    lang: Annotated[str | None, typer.Option("--lang", help="Language of the table: en or ja.")] = None,
) -> None:
    """Show stored alerts, newest first."""
    _ = translator(_lang(lang))
    from renkei.logs.service import stored_alerts

    database = Database.from_config(load_config())
    try:
        items = stored_alerts(database, category=category, src=src, limit=limit)
    finally:
        database.dispose()
    if json_out:
        for item in items:
            sys.stdout.write(json.dumps(item, ensure_ascii=False) + "\n")
        return
    table = Table(title=_("Stored alerts"))
    for heading in (_("Time"), _("Category"), _("Rule"), _("Source"), _("Status"), _("Request")):
        table.add_column(heading)
    for item in items:  # stored text came from logs: shown as plain text, controls visible
        table.add_row(*(literal(value) for value in (
            item["time"] or "", item["category"], item["rule"], item["src"],
            item["status"] or "", str(item["target"])[:80])))
    Console().print(table)
