"""Benchmark: advisory import and inventory matching, beside a plain one-by-one baseline.

    python bench/vulns.py [--cves 250000] [--components 10000] [--database sqlite|postgresql]
                          [--postgresql-url URL] [--baseline-components 20]

In one run, on a fresh store (SQLite in a temporary folder, or a throw-away PostgreSQL
schema in the database --postgresql-url names, by default the test database):

  * import records/s of the real OSV corpus in ../shared/data/osv-pypi (2,661 PyPI
    advisories, YAML) when that folder is there — it says so when it is not;
  * import records/s of a generated NVD-API-2.0-shaped corpus of --cves CVEs (pages of
    2,000, as the API serves them: descriptions, CVSS v3.1 and v2 metrics, CWEs,
    references, CPE configurations with version bounds and non-vulnerable platforms);
  * matching an inventory of --components components (purls of the OSV corpus's
    packages and CPE names of the generated products, with versions) against all of it:
    the time of `service.match_components`, lookups in the store included (one-shot, as
    `renkei vulns match` does), and the time of the resident index `renkei serve` keeps
    (`vulns.index`: every record compiled once per import, its build time printed too),
    on three different inventories of that shape so that no cache carries over;
  * the baseline: each component checked against each advisory one by one, with
    `univers` version ranges, as a plain script would; timed on --baseline-components
    components and scaled to the whole inventory (its cost is linear in both).

Goals (issue 4): the 250,000-CVE import in under 60 s, the 10,000-component match in
under 1 s.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from host import machine, yardstick
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "data"
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
PAGE = 2_000
GOAL_IMPORT_SECONDS = 60.0
GOAL_MATCH_SECONDS = 1.0
console = Console(highlight=False)

VENDORS = ["apache", "microsoft", "oracle", "cisco", "fortinet", "ivanti", "vmware", "adobe",
           "google", "mozilla", "redhat", "debian", "canonical", "ibm", "sap", "trendmicro",
           "cybozu", "fujitsu", "nec", "hitachi", "buffalo", "elecom", "iodata", "yamaha"]


def products(count: int, seed: int = 7) -> list[tuple[str, str]]:
    """``count`` (vendor, product) pairs, shared by the corpus and the inventory."""
    rng = random.Random(seed)
    return [(rng.choice(VENDORS), f"product_{n}") for n in range(count)]


def version(rng: random.Random) -> str:
    return f"{rng.randint(0, 12)}.{rng.randint(0, 20)}.{rng.randint(0, 30)}"


def nvd_cve(n: int, rng: random.Random, catalogue: list[tuple[str, str]]) -> dict[str, Any]:
    """One CVE as NVD API 2.0 returns it."""
    published = datetime(2015, 1, 1, tzinfo=UTC) + timedelta(minutes=17 * n)
    stamp = published.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
    nodes = []
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        vendor, product = rng.choice(catalogue)
        end = version(rng)
        nodes.append({"operator": "OR", "negate": False, "cpeMatch": [
            {"vulnerable": True, "criteria": f"cpe:2.3:a:{vendor}:{product}:*:*:*:*:*:*:*:*",
             "versionEndExcluding": end, "matchCriteriaId": f"{n:08X}-0000-0000-0000-000000000000"},
            {"vulnerable": True, "criteria": f"cpe:2.3:a:{vendor}:{product}:{version(rng)}:*:*:*:*:*:*:*",
             "matchCriteriaId": f"{n:08X}-0000-0000-0000-000000000001"}]})
    configurations: list[dict[str, Any]] = [{"nodes": nodes}]
    if rng.random() < 0.2:
        configurations = [{"operator": "AND", "nodes": [nodes[0], {"operator": "OR", "negate": False, "cpeMatch": [
            {"vulnerable": False, "criteria": "cpe:2.3:o:microsoft:windows:-:*:*:*:*:*:*:*",
             "matchCriteriaId": "00000000-0000-0000-0000-000000000002"}]}]}]
    score = round(rng.uniform(2.0, 10.0), 1)
    return {"cve": {
        "id": f"CVE-{2015 + n // 40_000}-{n % 40_000 + 10_000}",
        "sourceIdentifier": "cve@mitre.org", "published": stamp, "lastModified": stamp,
        "vulnStatus": "Analyzed", "cveTags": [],
        "descriptions": [{"lang": "en", "value": f"A flaw in component {n} allows remote attackers to execute code via a crafted request. " * 2},
                         {"lang": "es", "value": f"Una falla en el componente {n}."}],
        "metrics": {
            "cvssMetricV31": [{"source": "nvd@nist.gov", "type": "Primary", "cvssData": {
                "version": "3.1", "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                "baseScore": score, "baseSeverity": "CRITICAL"},
                "exploitabilityScore": 3.9, "impactScore": 5.9}],
            "cvssMetricV2": [{"source": "nvd@nist.gov", "type": "Primary", "cvssData": {
                "version": "2.0", "vectorString": "AV:N/AC:L/Au:N/C:P/I:P/A:P", "baseScore": 7.5},
                "baseSeverity": "HIGH"}]},
        "weaknesses": [{"source": "nvd@nist.gov", "type": "Primary",
                        "description": [{"lang": "en", "value": f"CWE-{rng.choice((79, 89, 20, 787, 22))}"}]}],
        "configurations": configurations,
        "references": [{"url": f"https://vendor.example/advisory/{n}/{k}", "source": "cve@mitre.org"}
                       for k in range(rng.randint(2, 6))]}}


def write_corpus(folder: Path, cves: int, catalogue: list[tuple[str, str]]) -> int:
    """NVD API pages of PAGE CVEs each; the bytes written."""
    rng = random.Random(42)
    written = 0
    for start in range(0, cves, PAGE):
        items = [nvd_cve(n, rng, catalogue) for n in range(start, min(start + PAGE, cves))]
        page = {"resultsPerPage": len(items), "startIndex": start, "totalResults": cves,
                "format": "NVD_CVE", "version": "2.0", "timestamp": "2026-11-26T00:00:00.000",
                "vulnerabilities": items}
        data = orjson.dumps(page)
        (folder / f"nvdcve-2.0-{start // PAGE:04d}.json").write_bytes(data)
        written += len(data)
    return written


def osv_packages(folder: Path) -> list[str]:
    """The package names of the real OSV corpus (its folder names)."""
    return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def inventory(path: Path, count: int, catalogue: list[tuple[str, str]],
              packages: list[str], seed: int = 3) -> None:
    """``count`` distinct components: half purls (the corpus's PyPI packages at old and new
    versions), half CPE names of the generated products."""
    rng = random.Random(seed)
    lines: set[str] = set()
    while len(lines) < count:
        if packages and len(lines) % 2 == 0:
            lines.add(f"pkg:pypi/{rng.choice(packages)}@{rng.randint(0, 5)}.{rng.randint(0, 30)}"
                      f".{rng.randint(0, 9)}")
        else:
            vendor, product = rng.choice(catalogue)
            lines.add(f"cpe:2.3:a:{vendor}:{product}:{version(rng)}:*:*:*:*:*:*:*")
    path.write_text("\n".join(sorted(lines)) + "\n")


@contextlib.contextmanager
def store(database: str, url: str = PG_URL) -> Iterator[Any]:
    """A fresh, migrated renkei database: the Database object."""
    from renkei.core.db import Database

    with tempfile.TemporaryDirectory(prefix="renkei-bench-vulns-") as home:
        if database == "sqlite":
            db = Database(f"sqlite:///{home}/renkei.db")
            try:
                yield db
            finally:
                db.dispose()
            return
        import psycopg

        schema = f"bench_vulns_{os.getpid()}"
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            conn.execute(f'CREATE SCHEMA "{schema}"')
        db = Database(f"{url}?options=-csearch_path%3D{schema}")
        try:
            yield db
        finally:
            db.dispose()
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def backend_cpu(session: Any) -> float | None:
    """CPU seconds the session's PostgreSQL backend has used, when the server runs on this
    machine (its /proc entry readable); None on SQLite or elsewhere."""
    from sqlalchemy import text

    if session.get_bind().dialect.name != "postgresql":
        return None
    pid = session.execute(text("SELECT pg_backend_pid()")).scalar()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed_import(db: Any, paths: list[Path], label: str,
                 total: int | None) -> tuple[int, float, str]:
    """(records read, seconds, CPU and load) of one `renkei vulns import`, with a progress
    bar. The CPU time (ours, and the PostgreSQL backend's when local) is what a busy shared
    host does not inflate."""
    from renkei.core.time import SystemClock
    from renkei.vulns import service

    columns = (TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(label, total=total)
        started, used = time.perf_counter(), time.process_time()
        with db.session() as session:
            server = backend_cpu(session)
            result = service.import_paths(session, SystemClock(), paths,
                                          on_records=lambda n: progress.advance(task, n))
            server_after = backend_cpu(session)
        took = time.perf_counter() - started
        used = time.process_time() - used
    if result.problems:
        console.print(f"  [yellow]{result.problems} problems[/], e.g. "
                      f"{result.kept_problems[0].location}: {result.kept_problems[0].message}")
    cpu = f"CPU {used:.1f} s"
    if server is not None and server_after is not None:
        cpu += f" + server {server_after - server:.1f} s"
    cpu += f"; load {os.getloadavg()[0]:.1f}"
    console.print(f"  {label}: {result.read:,} records in {took:.1f} s = "
                  f"{result.read / took:,.0f} records/s ({cpu}) ({result.counts()})")
    return result.read, took, cpu


def baseline(components: list[Any], advisories: list[Any]) -> float:
    """Seconds to check ``components`` against every advisory one by one with univers."""
    from univers.version_range import RANGE_CLASS_BY_SCHEMES
    from univers.versions import PypiVersion

    started = time.perf_counter()
    pypi = RANGE_CLASS_BY_SCHEMES["pypi"]
    for component in components:
        for advisory in advisories:
            for package in advisory.packages:
                if package.name.lower() != (component.name or "").lower():
                    continue
                for affected in package.ranges:
                    events = affected.events
                    for k, event in enumerate(events):
                        if event.kind.value != "introduced":
                            continue
                        end = events[k + 1] if k + 1 < len(events) else None
                        spec = ">=0" if event.version == "0" else f">={event.version}"
                        if end is not None:
                            spec += f"|<{end.version}" if end.kind.value == "fixed" else f"|<={end.version}"
                        with contextlib.suppress(Exception):
                            _ = PypiVersion(component.version) in pypi.from_string(  # type: ignore[no-untyped-call]
                                f"vers:pypi/{spec}")
            for configuration in advisory.configurations:
                for node in configuration.nodes:
                    for match in node.matches:
                        _ = component.cpe is not None and match.criteria.split(":")[3:5] == component.cpe.split(":")[3:5]
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cves", type=int, default=250_000)
    parser.add_argument("--components", type=int, default=10_000)
    parser.add_argument("--products", type=int, default=20_000)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--postgresql-url", default=PG_URL,
                        help="a database the bench may create a schema in (libpq URL)")
    parser.add_argument("--baseline-components", type=int, default=20)
    args = parser.parse_args()

    from renkei.core.memory import keep_long_lived
    from renkei.vulns.index import ResidentIndex
    from renkei.vulns.inventory import read_inventory
    from renkei.vulns.service import candidate_records, match_components

    console.print(f"machine: {machine()}; pure-Python yardstick {yardstick():.1f} M loop "
                  "steps/s")
    osv_folder = SHARED / "osv-pypi" / "vulns"
    if not osv_folder.is_dir():
        console.print(f"note: {osv_folder} is not there: the real OSV corpus is skipped")
    catalogue = products(args.products)
    figures: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="renkei-bench-nvd-") as tmp, store(args.database, args.postgresql_url) as db:
        folder = Path(tmp)
        started = time.perf_counter()
        size = write_corpus(folder, args.cves, catalogue)
        console.print(f"generated {args.cves:,} NVD-shaped CVEs, {size / 2**20:,.0f} MiB, in "
                      f"{time.perf_counter() - started:.1f} s (not counted)")
        if osv_folder.is_dir():
            read, took, cpu = timed_import(db, [osv_folder], "OSV corpus (real)", None)
            figures["import OSV (real, YAML)"] = (f"{read:,} in {took:.1f} s = "
                                                  f"{read / took:,.0f}/s ({cpu})")
        read, took, cpu = timed_import(db, [folder], f"NVD-shaped {args.cves:,}", args.cves)
        figures[f"import {args.cves:,} NVD-shaped CVEs"] = (
            f"{read:,} in {took:.1f} s = {read / took:,.0f}/s ({cpu}) "
            f"({'met' if took < GOAL_IMPORT_SECONDS else 'NOT met'}: < {GOAL_IMPORT_SECONDS:.0f} s)")
        inv = folder / "inventory.txt"
        inventory(inv, args.components, catalogue, osv_packages(osv_folder))
        components = read_inventory(inv).components
        times = []
        with db.session() as session:
            for _ in range(3):
                started = time.perf_counter()
                findings = match_components(session, components)
                times.append(time.perf_counter() - started)
            candidates = candidate_records(session, components)
        best = min(times)
        figures[f"match {len(components):,} components"] = (
            f"{best:.2f} s (best of 3; {len(findings):,} findings, {len(candidates):,} "
            f"candidate records) ({'met' if best < GOAL_MATCH_SECONDS else 'NOT met'}: < "
            f"{GOAL_MATCH_SECONDS:.0f} s)")
        with db.session() as session:
            index = ResidentIndex.build(session)
        keep_long_lived()  # as renkei serve does after each build
        # three inventories of the same shape, each matched once: nothing of one is cached
        # for the next (the first is the one the one-shot matched, to compare answers)
        others = []
        for seed in (4, 5):
            path = folder / f"inventory-{seed}.txt"
            inventory(path, args.components, catalogue, osv_packages(osv_folder), seed=seed)
            others.append(read_inventory(path).components)
        times, cpu = [], []
        for n, batch in enumerate([components, *others]):
            started, used = time.perf_counter(), time.process_time()
            resident = index.findings(batch)
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - used)  # what a busy shared host does not inflate
            if n == 0:
                same = [f.as_json() for f in resident] == [f.as_json() for f in findings]
                first_count = len(resident)
        slowest = max(times)
        figures[f"match {len(components):,} components, resident index (renkei serve)"] = (
            f"{slowest:.2f} s (slowest of 3 inventories: {', '.join(f'{t:.2f}' for t in times)}; "
            f"CPU {', '.join(f'{t:.2f}' for t in cpu)} s; load {os.getloadavg()[0]:.1f}; "
            f"{first_count:,} findings, {'the same as' if same else 'DIFFERENT from'} the "
            f"one-shot's) ({'met' if slowest < GOAL_MATCH_SECONDS else 'NOT met'}: < "
            f"{GOAL_MATCH_SECONDS:.0f} s); index of {len(index.facts):,} records built in "
            f"{index.build_seconds:.1f} s, once per import")
        from renkei.vulns.feeds import read_path
        from renkei.vulns.model import Advisory

        every = [r for path in ([osv_folder] if osv_folder.is_dir() else []) + [folder]
                 for r in read_path(path) if isinstance(r, Advisory)]
        sample = components[:: max(1, len(components) // args.baseline_components)]
        sample = sample[:args.baseline_components]
        took = baseline(sample, every)
        scaled = took / len(sample) * len(components)
        figures[f"baseline: one by one against all {len(every):,} advisories, univers"] = (
            f"{took:.2f} s for {len(sample)} components -> {scaled:,.0f} s for "
            f"{len(components):,} (scaled); renkei {scaled / best:,.0f}x faster one-shot, "
            f"{scaled / slowest:,.0f}x with the resident index")
    table = Table(title=f"vulns on {args.database}")
    table.add_column("phase")
    table.add_column("figure")
    for phase, figure in figures.items():
        table.add_row(phase, figure)
    console.print(table)


if __name__ == "__main__":
    main()
