"""`renkei vulns …`: import advisory feeds, match inventories, look vulnerabilities up.

``match --json`` prints one JSON object per line and (component, vulnerability) with the
fields ``component``, ``version``, ``vulnerability``, ``aliases``, ``cvss``, ``kev`` and
``epss`` (and ``certain``, ``why``, ``sources``, ``location``): a public interface, kept
stable.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from renkei.core.cli_output import fail as _fail
from renkei.core.cli_output import literal
from renkei.core.cli_output import unit_of_work as _session
from renkei.core.i18n import Translate
from renkei.core.text import visible
from renkei.core.time import SystemClock

if TYPE_CHECKING:
    from renkei.vulns.service import Finding

app = typer.Typer(help="Vulnerabilities: advisory feeds, inventories, matches.",
                  no_args_is_help=True)
stderr = Console(stderr=True)


@app.command("import")
def import_feeds(
    paths: Annotated[list[Path], typer.Argument(help="Feed files, folders or zips (OSV, CVE JSON 5, NVD API 2.0, JVN, CSAF, KEV, EPSS); the format of each file is detected.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
) -> None:
    """Import advisories; re-importing the same records changes nothing."""
    from renkei.vulns import service

    with _session() as (session, _):
        for path in paths:
            if not path.exists():
                _fail(_("{path}: no such file or folder").format(path=path), _)
        # the description is a feed file's name: shown as it is, not read as markup
        columns = (SpinnerColumn(), TextColumn("{task.description}", markup=False),
                   MofNCompleteColumn(),
                   TextColumn("records"), TimeElapsedColumn())
        with Progress(*columns, console=stderr, disable=not stderr.is_terminal,
                      transient=False) as progress:
            task = progress.add_task(_("importing"), total=None)
            result = service.import_paths(
                session, SystemClock(), paths,
                on_records=lambda n: progress.advance(task, n),
                on_file=lambda name: progress.update(task, description=visible(name[-60:])))
    if as_json:
        typer.echo(json.dumps(result.counts()))
        return
    table = Table(title=_("import"))
    for name in ("read", "added", "changed", "unchanged", "older", "kev", "epss", "problems",
                 "alerts"):
        table.add_column(_(name), justify="right")
    counts = result.counts()
    table.add_row(*(f"{counts[name]:,}" for name in counts))
    Console().print(table)
    for problem in result.kept_problems[:20]:
        where = f"{problem.location} {problem.record_id or ''}".strip()
        _problem(where, problem.message)
    if result.problems > 20:
        stderr.print(_("… and {count} more problems").format(count=result.problems - 20))


@app.command("match")
def match(
    inventory: Annotated[Path, typer.Option(help="An inventory: purls or CPE names (one per line), requirements.txt / pip freeze, poetry.lock, package-lock.json, CycloneDX or SPDX SBOM, dpkg status.")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line and (component, vulnerability).")] = False,
) -> None:
    """Which imported vulnerabilities affect the components of an inventory."""
    from renkei.vulns import service
    from renkei.vulns.inventory import read_inventory

    with _session() as (session, _):
        if not inventory.is_file():
            _fail(_("{path}: no such file").format(path=inventory), _)
        read = read_inventory(inventory)
        for problem in read.problems[:50]:
            _problem(problem.location, problem.message)
        findings = service.match_components(session, read.components)
    _print_findings(findings, as_json, _)


@app.command("check-host")
def check_host(
    as_json: Annotated[bool, typer.Option("--json", help="As `match --json`.")] = False,
) -> None:
    """MyJVN's checker: this machine's Python and Debian packages against the imported
    vulnerabilities."""
    from renkei.vulns import service
    from renkei.vulns.host import host_inventory

    with _session() as (session, _):
        read = host_inventory()
        findings = service.match_components(session, read.components)
    if not as_json:
        stderr.print(_("{count} packages on this machine").format(count=len(read.components)))
    _print_findings(findings, as_json, _)


def _problem(where: str, message: str) -> None:
    """One problem of an inventory or a feed on stderr, in the file's own words."""
    stderr.print(Text.assemble(literal(where, "yellow"), ": ", literal(message)), highlight=False)


def _print_findings(findings: list[Finding], as_json: bool, _: Translate) -> None:
    if as_json:
        out = sys.stdout
        for finding in findings:
            out.write(json.dumps(finding.as_json(), ensure_ascii=False) + "\n")
        return
    table = Table(title=_("{count} matches").format(count=len(findings)))
    for name in ("component", "vulnerability", "CVSS", "KEV", "EPSS", "why"):
        table.add_column(_(name))
    for finding in findings:
        cvss = finding.cvss
        score = "-" if cvss is None or cvss.best is None else f"{cvss.best:.1f}"
        if cvss is not None and cvss.differs:
            score += f" ({_('computed')} {cvss.computed:.1f})"
        table.add_row(literal(finding.component.given + ("" if finding.certain else " ?")),
                      literal(finding.vulnerability), score, _("yes") if finding.kev else "",
                      "" if finding.epss is None else f"{finding.epss:.3f}",
                      literal("; ".join(finding.why)[:120]))
    Console().print(table)


# --- a vulnerability -------------------------------------------------------------------


@app.command("show")
def show(
    key: Annotated[str, typer.Argument(metavar="ID", help="A CVE id, or a record's id when no CVE names it.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print it as JSON.")] = False,
) -> None:
    """A vulnerability: each source's record, the publisher's and the computed CVSS, KEV,
    EPSS."""
    from renkei.vulns import service

    with _session() as (session, _):
        described = service.describe(session, key)
    if as_json:
        typer.echo(json.dumps(described, ensure_ascii=False, indent=2))
        return
    console = Console(highlight=False)  # every line holds the feeds' text: see ``literal``
    aliases = " ".join(described["aliases"])  # type: ignore[arg-type]
    console.print(Text.assemble(literal(key, "bold"), "  ", literal(aliases)))
    kev, epss = described["kev"], described["epss"]
    if isinstance(kev, dict):
        ransomware = _("used by ransomware") + "  " if kev["ransomware"] else ""
        console.print(Text.assemble(("KEV", "red"), " ", literal(
            f"{_('added')} {kev['date_added']}  {ransomware}{kev['action']}".rstrip())))
    if isinstance(epss, dict):
        console.print(literal(_("EPSS {epss:.3f} (percentile {percentile:.2f}) for {cve}").format(
            **epss)))
    for record in described["records"]:  # type: ignore[attr-defined]
        console.print()
        console.print(Text.assemble(literal(f"{record['source']}:{record['id']}", "bold"), " ",
                                    literal(record["modified"] or "")))
        for line in (record["title"] or record["summary"][:300]).split("\n"):
            console.print(literal(line))
        for cvss in record["cvss"]:
            differs = f" ({_('computed')} {cvss['computed_score']})" if cvss["differs"] else ""
            console.print(literal(
                f"  CVSS {cvss['version']} {cvss['score']}{differs} {cvss['vector']}"))


@app.command("advisory")
def advisory(
    key: Annotated[str, typer.Argument(metavar="ID", help="A CVE id, or a record's id when no CVE names it.")],
    fmt: Annotated[str, typer.Option("--format", help="osv or csaf")] = "osv",
) -> None:
    """Print the hub's advisory of a vulnerability as OSV or CSAF 2.0 JSON."""
    from renkei.vulns import publish

    with _session() as (session, _):
        if fmt not in publish.ADVISORY_FORMATS:
            _fail(_("--format is osv or csaf"), _)
        document = publish.advisory(session, key, fmt, SystemClock().now())
    typer.echo(json.dumps(document, ensure_ascii=False, indent=2))


# --- members' assets, alerts, suppressions, subscriptions -------------------------------

Org = Annotated[str, typer.Option(help="The member organisation.")]
assets_app = typer.Typer(help="Members' registered inventories.", no_args_is_help=True)
app.add_typer(assets_app, name="assets")


@assets_app.command("add")
def assets_add(
    org: Org,
    name: Annotated[str, typer.Option(help="The asset's name (registering it again replaces it).")],
    path: Annotated[Path, typer.Argument(help="The inventory file.")],
) -> None:
    """Register (or replace) a member's inventory; alerts at once on held vulnerabilities."""
    from renkei.core import orgs
    from renkei.vulns.alerts import register_asset
    from renkei.vulns.inventory import read_inventory

    with _session() as (session, _):
        if not path.is_file():
            _fail(_("{path}: no such file").format(path=path), _)
        member = orgs.require(session, org)
        read = read_inventory(path)
        for problem in read.problems[:50]:
            _problem(problem.location, problem.message)
        asset, raised = register_asset(session, SystemClock(), member.id, name, read.components,
                                       read.format, actor="cli")
        typer.echo(f"{asset.id}\t{asset.name}\t{read.format}\t{len(read.components)}\t{raised}")


@assets_app.command("list")
def assets_list(org: Annotated[str | None, typer.Option(help="Only this member's.")] = None) -> None:
    """Assets: id, member, name, format, components, last registered."""
    from renkei.core import orgs
    from renkei.vulns.alerts import assets_of

    with _session() as (session, _):
        member = orgs.require(session, org).id if org else None
        names = {o.id: o.name for o in orgs.list_all(session)}
        for asset, count in assets_of(session, member):
            typer.echo(f"{asset.id}\t{names.get(asset.organisation_id, '?')}\t{asset.name}\t"
                       f"{asset.format}\t{count}\t{asset.updated_at:%Y-%m-%dT%H:%M:%SZ}")


@app.command("alerts")
def alerts_command(
    org: Annotated[str | None, typer.Option(help="Only this member's.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line and alert.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=5000, help="At most this many alerts.")] = 100,
) -> None:
    """Alerts, most urgent first (known exploitation, then EPSS, then CVSS)."""
    from renkei.core import orgs
    from renkei.vulns.alerts import alerts_of

    with _session() as (session, _):
        member = orgs.require(session, org).id if org else None
        names = {o.id: o.name for o in orgs.list_all(session)}
        rows = alerts_of(session, member, limit=limit)
    if as_json:
        for alert, key in rows:
            typer.echo(json.dumps({
                "id": alert.id, "organisation": names.get(alert.organisation_id),
                "vulnerability": key, "components": alert.components, "cvss": alert.cvss,
                "kev": alert.kev, "epss": alert.epss, "certain": alert.certain,
                "why": alert.why, "created_at": alert.created_at.isoformat()},
                ensure_ascii=False))
        return
    table = Table(title=_("{count} alerts").format(count=len(rows)))
    for column in ("member", "vulnerability", "CVSS", "KEV", "EPSS", "components"):
        table.add_column(_(column))
    for alert, key in rows:
        table.add_row(literal(names.get(alert.organisation_id, "?")), literal(key),
                      "-" if alert.cvss is None else f"{alert.cvss:.1f}",
                      _("yes") if alert.kev else "",
                      "" if alert.epss is None else f"{alert.epss:.3f}",
                      literal(", ".join(alert.components[:3]) + ("" if alert.certain else " ?")))
    Console().print(table)


@app.command("suppress")
def suppress_command(
    org: Org,
    vulnerability: Annotated[str, typer.Argument(metavar="ID", help="The vulnerability (CVE id or record id).")],
    reason: Annotated[str, typer.Option(help="Why: kept with the suppression.")],
    days: Annotated[int, typer.Option(min=1, max=3650, help="Days until it expires.")] = 90,
    component: Annotated[str, typer.Option(help="The component as the inventory gave it; * for all.")] = "*",
    kind: Annotated[str, typer.Option(help="false_positive or accepted_risk")] = "accepted_risk",
) -> None:
    """Suppress a vulnerability for a member's component until it expires."""
    from datetime import timedelta

    from renkei.core import orgs
    from renkei.vulns.alerts import suppress

    with _session() as (session, _):
        member = orgs.require(session, org)
        clock = SystemClock()
        row = suppress(session, clock, member.id, vulnerability, component, kind, reason,
                       clock.now() + timedelta(days=days), actor="cli")
        typer.echo(f"{row.id}\t{row.expires_at:%Y-%m-%d}")


@app.command("subscribe")
def subscribe_command(
    org: Org,
    kind: Annotated[str, typer.Argument(help="product, vendor or keyword")],
    value: Annotated[str, typer.Argument(help="The product, vendor or keyword (3 characters or more).")],
) -> None:
    """Alert a member on advisories about a product, vendor or keyword (before any CVE)."""
    from renkei.core import orgs
    from renkei.vulns.alerts import subscribe

    with _session() as (session, _):
        member = orgs.require(session, org)
        row, raised = subscribe(session, SystemClock(), member.id, kind, value, actor="cli")
        typer.echo(f"{row.id}\t{raised}")


# --- coordinated disclosure -------------------------------------------------------------

cvd_app = typer.Typer(help="Reported vulnerabilities: coordination with vendors until "
                           "publication.", no_args_is_help=True)
app.add_typer(cvd_app, name="cvd")
Ref = Annotated[str, typer.Argument(metavar="CASE", help="The case's reference (RK-YYYY-NNNN).")]
Note = Annotated[str, typer.Option(help="What happened, for the record.")]


@cvd_app.command("report")
def cvd_report(
    title: Annotated[str, typer.Option(help="What the flaw is, in one line.")],
    vendor: Annotated[str, typer.Option(help="The product's developer.")],
    product: Annotated[str, typer.Option(help="The affected product.")],
    description: Annotated[str, typer.Option(help="The finder's account: versions, how to reproduce.")],
    finder: Annotated[str, typer.Option(help="The finder's name (read by the hub's staff only).")] = "",
    finder_contact: Annotated[str, typer.Option(help="How to reach the finder.")] = "",
) -> None:
    """Take in a finder's report; prints the case's reference."""
    from renkei.vulns import cvd

    with _session() as (session, _):
        case = cvd.report(session, SystemClock(), title=title, vendor=vendor, product=product,
                          description=description, finder_name=finder,
                          finder_contact=finder_contact, actor="cli")
        typer.echo(case.reference)


@cvd_app.command("step")
def cvd_step(
    reference: Ref,
    what: Annotated[str, typer.Argument(help="triage, reject, contact, vendor_reply, note, agree_date, declare_unreachable, publish, close")],
    note: Note = "",
    date: Annotated[str | None, typer.Option(help="agree_date: the publication date (YYYY-MM-DD).")] = None,
    vendor_contact: Annotated[str, typer.Option(help="contact: how the vendor was reached.")] = "",
    cve: Annotated[str | None, typer.Option(help="publish: the CVE id, if one was assigned.")] = None,
) -> None:
    """Take one step on a case (refused when the case's state does not allow it)."""
    from datetime import UTC, datetime

    from renkei.vulns import cvd

    with _session() as (session, _):
        try:
            step = cvd.Step(what)
            when = datetime.fromisoformat(date).replace(tzinfo=UTC) if date else None
        except ValueError:
            _fail(_("{value}: not a step or not a date").format(value=date or what), _)
        case = cvd.step(session, SystemClock(), reference, step, actor="cli", note=note,
                        publication_date=when, vendor_contact=vendor_contact, cve=cve)
        typer.echo(f"{case.reference}\t{case.state}")


@cvd_app.command("show")
def cvd_show(reference: Ref) -> None:
    """A case and its history."""
    from renkei.vulns import cvd

    with _session() as (session, _):
        case = cvd.get_case(session, reference)
        typer.echo(f"{case.reference}\t{case.state}\t{case.vendor}\t{case.product}\t{case.title}")
        for event in cvd.history(session, reference):
            typer.echo(f"{event.at:%Y-%m-%dT%H:%M:%SZ}\t{event.kind}\t{event.state}\t"
                       f"{event.actor}\t{event.note}")


@cvd_app.command("reminders")
def cvd_reminders() -> None:
    """Overdue steps of open cases."""
    from renkei.vulns import cvd

    with _session() as (session, _):
        for reminder in cvd.reminders(session, SystemClock().now()):
            typer.echo(f"{reminder.reference}\t{reminder.state}\t{reminder.due:%Y-%m-%d}\t"
                       f"{reminder.what}")
