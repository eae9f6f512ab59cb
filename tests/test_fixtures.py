"""The suite's own fixtures keep their promises: rollback, isolation, a working CLI home."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from renkei.core import orgs
from renkei.core.models import Organisation
from renkei.core.time import FixedClock


def count_from_another_connection(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count(Organisation.id))) or 0)


def test_commit_in_code_under_test_stays_inside_the_test(
    db_session: Session, db_engine: Engine, clock: FixedClock
) -> None:
    orgs.add(db_session, clock, "committed but rolled back")
    db_session.commit()
    orgs.add(db_session, clock, "second unit of work")
    db_session.commit()

    assert len(orgs.list_all(db_session)) == 2
    assert db_session.connection().in_transaction()
    assert count_from_another_connection(db_engine) == 0


def test_rollback_in_code_under_test_keeps_earlier_commits(
    db_session: Session, clock: FixedClock
) -> None:
    orgs.add(db_session, clock, "kept")
    db_session.commit()
    orgs.add(db_session, clock, "dropped")
    db_session.rollback()
    assert [o.name for o in orgs.list_all(db_session)] == ["kept"]


def test_postgresql_runs_in_a_schema_of_its_own(db_session: Session, dialect: str) -> None:
    if dialect != "postgresql":
        pytest.skip("PostgreSQL only")
    schema = db_session.scalar(text("SELECT current_schema()"))
    assert str(schema).startswith("renkei_test_")


def test_renkei_home_runs_the_real_command(
    renkei_home: Path, db_engine: Engine
) -> None:
    def renkei(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "renkei", *args],
            capture_output=True, text=True, check=False, timeout=120, env=os.environ.copy(),
        )

    added = renkei("orgs", "add", "'; DROP TABLE organisations; --")
    assert added.returncode == 0, added.stderr
    listed = renkei("orgs", "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.strip().endswith("'; DROP TABLE organisations; --")
    assert os.environ["RENKEI_HOME"] == str(renkei_home)
    assert count_from_another_connection(db_engine) == 0  # the suite's database is untouched
