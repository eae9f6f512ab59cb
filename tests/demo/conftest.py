"""One demo hub seeded for the package's tests (seeding takes seconds, not milliseconds):
on a database of the suite's kind made for it alone, as ``empty_database_url`` makes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from renkei.core.db import Database
from renkei.core.time import FixedClock
from renkei.demo.seed.run import SeedResult, seed
from tests.conftest import FIXED_NOW


@pytest.fixture(scope="package")
def seeded(tmp_path_factory: pytest.TempPathFactory,
           _pg_schemas: Any) -> Iterator[tuple[Database, SeedResult, Path]]:
    """(database, what seeding did, its folder of files), seeded at FIXED_NOW."""
    folder = tmp_path_factory.mktemp("demo")
    name = None
    if _pg_schemas is None:
        url = f"sqlite:///{folder / 'renkei-demo.db'}"
    else:
        name, url = _pg_schemas.create()
    database = Database(url)
    result = seed(database, FixedClock(FIXED_NOW), folder / "files")
    yield database, result, folder / "files"
    database.dispose()
    if name is not None:
        _pg_schemas.drop(name)
