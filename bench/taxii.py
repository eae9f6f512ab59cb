"""Benchmark: renkei's TAXII 2.1 server beside OASIS medallion 3.0.0, in one run.

    python bench/taxii.py [--database sqlite|postgresql|both] [--objects 2000]
                          [--objects-large 100000] [--skip-medallion] [--repeat 3]
                          [--post-only]

Starts ``renkei serve`` (per database, in a throw-away RENKEI_HOME; on PostgreSQL in a
schema made for the run and dropped after it) and medallion 3.0.0 with its memory backend
(installed on first run in its own venv under bench/out/, so its Flask pins never touch
the project's venv), both on free loopback ports. Through taxii2-client, as a member's
tool would, it then measures:

  * POST 2,000 TLP:GREEN indicators in envelopes of 500 (renkei validates each with stix2
    and stix2-validator; medallion stores what it gets);
  * paging through all of them at limit 100 and at limit 1,000;
  * 8 concurrent readers, each with its own client, paging everything at limit 1,000;
  * renkei alone, on a fresh store: POST 100,000, page them at limit 1,000, and the
    per-object paging speed compared with the 2,000-object collection. That comparison
    takes the same unit of work at both sizes, in the same minutes: the median rate of
    reading 2,000 objects (two pages of 1,000, on a connection the client already holds),
    as consecutive stretches of the large collection's whole reads and as whole reads of
    the small collection, whose server stays up for this. Each whole read of the large
    collection is followed by as many reads of the small one as it had stretches, so both
    medians sample the same stretch of the machine's time. Measured minutes apart instead
    (the side-by-side phase's figure against the large phase's), the ratio followed the
    machine rather than the store: on this 2-core shared host, five quiet runs gave 0.74
    to 1.03 that way and 0.91 to 0.95 this way.

Each server first takes one envelope that is deleted again, so the timed POSTs do not pay
for its first use. Paging and reader figures are the median of at least --repeat rounds,
and of as many more as make 3 s in all (a read of 2,000 objects lasts about 40 ms). Every
phase says how much of the CPUs other work on the machine took meanwhile: on a shared
machine, figures are comparable only while that stays small. On PostgreSQL with
autovacuum off, ANALYZE runs after each load, as autovacuum would. The side-by-side part
stops at 2,000 objects because medallion's reads cost the square of the collection
(about 25 objects/s at 10,000). Prints objects/s per phase, renkei/medallion ratios and
which goals are met.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from host import machine, yardstick
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from taxii2client.v21 import Collection, Server, as_pages

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
MEDALLION_VERSION = "3.0.0"
TLP_GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
BATCH = 500
READERS = 8
GOAL_PAGING = 20_000
GOAL_INGEST = 2_000
MIN_SECONDS = 3.0  # time each paging figure over at least this long in all
MAX_ROUNDS = 60
SCALE_TOLERANCE = 0.9  # "no slower per object": within the run-to-run noise of paging
console = Console(highlight=False, width=None if sys.stdout.isatty() else 130)


# --- data ------------------------------------------------------------------------------------


def indicators(start: int, count: int) -> list[dict[str, Any]]:
    """Valid STIX 2.1 indicators, each unique, as a member would share them (TLP:GREEN)."""
    stamp = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return [{"type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid4()}",
             "created": stamp, "modified": stamp, "name": f"C2 server {i}",
             "description": "Command-and-control host seen in a phishing campaign.",
             "indicator_types": ["malicious-activity"], "pattern_type": "stix",
             "pattern": f"[domain-name:value = 'c2-{i}.example.com']", "valid_from": stamp,
             "object_marking_refs": [TLP_GREEN]} for i in range(start, start + count)]


# --- servers ---------------------------------------------------------------------------------


OWN_GROUPS: set[int] = {os.getpgrp()}  # the bench's and its servers' process groups


def _proc_stat(pid: str) -> tuple[str, int, int] | None:
    """(command, process group, CPU ticks) of one process, None when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name = raw[raw.index("(") + 1:raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2:].split()
    return name, int(fields[2]), int(fields[11]) + int(fields[12])


def _cpu_ticks() -> tuple[int, dict[str, int]]:
    """The machine's ticks so far (all CPUs) and the CPU ticks of each process that is
    neither the bench's nor PostgreSQL's (whose backends serve the bench)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    others: dict[str, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _proc_stat(entry)) is not None:
            name, group, ticks = stat
            if group not in OWN_GROUPS and name not in ("postgres", "postmaster"):
                others[entry] = ticks
    return sum(values), others


@dataclass
class Others:
    """How much of the machine other work took during a phase: figures from a shared
    machine are only comparable when this is small. A lower bound: a process that both
    starts and ends within the phase is not seen (the machine's total cannot be used
    instead, as PostgreSQL's short-lived parallel workers would count as other work)."""

    start: tuple[int, dict[str, int]] = field(default_factory=_cpu_ticks)

    def share(self) -> float | None:
        """Other work's share of all CPUs; None for a phase under a second (too few ticks)."""
        total, after = _cpu_ticks()
        elapsed = total - self.start[0]
        if elapsed < (os.cpu_count() or 1) * os.sysconf("SC_CLK_TCK"):
            return None
        before = self.start[1]
        other = sum(ticks - before.get(pid, 0) for pid, ticks in after.items())
        return min(1.0, max(0.0, other / elapsed))


def idle_check(seconds: float = 2.0) -> float:
    others = Others()
    time.sleep(seconds)
    return others.share() or 0.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@dataclass
class Endpoint:
    """A running TAXII server as the client sees it."""

    name: str
    discovery: str
    user: str
    password: str
    database_url: str | None = None  # a PostgreSQL store, for ANALYZE after loading
    analyze: bool = False

    def loaded(self) -> None:
        """After a POST phase: ANALYZE when asked (PostgreSQL with autovacuum off)."""
        if self.analyze and self.database_url:
            analyze(self.database_url)

    def collection(self) -> Collection:
        """A fresh client (its own HTTP session) on the server's first collection."""
        server = Server(self.discovery, user=self.user, password=self.password)
        return server.api_roots[0].collections[0]


@contextlib.contextmanager
def process(command: list[str], env: dict[str, str], log: Path, probe: str,
            auth: tuple[str, str], cwd: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Start a server in its own process group, wait until ``probe`` answers, always stop it."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as sink:
        proc = subprocess.Popen(command, env=env, cwd=cwd, stdout=sink, stderr=subprocess.STDOUT,
                                start_new_session=True)
    OWN_GROUPS.add(proc.pid)
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{command[0]} exited with {proc.returncode}:\n{tail(log)}")
            try:
                if httpx.get(probe, auth=auth, timeout=2,
                             headers={"Accept": "application/taxii+json;version=2.1"}
                             ).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{command[0]} did not answer in 90 s:\n{tail(log)}")
            time.sleep(0.2)
        busy = settle(proc.pid)
        if busy > 1:
            console.print(f"  {command[0].rsplit('/', 1)[-1]} start-up work after it answered "
                          f"(log-scanner warm-up): {busy:.1f} s, waited out")
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def group_cpu_seconds(group: int) -> float:
    """CPU time used so far by the processes of a process group (Linux /proc)."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == group:  # pgrp; utime and stime follow at 11 and 12
                ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def settle(group: int, quiet: float = 1.0, most: float = 120.0) -> float:
    """Wait until a server's process group stops using CPU for ``quiet`` seconds (renkei
    warms its log scanner up in the background at start, holding the GIL for seconds: a
    one-off start cost, not the steady state this bench measures); the seconds waited."""
    start = time.monotonic()
    used, still_since = group_cpu_seconds(group), time.monotonic()
    while time.monotonic() - start < most:
        time.sleep(0.25)
        now = group_cpu_seconds(group)
        if now - used > 0.05:  # over a fifth of a core in this quarter second: still busy
            still_since = time.monotonic()
        used = now
        if time.monotonic() - still_since >= quiet:
            break
    return time.monotonic() - start


@contextlib.contextmanager
def pg_schema(base_url: str, label: str) -> Iterator[str]:
    """A fresh PostgreSQL schema for one renkei instance (never the public one), dropped after."""
    import psycopg

    schema = f"bench_taxii_{label}_{os.getpid()}"
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{base_url}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(base_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def autovacuum_on(base_url: str) -> bool:
    import psycopg

    with psycopg.connect(base_url) as conn:
        row = conn.execute("SHOW autovacuum").fetchone()
        return bool(row and row[0] == "on")


def analyze(url: str) -> None:
    """ANALYZE one renkei schema: the statistics autovacuum keeps on a production server."""
    import psycopg

    base, _, options = url.partition("?")
    schema = options.rsplit("%3D", 1)[-1]
    with psycopg.connect(base, autocommit=True) as conn:
        tables = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s",
                              (schema,)).fetchall()
        for (table,) in tables:
            conn.execute(f'ANALYZE "{schema}"."{table}"')


@contextlib.contextmanager
def renkei_server(database: str, pg_url: str, label: str, workers: int) -> Iterator[Endpoint]:
    """``renkei serve`` on a fresh store: a hub organisation and a read+submit token."""
    with contextlib.ExitStack() as stack:
        home = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="renkei-bench-")))
        env = {**os.environ, "RENKEI_HOME": str(home)}
        database_url = None
        if database == "postgresql":
            database_url = stack.enter_context(pg_schema(pg_url, label))
            env["RENKEI_DATABASE_URL"] = database_url
        cli = [sys.executable, "-m", "renkei"]
        subprocess.run([*cli, "orgs", "add", "Hub", "--hub"], env=env, check=True,
                       capture_output=True)
        token = subprocess.run([*cli, "tokens", "create", "--org", "Hub", "--scope", "read,submit"],
                               env=env, check=True, capture_output=True, text=True).stdout.strip()
        port = free_port()
        url = f"http://127.0.0.1:{port}/taxii2/"
        stack.enter_context(process(
            [*cli, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
            env, OUT / "logs" / f"renkei-{label}.log", url, ("Hub", token), home))
        yield Endpoint(f"renkei ({database})", url, "Hub", token, database_url)


def medallion_venv() -> Path:
    """medallion 3.0.0 in its own venv under bench/out (made once), so its pins stay there."""
    venv = OUT / "medallion-venv"
    command = venv / "bin" / "medallion"
    if not command.exists():
        console.print(f"installing medallion {MEDALLION_VERSION} into {venv} (first run)")
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        done = subprocess.run([str(venv / "bin" / "pip"), "install", "-q",
                               f"medallion=={MEDALLION_VERSION}"], capture_output=True, text=True)
        if done.returncode != 0 or not command.exists():
            raise RuntimeError(f"pip install medallion=={MEDALLION_VERSION} failed:\n"
                               f"{done.stderr[-2000:]}")
    return command


@contextlib.contextmanager
def medallion_server() -> Iterator[Endpoint]:
    """medallion with its memory backend: one API root, one read-write collection, one user.

    ``session_timeout`` is raised from 30 s to an hour: medallion keeps each paging cursor
    on the server and forgets it after that time, which a slow full read would outlast.
    """
    command = medallion_venv()
    port = free_port()
    root = f"http://127.0.0.1:{port}/bench/"
    data = {
        "/discovery": {"title": "medallion (bench)", "description": "memory backend",
                       "default": root, "api_roots": [root]},
        "bench": {
            "information": {"title": "bench", "description": "bench",
                            "versions": ["application/taxii+json;version=2.1"],
                            "max_content_length": 10 * 1024 * 1024},
            "status": [],
            "collections": [{"id": str(uuid.uuid4()), "title": "bench", "description": "bench",
                             "can_read": True, "can_write": True,
                             "media_types": ["application/stix+json;version=2.1"],
                             "objects": [], "manifest": []}]}}
    password = uuid.uuid4().hex
    config = {"backend": {"module": "medallion.backends.memory_backend",
                          "module_class": "MemoryBackend",
                          "filename": str(OUT / "medallion-data.json"), "session_timeout": 3600},
              "users": {"bench": password}, "taxii": {"max_page_size": 5000}}
    (OUT / "medallion-data.json").write_text(json.dumps(data, indent=1))
    (OUT / "medallion-config.json").write_text(json.dumps(config, indent=1))
    url = f"http://127.0.0.1:{port}/taxii2/"
    with process([str(command), "--host", "127.0.0.1", "--port", str(port),
                  str(OUT / "medallion-config.json")], dict(os.environ),
                 OUT / "logs" / "medallion.log", url, ("bench", password), OUT):
        yield Endpoint(f"medallion {MEDALLION_VERSION} (memory)", url, "bench", password)


# --- measurements ----------------------------------------------------------------------------


@dataclass
class Figures:
    """Objects/s of each phase for one server (None: not measured)."""

    post: float | None = None
    page100: float | None = None
    page1000: float | None = None
    readers: float | None = None
    reader_errors: list[str] = field(default_factory=list)
    post_large: float | None = None
    page_large: float | None = None
    page_large_stretch: float | None = None  # per stretch of the small collection's size
    page_small_beside: float | None = None  # whole reads of the small one, between large ones
    other_work: float = 0.0  # the largest share of the CPUs other work took in a phase

    @property
    def scale(self) -> float | None:
        """Per-object paging of the large collection over the small one: the same unit of
        work (the small collection's size) read alternately on each, in the same minutes."""
        if self.page_large_stretch is None or not self.page_small_beside:
            return None
        return self.page_large_stretch / self.page_small_beside


def post(endpoint: Endpoint, count: int, label: str, progress: bool = False) -> float:
    """POST ``count`` new indicators in envelopes of BATCH; objects/s over the whole run."""
    collection = endpoint.collection()
    batches = [min(BATCH, count - start) for start in range(0, count, BATCH)]
    payloads = (indicators(start, size) for start, size in zip(range(0, count, BATCH), batches,
                                                               strict=True))
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), console=console,
                   disable=not progress, transient=False)
    elapsed = 0.0
    slices: list[float] = []
    with bar:
        task = bar.add_task(f"POST {label}", total=count, rate="")
        done = 0
        for objects in payloads:
            envelope = {"objects": objects}
            started = time.perf_counter()
            status = collection.add_objects(envelope, poll_interval=0.2)
            took = time.perf_counter() - started
            elapsed += took
            slices.append(len(objects) / took)
            if status.status != "complete" or status.success_count != len(objects):
                raise RuntimeError(f"{endpoint.name}: POST answered {status.status} with "
                                   f"{status.success_count}/{len(objects)} successes, "
                                   f"{status.failure_count} failures")
            done += len(objects)
            bar.update(task, advance=len(objects), rate=f"{done / elapsed:,.0f} objects/s")
    if progress and len(slices) >= 20:
        tenth = max(1, len(slices) // 10)
        console.print(f"  first tenth {statistics.median(slices[:tenth]):,.0f} objects/s, "
                      f"last tenth {statistics.median(slices[-tenth:]):,.0f} objects/s "
                      "(median of the envelopes' rates)")
    return count / elapsed


def warm_up(endpoint: Endpoint) -> None:
    """POST one envelope and delete its objects again, so that the timed POSTs do not pay for
    a fresh server's first use (imports, compiled schemas, validation workers started on
    demand); says what that first envelope cost."""
    collection = endpoint.collection()
    objects = indicators(10_000_000, BATCH)
    started = time.perf_counter()
    collection.add_objects({"objects": objects}, poll_interval=0.2)
    took = time.perf_counter() - started
    for obj in objects:
        collection.delete_object(obj["id"])
    console.print(f"  [dim]first POST after start ({BATCH} objects, then deleted; not counted): "
                  f"{took:.2f} s[/]")


def timed_pages(collection: Collection, limit: int) -> Iterator[tuple[int, float]]:
    """Read the whole collection page by page: each page's objects and seconds (its
    request and parsing; what the caller does between pages is not counted)."""
    pages = as_pages(collection.get_objects, per_request=limit)
    while True:
        started = time.perf_counter()
        envelope = next(pages, None)
        took = time.perf_counter() - started
        if envelope is None:
            return
        yield len(envelope.get("objects", [])), took


def page_all(collection: Collection, limit: int) -> list[tuple[int, float]]:
    return list(timed_pages(collection, limit))


def whole_read(endpoint: Endpoint, collection: Collection, limit: int, expected: int) -> float:
    """Objects/s of one read of the whole collection."""
    pages = page_all(collection, limit)
    seen = sum(n for n, _ in pages)
    if seen != expected:
        raise RuntimeError(f"{endpoint.name}: paging at limit {limit} gave {seen} objects, "
                           f"expected {expected}")
    return seen / sum(t for _, t in pages)


def enough(rates: list[float], seconds: float, repeat: int) -> bool:
    """At least ``repeat`` rounds, and more while they add up to under MIN_SECONDS: a read of
    2,000 objects lasts about 40 ms, too short to time alone on a shared machine."""
    return len(rates) >= repeat and (seconds >= MIN_SECONDS or len(rates) >= MAX_ROUNDS)


def spread(rates: list[float], what: str) -> float:
    """Print and return the median of ``rates``."""
    console.print(f"  {len(rates)} {what}: median {statistics.median(rates):,.0f}, "
                  f"from {min(rates):,.0f} to {max(rates):,.0f} objects/s")
    return statistics.median(rates)


def paging(endpoint: Endpoint, limit: int, expected: int, repeat: int) -> float:
    """Median objects/s of full reads at ``limit``, each with a fresh client."""
    rates: list[float] = []
    spent = 0.0
    while not enough(rates, spent, repeat):
        rates.append(whole_read(endpoint, endpoint.collection(), limit, expected))
        spent += expected / rates[-1]
    return spread(rates, "rounds")


def paging_beside(large: Endpoint, small: Endpoint, expected: int, stretch: int,
                  repeat: int) -> tuple[float, float, float]:
    """Whole reads of the large collection at limit 1,000, each followed by as many whole
    reads of the small collection (of ``stretch`` objects) as it had stretches of that
    size: the median objects/s of the large reads, of their stretches and of the small
    reads. Both medians come from the same minutes, each reader in its own steady state."""
    rates: list[float] = []
    parts: list[float] = []
    beside: list[float] = []
    spent = 0.0
    while not enough(rates, spent, repeat):
        seen, took, objects, seconds, count = 0, 0.0, 0, 0.0, 0
        for page_objects, page_seconds in timed_pages(large.collection(), 1_000):
            seen, took = seen + page_objects, took + page_seconds
            objects, seconds = objects + page_objects, seconds + page_seconds
            if objects >= stretch:
                parts.append(objects / seconds)
                objects, seconds, count = 0, 0.0, count + 1
        if seen != expected:
            raise RuntimeError(f"{large.name}: paging at limit 1,000 gave {seen} objects, "
                               f"expected {expected}")
        rates.append(seen / took)
        spent += took
        small_reader = small.collection()
        beside += [whole_read(small, small_reader, 1_000, stretch) for _ in range(count)]
    return (spread(rates, "whole reads"),
            spread(parts, f"stretches of {stretch:,} objects in them"),
            spread(beside, f"whole reads of the {stretch:,}-object collection after them"))


def readers_round(endpoint: Endpoint, expected: int) -> tuple[int, float, list[str]]:
    """READERS threads, each with its own client, read everything at limit 1,000 at once:
    (objects read, seconds, errors)."""
    collections = [endpoint.collection() for _ in range(READERS)]
    gate = threading.Barrier(READERS + 1)

    def reader(collection: Collection) -> int:
        gate.wait()
        seen = sum(n for n, _ in page_all(collection, 1_000))
        if seen != expected:
            raise RuntimeError(f"read {seen} objects, expected {expected}")
        return seen

    errors: list[str] = []
    total = 0
    with ThreadPoolExecutor(READERS) as pool:
        futures = [pool.submit(reader, c) for c in collections]
        gate.wait()
        started = time.perf_counter()
        for future in futures:
            try:
                total += future.result()
            except Exception as exc:  # each failing reader is counted, the others go on
                errors.append(f"{type(exc).__name__}: {str(exc)[:300]}")
        took = time.perf_counter() - started
    return total, took, errors


def concurrent_readers(endpoint: Endpoint, expected: int,
                       repeat: int) -> tuple[float, list[str]]:
    """Median total objects/s of the rounds (see ``enough``), and every error of every round."""
    rates: list[float] = []
    errors: list[str] = []
    spent = 0.0
    while not enough(rates, spent, repeat):
        total, took, round_errors = readers_round(endpoint, expected)
        rates.append(total / took)
        spent += took
        errors += round_errors
        if took > 30:  # medallion: one round lasts minutes
            break
    console.print(f"  {len(rates)} rounds of {READERS} × {expected:,}: median "
                  f"{statistics.median(rates):,.0f} objects/s, {len(errors)} errors")
    return statistics.median(rates), errors


def phase(endpoint: Endpoint, figures: Figures, title: str,
          measure: Callable[[], float]) -> float:
    """Run one measured phase, saying what it is and how much other work shared the machine."""
    console.print(f"[bold]{endpoint.name}[/]: {title}")
    others = Others()
    value = measure()
    share = others.share()
    if share is not None:
        figures.other_work = max(figures.other_work, share)
        colour = "yellow" if share > 0.15 else "dim"
        console.print(f"  [{colour}]other work on the machine meanwhile: at least {share:.0%} "
                      "of its CPUs[/]")
    return value


def side_by_side(endpoint: Endpoint, objects: int, repeat: int, post_only: bool = False,
                 ) -> Figures:
    figures = Figures()
    warm_up(endpoint)
    figures.post = phase(endpoint, figures, f"POST {objects:,}",
                         lambda: post(endpoint, objects, f"{objects:,} to {endpoint.name}"))
    if post_only:
        return figures
    endpoint.loaded()
    figures.page100 = phase(endpoint, figures, f"page {objects:,} at limit 100",
                            lambda: paging(endpoint, 100, objects, repeat))
    figures.page1000 = phase(endpoint, figures, f"page {objects:,} at limit 1,000",
                             lambda: paging(endpoint, 1_000, objects, repeat))

    def readers() -> float:
        figures.readers, figures.reader_errors = concurrent_readers(endpoint, objects, repeat)
        return figures.readers

    phase(endpoint, figures, f"{READERS} concurrent readers at limit 1,000",
          readers)
    for error in figures.reader_errors:
        console.print(f"  [red]reader error[/]: {error}")
    return figures


def large(endpoint: Endpoint, objects: int, repeat: int, figures: Figures, small: Endpoint,
          small_objects: int, post_only: bool = False) -> None:
    """The large store's POST and reads; ``small`` is the side-by-side phase's server, still
    up with its ``small_objects``, read after each whole read of the large store."""
    warm_up(endpoint)
    figures.post_large = phase(endpoint, figures, f"POST {objects:,} on a fresh store",
                               lambda: post(endpoint, objects, f"{objects:,}", progress=True))
    if post_only:
        return
    endpoint.loaded()

    def read() -> float:
        figures.page_large, figures.page_large_stretch, figures.page_small_beside = (
            paging_beside(endpoint, small, objects, small_objects, repeat))
        return figures.page_large

    phase(endpoint, figures, f"page {objects:,} at limit 1,000, each whole read followed by "
          f"reads of the {small_objects:,}-object store, as many as it had stretches of "
          f"{small_objects:,}", read)


# --- report ----------------------------------------------------------------------------------


def versions(databases: list[str], pg_url: str) -> str:
    from importlib.metadata import version

    parts = [f"renkei {version('renkei')}", f"taxii2-client {version('taxii2-client')}",
             f"stix2-validator {version('stix2-validator')}"]
    if "postgresql" in databases:
        import psycopg

        with psycopg.connect(pg_url) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            parts.append(f"PostgreSQL {row[0] if row else '?'}")
    return ", ".join(parts)


def postgres_answers(url: str) -> bool:
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=3):
            return True
    except Exception:
        return False


def rate(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def ratio(ours: float | None, theirs: float | None) -> str:
    if ours is None or not theirs:
        return "—"
    value = ours / theirs
    return f"{value:,.1f}×" if value >= 1 else f"{value:.2f}×"


def report(medallion: Figures | None, ours: dict[str, Figures], objects: int,
           large_objects: int) -> None:
    table = Table(title=f"TAXII 2.1 servers: objects/s (paging and readers: median of rounds; "
                        f"{READERS} readers: their total)")
    table.add_column("phase")
    table.add_column("medallion", justify="right")
    for database in ours:
        table.add_column(f"renkei {database}", justify="right")
        table.add_column("÷ medallion", justify="right")

    def row(label: str, pick: Callable[[Figures], float | None], note: str = "") -> None:
        cells = [label, rate(pick(medallion)) if medallion else "not run"]
        for figures in ours.values():
            cells += [rate(pick(figures)) + note, ratio(pick(figures),
                                                        pick(medallion) if medallion else None)]
        table.add_row(*cells)

    row(f"POST {objects:,} (envelopes of {BATCH})", lambda f: f.post)
    row(f"page {objects:,} at limit 100", lambda f: f.page100)
    row(f"page {objects:,} at limit 1,000", lambda f: f.page1000)
    reader_cells = [f"{READERS} readers × {objects:,} at limit 1,000 (errors)"]
    for figures in ([medallion] if medallion else []):
        reader_cells.append(f"{rate(figures.readers)} ({len(figures.reader_errors)})")
    if medallion is None:
        reader_cells.append("not run")
    for figures in ours.values():
        reader_cells += [f"{rate(figures.readers)} ({len(figures.reader_errors)})",
                         ratio(figures.readers, medallion.readers if medallion else None)]
    table.add_row(*reader_cells)
    if large_objects > 0:
        row(f"POST {large_objects:,} (renkei alone)", lambda f: f.post_large)
        row(f"page {large_objects:,} at limit 1,000 (whole reads)", lambda f: f.page_large)
        row(f"  the same, per {objects:,} read in them", lambda f: f.page_large_stretch)
        row(f"  page {objects:,} at limit 1,000, read between those",
            lambda f: f.page_small_beside)
        scale_cells = [f"per-object paging, {objects:,} read at {large_objects:,} ÷ at "
                       f"{objects:,}", "—"]
        for figures in ours.values():
            scale_cells += ["—" if figures.scale is None else f"{figures.scale:.2f}", ""]
        table.add_row(*scale_cells)
    other = ["other work on the machine (largest share in a phase)",
             f"{medallion.other_work:.0%}" if medallion else "—"]
    for figures in ours.values():
        other += [f"{figures.other_work:.0%}", ""]
    table.add_row(*other)
    console.print(table)

    goals = Table(title="Goals")
    goals.add_column("goal")
    for database in ours:
        goals.add_column(f"renkei {database}")

    def mark(ok: bool | None, text: str) -> str:
        return f"[dim]not measured[/] {text}" if ok is None else (
            f"[green]met[/] {text}" if ok else f"[red]NOT met[/] {text}")

    def at_least(value: float | None, floor: float) -> bool | None:
        return None if value is None else value >= floor

    checks: list[tuple[str, Callable[[Figures], str]]] = [
        (f"paging ≥ {GOAL_PAGING:,} objects/s at limit 1,000",
         lambda f: mark(at_least(f.page1000, GOAL_PAGING), rate(f.page1000))),
        (f"no slower per object at {large_objects:,} than at {objects:,} "
         f"(ratio ≥ {SCALE_TOLERANCE})",
         lambda f: mark(at_least(f.scale, SCALE_TOLERANCE),
                        "—" if f.scale is None else f"{f.scale:.2f}")),
        (f"{READERS} concurrent readers without an error",
         lambda f: mark(None if f.readers is None else not f.reader_errors,
                        f"{len(f.reader_errors)} errors")),
        (f"ingest with full validation ≥ {GOAL_INGEST:,} objects/s (each POST phase)",
         lambda f: mark(None if f.post is None else min(f.post, f.post_large or f.post)
                        >= GOAL_INGEST, f"{rate(f.post)} / {rate(f.post_large)}")),
    ]
    if large_objects <= 0:
        del checks[1]
    for label, check in checks:
        goals.add_row(label, *[check(f) for f in ours.values()])
    console.print(goals)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"),
                        help="default: both when PostgreSQL answers at --pg-url, else sqlite")
    parser.add_argument("--pg-url", default=PG_URL, help="PostgreSQL server (trust auth)")
    parser.add_argument("--objects", type=int, default=2_000, help="side-by-side collection size")
    parser.add_argument("--objects-large", type=int, default=100_000,
                        help="renkei-alone collection size (0 skips that phase)")
    parser.add_argument("--skip-medallion", action="store_true")
    parser.add_argument("--post-only", action="store_true",
                        help="measure the POST phases alone (no paging, no readers)")
    parser.add_argument("--repeat", type=int, default=3, help="full reads per paging figure")
    parser.add_argument("--workers", type=int, default=1, help="renkei serve --workers")
    parser.add_argument("--no-analyze", action="store_true",
                        help="on PostgreSQL with autovacuum off, do not ANALYZE after loading")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", module="taxii2client")
    OUT.mkdir(parents=True, exist_ok=True)

    databases = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    if args.database is None:
        if postgres_answers(args.pg_url):
            databases = ["sqlite", "postgresql"]
        else:
            databases = ["sqlite"]
            console.print(f"note: PostgreSQL does not answer at {args.pg_url}: SQLite only")
    console.print(f"machine: {machine()}; pure-Python yardstick {yardstick():.1f} M loop "
                  "steps/s on one core")
    console.print(f"software: {versions(databases, args.pg_url)}, medallion {MEDALLION_VERSION}")
    analyze_pg = False
    if "postgresql" in databases and not autovacuum_on(args.pg_url):
        analyze_pg = not args.no_analyze
        console.print("note: autovacuum is off on this PostgreSQL server, so it never gathers "
                      "statistics; " + ("the bench runs ANALYZE after each POST phase, as "
                                        "autovacuum would" if analyze_pg
                                        else "--no-analyze: tables stay unanalysed"))
    console.print(f"other work on the machine before the run: {idle_check():.0%} of its CPUs "
                  "(figures are comparable only while it stays small)")
    console.print(f"renkei serve --workers {args.workers}; envelopes of {BATCH}; paging figures "
                  f"are the median of at least {args.repeat} full reads and {MIN_SECONDS:.0f} s; "
                  f"logs in {OUT / 'logs'}")

    medallion: Figures | None = None
    if not args.skip_medallion:
        try:
            with medallion_server() as endpoint:
                medallion = side_by_side(endpoint, args.objects, args.repeat, args.post_only)
        except Exception as exc:
            console.print(f"[red]medallion {MEDALLION_VERSION} could not be measured[/]: "
                          f"{type(exc).__name__}: {exc}", markup=True)
            console.print("continuing with renkei alone")
            medallion = None

    ours: dict[str, Figures] = {}
    for database in databases:
        with renkei_server(database, args.pg_url, f"{database}-small", args.workers) as small:
            small.analyze = analyze_pg
            ours[database] = side_by_side(small, args.objects, args.repeat, args.post_only)
            if args.objects_large > 0:  # the small server stays up: read beside the large
                with renkei_server(database, args.pg_url, f"{database}-large",
                                   args.workers) as endpoint:
                    endpoint.analyze = analyze_pg
                    large(endpoint, args.objects_large, args.repeat, ours[database], small,
                          args.objects, args.post_only)
    report(medallion, ours, args.objects, args.objects_large)


if __name__ == "__main__":
    main()
