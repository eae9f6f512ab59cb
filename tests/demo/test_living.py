"""The living demo: one step adds alerts, packets, a sighting (and now and then a report);
the background task runs, survives a failing step, and stops when told."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from pathlib import Path

import pytest

from renkei.core.db import Database
from renkei.core.time import FixedClock
from renkei.demo.cast import ANALYST
from renkei.demo.living import REPORT_EVERY, Living, living_step
from renkei.demo.seed.context import principal
from renkei.demo.seed.run import SeedResult
from renkei.logs.service import stored_alerts
from renkei.sensors import service as sensors
from renkei.sharing import service as sharing
from renkei.sharing.store import SubmissionState
from tests.conftest import FIXED_NOW

Seeded = tuple[Database, SeedResult, Path]


def _submitted(database: Database) -> int:
    with database.session() as session:
        staff = principal(session, ANALYST)
        return len(sharing.list_submissions(session, staff, state=SubmissionState.SUBMITTED))


def test_one_step_adds_a_small_batch(seeded: Seeded) -> None:
    database, _, folder = seeded
    clock = FixedClock(FIXED_NOW + timedelta(minutes=3))
    alerts, submitted = len(stored_alerts(database, limit=100_000)), _submitted(database)
    batch = living_step(database, clock, folder, REPORT_EVERY - 1)
    assert batch.alerts > 0
    assert batch.packets > 0
    assert (batch.sightings, batch.reports) == (1, 1)
    assert len(stored_alerts(database, limit=100_000)) == alerts + batch.alerts
    assert _submitted(database) == submitted + 1
    with database.session() as session:
        assert sensors.series(session, since=clock.now() - timedelta(minutes=5))
    assert not list(folder.rglob("*live*"))  # read, then removed


def _wait(condition: object, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.05)


def test_the_task_adds_batches_until_stopped(seeded: Seeded) -> None:
    database, _, folder = seeded
    living = Living(database.url, folder, every=0.05,
                    clock=FixedClock(FIXED_NOW + timedelta(minutes=10)))
    living.start()
    _wait(lambda: living.steps >= 1)
    living.stop()
    assert living.steps >= 1
    assert not living._thread.is_alive()


def test_a_failing_step_is_logged_and_the_task_goes_on(
        empty_database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    living = Living(empty_database_url, tmp_path, every=0.01)  # no tables: every step fails
    with caplog.at_level(logging.ERROR, logger="renkei.demo"):
        living.start()
        _wait(lambda: living.steps >= 2)
        living.stop()
    assert living.steps >= 2
    assert "demo batch 0 failed" in caplog.text
