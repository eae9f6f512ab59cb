"""A hub of organisations and API tokens behind the real application, for the REST API tests.

The application commits through connections of its own, which ``db_session``'s rollback
cannot reach, so a hub is built on a database of its own: ``empty_database_url`` for one
test, ``new_database_url`` for a module or the session.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from renkei.app import create_app
from renkei.core import members, orgs
from renkei.core.config import load_config
from renkei.core.db import Database
from renkei.core.models import Organisation
from renkei.core.time import Clock, SystemClock
from tests.sharing.hub_world import ORGS

# What a module adds to the hub besides organisations and tokens, in the same transaction.
Seed = Callable[[Session, Clock, dict[str, Organisation]], object]


@dataclass
class ApiHub:
    """The running app, and the API token of each caller by name."""

    client: TestClient
    tokens: dict[str, str]
    database_url: str

    def as_(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


def seed_hub(database_url: str, organisations: Iterable[str], tokens: Mapping[str, str],
             then: Seed | None = None) -> dict[str, str]:
    """Migrate ``database_url`` and commit the ``organisations`` (keys of
    ``tests.sharing.hub_world.ORGS``, "hub" being the hub) and an organisation token for
    each caller of ``tokens`` (caller: scopes). A caller is named by its organisation's key,
    with a suffix for a second token ("acme-reader"). Returns each caller's token."""
    clock = SystemClock()
    db = Database(database_url)
    try:
        with db.session() as s:
            made = {}
            for key in organisations:
                name, community = ORGS[key]
                made[key] = orgs.add(s, clock, name, hub=key == "hub",
                                     communities=[community] if community else [])
            issued = {who: members.create_token(s, clock, organisation=made[who.split("-")[0]],
                                                scopes=scopes).token
                      for who, scopes in tokens.items()}
            if then is not None:
                then(s, clock, made)
    finally:
        db.dispose()
    return issued


@contextmanager
def api_client(home: Path, database_url: str) -> Iterator[TestClient]:
    """The real application on ``database_url``, started and stopped around the block."""
    config = load_config({"RENKEI_HOME": str(home), "RENKEI_DATABASE_URL": database_url})
    with TestClient(create_app(config, validation_workers=1)) as client:
        yield client
