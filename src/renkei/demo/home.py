"""Where the demo hub lives, and making it ready: a SQLite database of its own under the
data directory (``RENKEI_HOME/demo``), never the configured one.

Seeding writes to ``renkei-demo.db.seeding`` and renames it when done, so an interrupted
seed is never mistaken for a finished one: the next start seeds again from scratch.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy import text

from renkei.core.config import Config
from renkei.core.db import Database
from renkei.core.time import Clock
from renkei.demo.seed.run import SeedResult, is_seeded, seed

DATABASE = "renkei-demo.db"
SEEDING = DATABASE + ".seeding"
SQLITE_SIDE_FILES = ("", "-wal", "-shm", "-journal")


@dataclass(frozen=True)
class DemoHub:
    home: Path
    database_url: str
    result: SeedResult

    @property
    def workdir(self) -> Path:
        return self.home / "files"

    def config(self, config: Config) -> Config:
        """The configuration the server runs with: the demo's home and database."""
        return replace(config, home=self.home, database_url=self.database_url)

    def environment(self) -> dict[str, str]:
        """The same for server processes that read their configuration afresh."""
        return {"RENKEI_HOME": str(self.home), "RENKEI_DATABASE_URL": self.database_url}


def demo_home(config: Config) -> Path:
    return config.home / "demo"


def _url(path: Path) -> str:
    return f"sqlite:///{path}"


def _remove(home: Path, name: str) -> None:
    for suffix in SQLITE_SIDE_FILES:
        (home / f"{name}{suffix}").unlink(missing_ok=True)


def reset(home: Path) -> None:
    """Delete the demo hub: its database and the files it was seeded from."""
    _remove(home, DATABASE)
    _remove(home, SEEDING)
    shutil.rmtree(home / "files", ignore_errors=True)


def prepare(config: Config, clock: Clock, *, fresh: bool = False,
            on_step: Callable[[str, int, int], None] | None = None) -> DemoHub:
    """The demo hub, seeded on first use (or afresh with ``fresh``)."""
    home = demo_home(config)
    if fresh:
        reset(home)
    home.mkdir(parents=True, exist_ok=True)
    final = home / DATABASE
    if final.is_file():
        database = Database(_url(final))
        try:
            if is_seeded(database):
                return DemoHub(home, _url(final), SeedResult(already=True))
        finally:
            database.dispose()
    _remove(home, SEEDING)
    shutil.rmtree(home / "files", ignore_errors=True)
    database = Database(_url(home / SEEDING))
    try:
        result = seed(database, clock, home / "files", on_step=on_step)
        with database.engine.connect() as connection:
            connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    finally:
        database.dispose()
    _remove(home, DATABASE)
    os.replace(home / SEEDING, final)
    _remove(home, SEEDING)
    return DemoHub(home, _url(final), result)
