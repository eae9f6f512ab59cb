"""`renkei sensors …`: register sensors and members' address space, ingest and analyse
captures, read the series and findings back, report on what is stored, notify members of
their own addresses.

``analyse --json`` prints one JSON object per line and finding with at least ``kind``
(scanner, backscatter, rise, campaign), ``src``, ``ports``, ``protocol``,
``fingerprints``, ``packets``, ``first``, ``last`` and ``sensor`` (see docs/sensors.md):
a public interface, kept stable. It opens no database.

Exit status of ``ingest`` and ``analyse``: 0 when at least one capture could be read
(problems are reported on stderr with file and byte offset), 1 when none could, 2 for a
usage error (unknown sensor, bad option).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from renkei.core.cli_output import fail as _fail
from renkei.core.cli_output import literal
from renkei.core.cli_output import unit_of_work as _session
from renkei.core.config import load_config
from renkei.core.i18n import Translate, translator
from renkei.core.text import visible
from renkei.core.time import SystemClock

if TYPE_CHECKING:
    from renkei.sensors.findings import Finding
    from renkei.sensors.research import ResearchScanners
    from renkei.sensors.service import Problem

app = typer.Typer(help="Darknet sensors (NICTER/TSUBAME-style): captures, scans, backscatter, "
                       "rises, member notifications.", no_args_is_help=True)
ranges_app = typer.Typer(help="Members' address space: CIDR ranges and AS numbers.",
                         no_args_is_help=True)
app.add_typer(ranges_app, name="ranges")
stderr = Console(stderr=True, highlight=False)
NOTHING_READ = 1
IPV4_SPACE = 2**32

Captures = Annotated[list[Path], typer.Argument(
    metavar="CAPTURE...", help="Capture files: pcap, pcapng, NetFlow v5/v9, IPFIX or nfdump "
                               "CSV, plain or gzip-compressed (told by their first bytes).")]
Bucket = Annotated[str, typer.Option("--bucket", help="Width of the time-series buckets: 5m, 1h or 1d.")]
Research = Annotated[Path | None, typer.Option(
    "--research", help="Known research scanners (YAML name: [prefix, …] or 'prefix name' "
                       "lines): labelled, never alarmed on.")]
AsJson = Annotated[bool, typer.Option("--json", help="One JSON object per line.")]
Since = Annotated[str | None, typer.Option(
    "--since", help="From this time (ISO 8601, e.g. 2026-04-01 or 2026-04-01T09:00:00+09:00; UTC when no offset).")]
Until = Annotated[str | None, typer.Option("--until", help="Before this time (ISO 8601).")]
Limit = Annotated[int, typer.Option("--limit", min=1, max=100_000, help="Most rows to print.")]


def _when(text: str | None, option: str, _: Translate) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        _fail(_("{option}: not an ISO 8601 time: {value}").format(
            option=option, value=visible(text[:60])), _)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _research(path: Path | None, _: Translate) -> ResearchScanners | None:
    from renkei.sensors.research import ResearchScanners

    if path is None:
        return None
    try:
        scanners = ResearchScanners.load(path)
    except (OSError, UnicodeDecodeError) as error:
        _fail(_("{path}: cannot read the research scanner list ({reason})").format(
            path=visible(str(path)), reason=error), _)
    for problem in scanners.problems[:50]:
        typer.echo(f"{visible(str(path))}: {visible(problem)}", err=True)
    return scanners


@contextmanager
def _packet_progress(_: Translate) -> Iterator[Callable[[int], None]]:
    """A spinner counting packets on a terminal; nothing elsewhere."""
    columns = (SpinnerColumn(), TextColumn("{task.description}"),
               TextColumn("{task.completed:,}"), TextColumn(_("packets read")),
               TimeElapsedColumn())
    with Progress(*columns, console=stderr, disable=not stderr.is_terminal,
                  transient=True) as progress:
        task = progress.add_task(_("reading"), total=None)
        yield lambda n: progress.advance(task, n)


def _print_problems(problems: Sequence[Problem], _: Translate) -> None:
    for problem in problems:
        if problem.offset is None:
            text = _("{path}: {reason}").format(path=visible(problem.path),
                                                reason=visible(problem.reason))
        else:
            text = _("{path}: record {record} at byte {offset}: {reason}").format(
                path=visible(problem.path), record=problem.record, offset=problem.offset,
                reason=visible(problem.reason))
        typer.echo(text, err=True)


# --- sensors --------------------------------------------------------------------------------


@app.command("register")
def register(
    name: Annotated[str, typer.Argument(help="The sensor's unique name: A-Z, a-z, 0-9, '.', '_', '-'.")],
    site: Annotated[str, typer.Option("--site", help="Where the sensor is (free text).")],
    owner: Annotated[str, typer.Option("--owner", help="The organisation that runs it.")],
    block: Annotated[list[str], typer.Option("--block", help="A CIDR block it watches (repeat for several; IPv4 and IPv6).")],
) -> None:
    """Register a sensor with the address blocks it watches; prints id, name, IPv4 addresses."""
    from renkei.sensors import service

    with _session() as (session, _):
        sensor = service.register_sensor(session, SystemClock(), name, site=site, owner=owner,
                                         blocks=block)
        typer.echo(f"{sensor.id}\t{sensor.name}\t{sensor.address_count}")


@app.command("list")
def list_sensors(as_json: AsJson = False) -> None:
    """List sensors: name, site, owner, IPv4 addresses, blocks."""
    from renkei.core import orgs
    from renkei.sensors import service

    with _session() as (session, _):
        names = {o.id: o.name for o in orgs.list_all(session)}
        rows: list[dict[str, Any]] = [{"name": s.name, "site": s.site, "owner": names.get(s.owner_id, ""),
                 "addresses": s.address_count, "blocks": s.blocks}
                for s in service.sensors_of(session)]
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row, ensure_ascii=False))
        return
    table = Table(title=_("sensors"))
    for column in ("name", "site", "owner", "addresses", "blocks"):
        table.add_column(_(column))
    for row in rows:
        table.add_row(literal(row["name"]), literal(row["site"]), literal(row["owner"]),
                      f"{row['addresses']:,}", literal(" ".join(row["blocks"])))
    Console().print(table)


# --- members' ranges ------------------------------------------------------------------------


@ranges_app.command("add")
def ranges_add(
    org: Annotated[str, typer.Argument(help="The member organisation.")],
    value: Annotated[str, typer.Argument(metavar="CIDR|ASN", help="A CIDR range (192.0.2.0/24, 2001:db8::/32) or an AS number (AS64500).")],
) -> None:
    """Register address space a member answers for; registering it again changes nothing."""
    from renkei.sensors import service

    with _session() as (session, _):
        row, new = service.add_member_range(session, SystemClock(), org, value)
        typer.echo(f"{row.value}\t{'added' if new else 'unchanged'}")


@ranges_app.command("list")
def ranges_list(
    org: Annotated[str | None, typer.Option("--org", help="Only this member's.")] = None,
) -> None:
    """List members' ranges and AS numbers: organisation, kind, value (tab-separated)."""
    from renkei.core import orgs
    from renkei.sensors import service

    with _session() as (session, _):
        names = {o.id: o.name for o in orgs.list_all(session)}
        member = orgs.require(session, org).id if org is not None else None
        for row in service.ranges_of(session, member):
            typer.echo(f"{names.get(row.organisation_id, '')}\t{row.kind}\t{row.value}")


# --- captures -------------------------------------------------------------------------------


@app.command("ingest")
def ingest(
    captures: Captures,
    sensor: Annotated[str, typer.Option("--sensor", help="The registered sensor the captures come from.")],
    bucket: Bucket = "1h",
    research: Research = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
) -> None:
    """Analyse captures of a registered sensor, keep the series, findings and the run, and
    judge rises and campaigns on the stored history; a capture ingested before for that
    sensor is skipped."""
    from renkei.sensors import service

    with _session() as (session, _):
        scanners = _research(research, _)
        with _packet_progress(_) as on_packets:
            result = service.ingest(
                session, SystemClock(),
                [service.SensorCapture(path, sensor) for path in captures],
                research=scanners, bucket=bucket, on_packets=on_packets)
    _print_problems(result.problems, _)
    for path in result.already:
        typer.echo(_("{path}: ingested before for this sensor; skipped").format(
            path=visible(path)), err=True)
    if as_json:
        typer.echo(json.dumps({"run": result.run_id, **result.counts()}))
    else:
        for path, fmt, packets, skipped in result.read:
            typer.echo(_("{path} ({format}): {packets} records read, {skipped} frames skipped")
                       .format(path=visible(path), format=fmt, packets=f"{packets:,}",
                               skipped=f"{skipped:,}"), err=True)
        typer.echo(_("run {run}: {findings} findings, {rows} series rows").format(
            run=result.run_id, findings=result.findings, rows=result.series_rows))
    if not result.read and not result.already:
        raise typer.Exit(NOTHING_READ)
    if result.read and all(r[2] == 0 for r in result.read) and result.problems:
        raise typer.Exit(NOTHING_READ)


@app.command("analyse")
def analyse(
    captures: Captures,
    sensor_size: Annotated[int | None, typer.Option("--sensor-size", min=1, max=IPV4_SPACE, help="IPv4 addresses each sensor watches, to scale scans and backscatter (default: unknown).")] = None,
    sensor: Annotated[list[str] | None, typer.Option("--sensor", help="Name of the sensor the captures come from: once for all, or once per capture in order.")] = None,
    bucket: Bucket = "1h",
    research: Research = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON Lines: one finding per line (the public contract in docs/sensors.md).")] = False,
    html: Annotated[Path | None, typer.Option("--html", help="Also write the report (charts, top ports, rises, scanners, victims, countries) as one HTML file.", dir_okay=False)] = None,
    lang: Annotated[str | None, typer.Option("--lang", help="Report language: en or ja (default: RENKEI_LANG).")] = None,
) -> None:
    """Find scanners, backscatter, rises and campaigns in captures, without a database."""
    from renkei.sensors.pipeline import Capture, analyse_captures
    from renkei.sensors.read import CaptureError, detect_format
    from renkei.sensors.service import (
        Problem,
        SensorsError,
        checked_bucket_seconds,
        clean_sensor_name,
    )

    _ = translator(load_config().lang)
    try:
        given = [clean_sensor_name(n) for n in (sensor or ["default"])]
        checked_bucket_seconds(bucket)
    except SensorsError as error:
        _fail(error.translate(_), _)
    if len(given) not in (1, len(captures)):
        _fail(_("give --sensor once, or once per capture ({count})").format(
            count=len(captures)), _)
    per_capture = given * len(captures) if len(given) == 1 else given
    names = sorted(set(per_capture))
    scanners = _research(research, _)
    problems: list[Problem] = []
    readable: list[Capture] = []
    for path, name in zip(captures, per_capture, strict=True):
        try:
            detect_format(path)
        except CaptureError as error:
            problems.append(Problem(str(path), str(error).removeprefix(f"{path}: ")))
            continue
        except OSError as error:
            problems.append(Problem(str(path), f"cannot read ({error.strerror or error})"))
            continue
        readable.append(Capture(path, sensor=names.index(name)))
    if not readable:
        _print_problems(problems, _)
        raise typer.Exit(NOTHING_READ)
    sizes = [sensor_size] * len(names) if sensor_size else None
    with _packet_progress(_) as on_packets:
        result = analyse_captures(readable, sizes=sizes, research=scanners, bucket=bucket,
                                  rise_bucket=bucket, on_packets=on_packets)
    for stat in result.stats:
        problems.extend(Problem(p.path, p.reason, p.offset, p.record) for p in stat.problems)
    _print_problems(problems, _)
    _print_findings(result.findings, names, as_json, _)
    if html is not None:
        _write_report(html, result, names, sensor_size or 0, lang or load_config().lang, _)
    if result.packets == 0 and any(stat.problems for stat in result.stats):
        raise typer.Exit(NOTHING_READ)


def _write_report(path: Path, result: Any, names: Sequence[str], size: int, lang: str,
                  _: Translate) -> None:
    from renkei.sensors.geo import Geo
    from renkei.sensors.report import render_html

    if lang not in ("en", "ja"):
        _fail(_("use en or ja for --lang"), _)
    page = render_html(result.series, result.findings, lang=lang,
                       sensors=[(name, "", size) for name in names], geo=Geo.default())
    path.write_text(page, encoding="utf-8")
    typer.echo(_("report written to {path}").format(path=path), err=True)


def finding_json(finding: Finding, names: Sequence[str]) -> dict[str, Any]:
    """``Finding.to_json`` with sensors by name (the ``analyse --json`` contract)."""
    def name(index: int | None) -> str | None:
        return names[index] if index is not None and 0 <= index < len(names) else None

    body = finding.to_json()
    body["sensor"] = name(finding.sensor)
    body["sensors"] = [n for n in map(name, finding.sensors) if n is not None]
    return body


def _print_findings(findings: Sequence[Finding], names: Sequence[str], as_json: bool,
                    _: Translate) -> None:
    if as_json:     # one line per finding as it is made: a large run's are never all held
        _write_json_lines(finding_json(f, names) for f in findings)
        return
    _print_finding_bodies([finding_json(f, names) for f in findings], as_json, _)


def _write_json_lines(bodies: Iterable[dict[str, Any]]) -> None:
    out = sys.stdout
    for body in bodies:
        out.write(json.dumps(body, ensure_ascii=False) + "\n")


def _print_finding_bodies(bodies: Sequence[dict[str, Any]], as_json: bool,
                          _: Translate) -> None:
    if as_json:
        _write_json_lines(bodies)
        return
    table = Table(title=_("{count} findings").format(count=len(bodies)))
    for column in ("kind", "source", "ports", "protocol", "fingerprints", "packets", "first",
                   "last", "sensor"):
        table.add_column(_(column))
    for body in bodies:
        sensor = body["sensor"] or ",".join(body["sensors"])
        marks = [*body["fingerprints"], *body["labels"]]
        table.add_row(*(literal(v) for v in (
            body["kind"], body["src"] or "-", ",".join(map(str, body["ports"])) or "-",
            body["protocol"], ",".join(marks) or "-", f"{body['packets']:,}",
            str(body["first"])[:19], str(body["last"])[:19], sensor or "-")))
    Console().print(table)


# --- reading back ---------------------------------------------------------------------------


@app.command("series")
def series(
    port: Annotated[int | None, typer.Option("--port", min=0, max=65535, help="Only this port.")] = None,
    sensor: Annotated[str | None, typer.Option("--sensor", help="Only this sensor.")] = None,
    since: Since = None,
    until: Until = None,
    limit: Limit = 10_000,
    as_json: AsJson = False,
) -> None:
    """The stored time series: packets and unique sources per bucket, sensor, protocol, port."""
    from renkei.sensors import service

    with _session() as (session, _):
        points = service.series(session, port=port, sensor=sensor,
                                since=_when(since, "--since", _),
                                until=_when(until, "--until", _), limit=limit)
    if as_json:
        for point in points:
            typer.echo(json.dumps(point.to_json(), ensure_ascii=False))
        return
    table = Table(title=_("series"))
    for column in ("bucket", "sensor", "protocol", "port", "packets", "sources",
                   "per address"):
        table.add_column(_(column))
    for point in points:
        body = point.to_json()
        sources = f"{point.sources:,}" + ("" if point.sources_exact else " ≥")
        table.add_row(str(body["bucket"])[:19], literal(point.sensor), literal(body["protocol"]),
                      str(point.port), f"{point.packets:,}", sources,
                      "-" if point.per_address is None else f"{point.per_address:.3g}")
    Console().print(table)


@app.command("findings")
def findings(
    kind: Annotated[list[str] | None, typer.Option("--kind", help="scanner, backscatter, rise or campaign (repeat for several).")] = None,
    port: Annotated[int | None, typer.Option("--port", min=0, max=65535, help="Only this port.")] = None,
    sensor: Annotated[str | None, typer.Option("--sensor", help="Only this sensor's.")] = None,
    src: Annotated[str | None, typer.Option("--src", help="Only this source address.")] = None,
    since: Since = None,
    until: Until = None,
    limit: Limit = 10_000,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line, as `analyse --json` (plus id and run).")] = False,
) -> None:
    """Stored findings, newest first, by kind, time, port, sensor and source."""
    from renkei.sensors import service

    with _session() as (session, _):
        kinds = [service.parse_kind(k) for k in kind or []]
        rows = service.findings(session, kinds=kinds, port=port, sensor=sensor, src=src,
                                since=_when(since, "--since", _),
                                until=_when(until, "--until", _), limit=limit)
        bodies = [row.to_json() for row in rows]
    _print_finding_bodies(bodies, as_json, _)


@app.command("report")
def report(
    html: Annotated[Path | None, typer.Option("--html", help="Write the HTML report (charts, top ports, rises, campaigns, scanners, victims, countries) here.", dir_okay=False)] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the JSON report here; - for standard output.", dir_okay=False, allow_dash=True)] = None,
    since: Since = None,
    until: Until = None,
    sensor: Annotated[list[str] | None, typer.Option("--sensor", help="Only this sensor (repeat for several; default: every one).")] = None,
    port: Annotated[list[int] | None, typer.Option("--port", min=0, max=65535, help="Only this port (repeat for several; ICMP counts as port 0).")] = None,
    bucket: Annotated[str | None, typer.Option("--bucket", help="Report the series of this bucket width: 5m, 1h or 1d (default: the one stored most in the range).")] = None,
    lang: Annotated[str | None, typer.Option("--lang", help="Report language: en or ja (default: RENKEI_LANG).")] = None,
    zone: Annotated[str, typer.Option("--zone", help="Time zone of the times shown, e.g. Asia/Tokyo.")] = "UTC",
    asn_data: Annotated[Path | None, typer.Option("--asn-data", help="Address-to-AS data (a MaxMind .mmdb or iptoasn.com's ip2asn .tsv[.gz]) for the AS table.")] = None,
) -> None:
    """The darknet report of the stored series and findings, by time range, sensor and
    port, as HTML and/or JSON (English or Japanese)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from renkei.sensors import report as reports
    from renkei.sensors import stored_report
    from renkei.sensors.geo import Geo
    from renkei.sensors.service import checked_bucket_seconds

    with _session() as (session, _):
        if html is None and json_path is None:
            _fail(_("give --html PATH, --json PATH or both"), _)
        language = lang or load_config().lang
        if language not in ("en", "ja"):
            _fail(_("use en or ja for --lang"), _)
        try:
            shown_zone = ZoneInfo(zone.strip())
        except (ZoneInfoNotFoundError, ValueError):
            _fail(_("--zone: not a time zone: {value}").format(value=visible(zone[:60])), _)
        try:
            geo = Geo.from_files(asn=asn_data) if asn_data is not None else Geo.default()
        except (OSError, ValueError) as error:
            _fail(_("{path}: cannot read the AS data ({reason})").format(
                path=visible(str(asn_data)), reason=visible(str(error)[:200])), _)
        start, end = _when(since, "--since", _), _when(until, "--until", _)
        if start is not None and end is not None and start >= end:
            _fail(_("--since must be before --until"), _)
        scope = stored_report.Scope(
            since=start, until=end, sensors=tuple(sensor or ()), ports=tuple(port or ()),
            width=checked_bucket_seconds(bucket) if bucket is not None else None)
        gathered = stored_report.gather(session, scope)
        summary = stored_report.summary(gathered, lang=language, geo=geo)
        outputs: list[tuple[Path, str]] = []
        if html is not None:
            outputs.append((html, reports.html_of(summary, gathered.series, lang=language,
                                                  zone=shown_zone,
                                                  totals=gathered.figures.bucket_packets)))
        if json_path is not None:
            outputs.append((json_path, json.dumps(reports.json_of(
                summary, gathered.series, lang=language, zone=shown_zone),
                ensure_ascii=False, indent=1) + "\n"))
    for path, text in outputs:
        if str(path) == "-":
            sys.stdout.write(text)
            continue
        try:
            path.write_text(text, encoding="utf-8")
        except OSError as error:
            _fail(_("{path}: cannot write ({reason})").format(
                path=visible(str(path)), reason=visible(error.strerror or str(error))), _)
        typer.echo(_("report written to {path}").format(path=visible(str(path))), err=True)


@app.command("notify")
def notify(
    org: Annotated[str | None, typer.Option("--org", help="Only this member (default: every member with registered address space).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="json (one member per line) or csv (one address per line).")] = "json",
    share: Annotated[bool, typer.Option("--share", help="Also publish each member's notice to that member alone, as a TLP:AMBER+STRICT STIX report.")] = False,
    since: Since = None,
    until: Until = None,
    asn_data: Annotated[Path | None, typer.Option("--asn-data", help="Address-to-AS data (a MaxMind .mmdb or iptoasn.com's ip2asn .tsv[.gz]) to match registered AS numbers.")] = None,
) -> None:
    """Each member's own addresses seen scanning or hit by DoS, with the evidence."""
    from renkei.core import orgs
    from renkei.sensors import notify as notices

    with _session() as (session, _):
        if fmt not in ("json", "csv"):
            _fail(_("--format is json or csv"), _)
        geo = None
        if asn_data is not None:
            from renkei.sensors.geo import Geo

            geo = Geo.from_files(asn=asn_data)
        clock = SystemClock()
        start, end = _when(since, "--since", _), _when(until, "--until", _)
        member = orgs.require(session, org).id if org is not None else None
        found = notices.notices(session, organisation_id=member, since=start, until=end,
                                geo=geo)
        shared = []
        if share:
            for notice in found:
                if notice.addresses:
                    rows = notices.share_notice(session, clock, notice, since=start, until=end)
                    shared.append((notice, rows))
    if fmt == "csv":
        sys.stdout.write(notices.to_csv(found))
    else:
        for notice in found:
            typer.echo(json.dumps(notice.to_json(), ensure_ascii=False))
    for notice, rows in shared:
        report = next((r.stix_id for r in rows if r.stix_type == "report"), "-")
        typer.echo(_("shared {report} with {org}: {count} addresses, TLP:AMBER+STRICT").format(
            report=report, org=visible(notice.organisation), count=len(notice.addresses)),
            err=True)
