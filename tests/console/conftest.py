"""A console app on a fresh database with a hub administrator and a member, shared by the
tests of one module; each test signs in with a client (and cookies) of its own.

The clock is a FixedClock the tests move on: ``hub.tick()`` passes one TOTP time step, so a
code is never refused as reused by a sign-in of an earlier test.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response

from renkei.app import create_app
from renkei.console import totp
from renkei.core import members, orgs
from renkei.core.config import load_config
from renkei.core.db import Database
from renkei.core.models import Role
from renkei.core.time import FixedClock
from tests.conftest import FIXED_NOW

PASSWORD = "correct horse battery staple"
ORIGIN = "http://testserver"


@dataclass
class Hub:
    app: FastAPI
    db: Database
    clock: FixedClock
    admin: str = "admin@hub.example"
    member: str = "reader@member.example"
    secrets: dict[str, str] = field(default_factory=dict)  # e-mail -> enrolled TOTP secret
    _numbers: Iterator[int] = field(default_factory=itertools.count)

    def tick(self, seconds: int = 30) -> None:
        self.clock.at += timedelta(seconds=seconds)

    def client(self) -> TestClient:
        """A browser of its own: cookies kept, forms sent from this site."""
        return TestClient(self.app, base_url=ORIGIN, headers={"Origin": ORIGIN},
                          follow_redirects=False)

    def add_user(self, org: str = "member", role: Role = Role.MEMBER_READER) -> str:
        email = f"user{next(self._numbers)}@{org}.example"
        with self.db.session() as session:
            members.add_user(session, self.clock, organisation=orgs.require(session, org),
                             email=email, role=role, password=PASSWORD)
        return email

    def sign_in(self, client: TestClient, email: str, password: str = PASSWORD) -> Response:
        """Password, then the second factor (enrolled on the first sign-in); the answer
        to the last step."""
        answer = client.post("/login", data={"email": email, "password": password})
        assert answer.status_code == 303, answer.text
        step = answer.headers["location"].split("?")[0]
        if step == "/login/enrol":
            page = client.get("/login/enrol")
            secret = page.text.split('id="totp-secret">')[1].split("<")[0].replace(" ", "")
            self.secrets[email] = secret
        self.tick()
        code = totp.code_at(self.secrets[email], self.clock.now())
        return client.post(step, data={"code": code, "csrf": csrf_of(client.get(step))})


def csrf_of(page: Response) -> str:
    return page.text.split('name="csrf" value="')[1].split('"')[0]


@contextmanager
def built_hub(tmp_path_factory: pytest.TempPathFactory, pg_schemas: object,
              **settings: str) -> Iterator[Hub]:
    """An app on a database of its own (a SQLite file or a PostgreSQL schema), with the
    hub and a member, configured with the extra ``RENKEI_…`` ``settings``."""
    from tests.conftest import _PostgresSchemas

    schemas = pg_schemas if isinstance(pg_schemas, _PostgresSchemas) else None
    home = tmp_path_factory.mktemp("console")
    name, url = schemas.create() if schemas else ("", f"sqlite:///{home / 'console.db'}")
    clock = FixedClock(FIXED_NOW)
    app = create_app(load_config({"RENKEI_HOME": str(home), "RENKEI_DATABASE_URL": url,
                                  **settings}),
                     clock=clock, validation_workers=1)
    db: Database = app.state.renkei.db
    with db.session() as session:
        the_hub = orgs.add(session, clock, "hub", hub=True)
        member = orgs.add(session, clock, "member", communities=["finance"])
        members.add_user(session, clock, organisation=the_hub, email="admin@hub.example",
                         role=Role.HUB_ADMIN, password=PASSWORD)
        members.add_user(session, clock, organisation=member, email="reader@member.example",
                         role=Role.MEMBER_READER, password=PASSWORD)
    with TestClient(app):
        yield Hub(app, db, clock)
    if schemas:
        db.dispose()
        schemas.drop(name)


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, _pg_schemas: object) -> Iterator[Hub]:
    """The module's app (its own database: a SQLite file or a PostgreSQL schema)."""
    with built_hub(tmp_path_factory, _pg_schemas) as made:
        yield made
