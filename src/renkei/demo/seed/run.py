"""Seeding the demo hub, domain after domain; once per database.

A database is the demo's when its hub is the demo hub: seeding it again does nothing.
One that holds any other hub is refused, so a real hub is never filled with demo data.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from renkei.core import orgs
from renkei.core.db import Database
from renkei.core.errors import UserError
from renkei.core.i18n import gettext_noop
from renkei.core.time import Clock
from renkei.demo.cast import HUB
from renkei.demo.seed.context import Context
from renkei.demo.seed.incidents import seed_incidents
from renkei.demo.seed.logs import seed_logs
from renkei.demo.seed.orgs import seed_orgs
from renkei.demo.seed.plan import seed_plan
from renkei.demo.seed.sensors import seed_sensors
from renkei.demo.seed.sharing import seed_sharing
from renkei.demo.seed.vulns import seed_vulns


class DemoError(UserError):
    """The demo cannot be seeded here; the message says why."""


#: (what the progress display says, the step): in the order the data depends on
STEPS: tuple[tuple[str, Callable[[Context], object]], ...] = (
    (gettext_noop("organisations and users"), seed_orgs),
    (gettext_noop("access logs"), seed_logs),
    (gettext_noop("sensor captures"), seed_sensors),
    (gettext_noop("advisories and members' assets"), seed_vulns),
    (gettext_noop("shared reports and sightings"), seed_sharing),
    (gettext_noop("incidents"), seed_incidents),
    (gettext_noop("the plan: statuses, audit, comments"), seed_plan),
)


@dataclass
class SeedResult:
    """What seeding did: nothing when ``already``; else each step's result and seconds."""

    already: bool = False
    steps: list[tuple[str, object, float]] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return sum(s for _, _, s in self.steps)


def is_seeded(database: Database) -> bool:
    """True when the database is already the demo hub; DemoError when it is another hub."""
    with database.session() as session:
        hub = orgs.hub(session)
    if hub is None:
        return False
    if hub.name != HUB:
        raise DemoError("this database is the hub {name}, not the demo: the demo is seeded "
                        "only into a database of its own", name=repr(hub.name))
    return True


def seed(database: Database, clock: Clock, workdir: Path, *,
         on_step: Callable[[str, int, int], None] | None = None) -> SeedResult:
    """Fill an empty database with the demo hub, its history ending at ``clock``'s now;
    files (logs, captures, feeds) are written under ``workdir``. ``on_step(name, done,
    total)`` is told before each step and once at the end."""
    if is_seeded(database):
        return SeedResult(already=True)
    ctx = Context(database, clock.now(), workdir)
    result = SeedResult()
    for index, (name, step) in enumerate(STEPS):
        if on_step is not None:
            on_step(name, index, len(STEPS))
        started = time.perf_counter()
        outcome = step(ctx)
        result.steps.append((name, outcome, time.perf_counter() - started))
    if on_step is not None:
        on_step("", len(STEPS), len(STEPS))
    return result
