"""The suite's one database, and the environment every test starts from.

The database is SQLite (a file in a per-session tmp dir) unless
``RENKEI_TEST_DATABASE_URL`` names another, e.g.
``postgresql://postgres@127.0.0.1:5432/test``. On PostgreSQL each test session works in a
schema of its own (``renkei_test_<random>_0``, dropped at the end), so parallel workers and
repeated runs never meet. The schema is migrated once per session with Alembic, as the
application does; each test then gets a session inside an outer transaction that is rolled
back afterwards, so code under test may ``commit()`` freely.

Fixtures:

``db_session``        a Session whose work is rolled back after the test (the usual one)
``db_engine``         the migrated session-wide engine (read-only use, please)
``database_url``      URL of that migrated database
``empty_database_url`` a fresh, unmigrated database for this test alone
``new_database_url``  makes fresh databases for a module's or the session's app to commit to
``renkei_home``       RENKEI_HOME and RENKEI_DATABASE_URL for running the real ``renkei``
``clock``             a FixedClock at 2026-04-01 09:00 UTC (the start of a fiscal year)
``dialect``           "sqlite" or "postgresql"
"""

from __future__ import annotations

import itertools
import os
import secrets
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, event, make_url, text
from sqlalchemy.orm import Session

from renkei.core.config import SETTINGS
from renkei.core.db import make_engine, upgrade
from renkei.core.time import FixedClock

TEST_DATABASE_ENV = "RENKEI_TEST_DATABASE_URL"
FIXED_NOW = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)


def _is_postgresql(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


def _with_search_path(url: str, schema: str) -> str:
    """The URL with libpq ``options`` that make ``schema`` the only search path."""
    with_options = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    return with_options.render_as_string(hide_password=False)


class _PostgresSchemas:
    """Creates and drops the throw-away schemas of one test session (one xdist worker)."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.prefix = f"renkei_test_{secrets.token_hex(4)}"
        self._numbers = itertools.count()
        self._admin = make_engine(server_url)

    def create(self) -> tuple[str, str]:
        """A new empty schema: (its name, a URL whose connections use only it)."""
        name = f"{self.prefix}_{next(self._numbers)}"
        with self._admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{name}"'))
        return name, _with_search_path(self.server_url, name)

    def drop(self, name: str) -> None:
        with self._admin.begin() as conn:
            # A connection left idle in a transaction would make DROP wait for ever.
            conn.execute(text("SET LOCAL lock_timeout = '10s'"))
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))

    def close(self) -> None:
        self._admin.dispose()


@pytest.fixture(scope="session")
def _pg_schemas() -> Iterator[_PostgresSchemas | None]:
    url = os.environ.get(TEST_DATABASE_ENV, "")
    if not url or not _is_postgresql(url):
        yield None
        return
    schemas = _PostgresSchemas(url)
    yield schemas
    schemas.close()


@pytest.fixture(scope="session")
def database_url(
    tmp_path_factory: pytest.TempPathFactory, _pg_schemas: _PostgresSchemas | None
) -> Iterator[str]:
    """The session's database: migrated once, shared by every test through ``db_session``."""
    configured = os.environ.get(TEST_DATABASE_ENV, "")
    if _pg_schemas is not None:
        name, url = _pg_schemas.create()
        yield url
        _pg_schemas.drop(name)
    elif configured:
        yield configured
    else:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'renkei-test.db'}"


def _sqlite_real_transactions(engine: Engine) -> None:
    """Make SQLite's BEGIN and SAVEPOINT nest as on PostgreSQL.

    Python's sqlite3 (before 3.16) emits no BEGIN before a SAVEPOINT, so releasing the
    savepoint that code under test "commits" would really commit, and the per-test rollback
    would undo nothing. SQLAlchemy's documented recipe: let it emit BEGIN itself.
    """

    @event.listens_for(engine, "connect")
    def _no_driver_transactions(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN")


@pytest.fixture(scope="session")
def db_engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    if engine.dialect.name == "sqlite":
        _sqlite_real_transactions(engine)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def dialect(db_engine: Engine) -> str:
    return db_engine.dialect.name


@pytest.fixture
def db_session(db_engine: Engine) -> Iterator[Session]:
    """A session in an outer transaction that is rolled back when the test ends.

    ``commit()`` in code under test releases a savepoint instead of committing, so tests
    see each other's data never, whatever they do.
    """
    with db_engine.connect() as connection:
        outer = connection.begin()
        session = Session(
            bind=connection,
            join_transaction_mode="create_savepoint",
            expire_on_commit=False,  # as renkei.core.db.Database's sessions
        )
        try:
            yield session
        finally:
            session.close()
            if outer.is_active:
                outer.rollback()


@pytest.fixture
def empty_database_url(
    tmp_path: Path, _pg_schemas: _PostgresSchemas | None
) -> Iterator[str]:
    """A database of the suite's kind that nothing has touched: no tables, no data.

    For tests of migrations, and for the real CLI, which commits through connections of its
    own that no fixture can roll back.
    """
    if _pg_schemas is None:
        yield f"sqlite:///{tmp_path / 'renkei-empty.db'}"
        return
    name, url = _pg_schemas.create()
    yield url
    _pg_schemas.drop(name)


@pytest.fixture(scope="session")
def new_database_url(
    tmp_path_factory: pytest.TempPathFactory, _pg_schemas: _PostgresSchemas | None
) -> Iterator[Callable[[str], str]]:
    """Makes a database of the suite's kind that nothing has touched, ``new_database_url(name)``:
    a SQLite file ``name``.db or a PostgreSQL schema, dropped when the session ends.

    For an app that a module or the whole session shares (a served hub, the fuzzed API): it
    commits for real, so it may not use the rolled-back shared database.
    """
    schemas: list[str] = []

    def make(name: str) -> str:
        if _pg_schemas is None:
            return f"sqlite:///{tmp_path_factory.mktemp(name) / f'{name}.db'}"
        schema, url = _pg_schemas.create()
        schemas.append(schema)
        return url

    yield make
    for schema in schemas:
        if _pg_schemas is not None:
            _pg_schemas.drop(schema)


@pytest.fixture(autouse=True)
def _clean_renkei_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No setting from the developer's shell leaks into a test."""
    for setting in SETTINGS:
        monkeypatch.delenv(setting.env, raising=False)


@pytest.fixture
def renkei_home(
    tmp_path: Path, empty_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A data directory and database for the real ``renkei`` command, in-process or not.

    RENKEI_DATABASE_URL points at a fresh database of the suite's kind (SQLite file or
    PostgreSQL schema); the command migrates it on first use, as for a new user. Messages
    are English unless the test sets RENKEI_LANG=ja.
    """
    home = tmp_path / "renkei-home"
    home.mkdir()
    monkeypatch.setenv("RENKEI_HOME", str(home))
    monkeypatch.setenv("RENKEI_DATABASE_URL", empty_database_url)
    monkeypatch.setenv("RENKEI_LANG", "en")
    return home


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(FIXED_NOW)
