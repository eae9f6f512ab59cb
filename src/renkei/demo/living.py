"""The living demo: while the server runs, a small batch every so often — a few minutes of
a member's access log, a minute at a sensor, a sighting, now and then a new report — so
the dashboard moves. A failed batch is logged and the next one tried; it never stops the
server, and it stops with it."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from renkei.core.db import Database
from renkei.core.time import Clock, SystemClock
from renkei.demo.cast import member, submitter
from renkei.demo.data.captures import living_capture
from renkei.demo.data.logs import living_log
from renkei.demo.data.reports import living_report, living_sighting_members
from renkei.demo.seed.context import Context, principal
from renkei.demo.seed.logs import scan
from renkei.demo.seed.sensors import ingest
from renkei.sharing import service as sharing
from renkei.sharing import sightings
from renkei.sharing.policy import Viewer
from renkei.sharing.store import visible_objects

log = logging.getLogger("renkei.demo")
#: every this many steps, a member submits a new report for the hub to review
REPORT_EVERY = 10


@dataclass(frozen=True)
class Batch:
    """What one living step added."""

    alerts: int
    packets: int
    sightings: int
    reports: int


def _sighting(ctx: Context, step: int) -> int:
    slugs = living_sighting_members()
    with ctx.database.session() as session:
        reader = principal(session, submitter(member(slugs[step % len(slugs)])))
        shared = visible_objects(session, Viewer.of(reader), stix_type="indicator",
                                 newest_first=True, limit=20)
        if not shared:
            return 0
        sightings.report(session, ctx.at(), reader, shared[step % len(shared)].stix_id,
                         count=1 + step % 5, source="demo")
    return 1


def _report(ctx: Context, step: int) -> int:
    script = living_report(step)
    with ctx.database.session() as session:
        author = principal(session, submitter(script.member))
        sharing.submit(session, ctx.at(), author, script.payload(), source="demo")
    return 1


def living_step(database: Database, clock: Clock, workdir: Path, step: int) -> Batch:
    """Add one batch at ``clock``'s now; the files it writes are removed once read."""
    ctx = Context(database, clock.now(), workdir)
    alerts = scan(ctx, living_log(ctx.now, step), keep=False)
    packets = ingest(ctx, [living_capture(ctx.now, step)], ctx.now, keep=False)
    reports = _report(ctx, step) if step % REPORT_EVERY == REPORT_EVERY - 1 else 0
    return Batch(alerts, packets, _sighting(ctx, step), reports)


class Living:
    """Runs ``living_step`` every ``every`` seconds in a daemon thread until ``stop``."""

    def __init__(self, database_url: str, workdir: Path, every: float,
                 clock: Clock | None = None) -> None:
        self.database_url, self.workdir, self.every = database_url, workdir, every
        self.clock = clock or SystemClock()
        self.steps = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="renkei-demo-living",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the thread to stop and wait (at most ``timeout`` s) for a batch in flight."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        database = Database(self.database_url, migrate=False)
        try:
            while not self._stop.wait(self.every):
                try:
                    batch = living_step(database, self.clock, self.workdir, self.steps)
                    log.info("demo batch %d: %s", self.steps, batch)
                except Exception:  # a failed batch is logged; the server goes on serving
                    log.exception("demo batch %d failed", self.steps)
                self.steps += 1
        finally:
            database.dispose()
