"""The engine, the migrations, and the promise that models and migrations agree."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, select, text

from renkei.core.db import Database, alembic_config, make_engine, upgrade
from renkei.core.models import Organisation
from renkei.core.registry import all_metadata
from renkei.core.time import FixedClock


@pytest.fixture
def empty_engine(empty_database_url: str) -> Iterator[Engine]:
    engine = make_engine(empty_database_url)
    yield engine
    engine.dispose()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) == 1, f"migrations have several heads {heads}; merge them"
    return heads[0]


def test_sqlite_uses_wal_and_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'sub' / 'dir' / 'renkei.db'}")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert (tmp_path / "sub" / "dir" / "renkei.db").is_file()
    finally:
        engine.dispose()


def test_postgresql_url_uses_psycopg_3() -> None:
    engine = make_engine("postgresql://postgres@127.0.0.1:5432/test")
    assert engine.dialect.driver == "psycopg"
    engine.dispose()


def test_migrations_have_one_head() -> None:
    head_revision()


def test_upgrade_creates_every_table_and_is_idempotent(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    upgrade(empty_engine)
    assert current_revision(empty_engine) == head_revision()
    tables = set(inspect(empty_engine).get_table_names())
    assert set(all_metadata().tables) <= tables


def test_downgrade_to_base_and_back(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    cfg = alembic_config()
    with empty_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert set(inspect(empty_engine).get_table_names()) <= {"alembic_version"}
    upgrade(empty_engine)
    assert current_revision(empty_engine) == head_revision()


def test_models_and_migrations_agree(db_engine: Engine) -> None:
    """`alembic check`: a model change without its migration (or the reverse) fails here."""
    with db_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, all_metadata())
    assert diff == [], "models differ from migrations; run `alembic revision --autogenerate`"


def test_session_fixture_database_is_at_head(db_engine: Engine) -> None:
    assert current_revision(db_engine) == head_revision()


def test_fresh_data_directory_needs_no_setup(empty_database_url: str, clock: FixedClock) -> None:
    database = Database(empty_database_url)
    try:
        with database.session() as session:
            session.add(Organisation(name="hub", created_at=clock.now()))
        with database.session() as session:
            assert session.scalars(select(Organisation.name)).all() == ["hub"]
    finally:
        database.dispose()


def test_unit_of_work_rolls_back_on_error(empty_database_url: str, clock: FixedClock) -> None:
    def add_then_fail() -> None:
        with database.session() as session:
            session.add(Organisation(name="lost", created_at=clock.now()))
            session.flush()
            raise RuntimeError("boom")

    database = Database(empty_database_url)
    try:
        with pytest.raises(RuntimeError, match="boom"):
            add_then_fail()
        with database.session() as session:
            assert session.scalar(text("SELECT count(*) FROM organisations")) == 0
    finally:
        database.dispose()
