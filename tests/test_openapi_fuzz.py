"""schemathesis against the app's own OpenAPI document: whatever it generates from it, valid
or not (coverage cases, examples, fuzzing), with any role's token or none, the REST API and
the TAXII server never answer with a server error, and the hub admin's answers are what the
document says (status, media type, body schema).

Every operation is one test item per caller, so ``-n 2`` spreads them; each xdist worker
builds its own seeded hub (``tests.sharing.hub_world``) and app once, and the fuzzing
writes to it as it goes (incidents opened, reports submitted, objects deleted), which is
the point: later operations meet what earlier ones made. Reproducible: a fixed seed and
``derandomize``; a failure prints the curl command that reproduces it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from renkei.app import create_app
from renkei.core.config import load_config
from tests.sharing.hub_world import HubWorld, seed

API_PATHS = r"^/(api/|taxii2)"  # the console's pages are not part of the API's document
PHASES = ("examples", "coverage", "fuzzing", "stateful")
THOROUGH = settings(max_examples=25, derandomize=True, deadline=None,
                    suppress_health_check=list(HealthCheck))
QUICK = settings(THOROUGH, max_examples=6)
CONFORMANCE = [not_a_server_error, status_code_conformance, content_type_conformance,
               response_schema_conformance]
ROLES = ("hub analyst", "acme submitter", "acme reader")


def _openapi_document() -> dict[str, Any]:
    """The app's OpenAPI document, read from an app on a throw-away database: the schema
    must be known when tests are collected, before any fixture runs."""
    with tempfile.TemporaryDirectory() as home:
        built = create_app(load_config({"RENKEI_HOME": home,
                                        "RENKEI_DATABASE_URL": f"sqlite:///{home}/spec.db"}),
                           validation_workers=1)
        try:
            return built.openapi()
        finally:
            built.state.renkei.db.dispose()


def _schema(document: dict[str, Any], *phases: str) -> schemathesis.BaseSchema:
    config = schemathesis.Config.from_dict(
        {"seed": 2026, "phases": {p: {"enabled": p in phases} for p in PHASES}})
    return schemathesis.openapi.from_dict(document, config=config).include(path_regex=API_PATHS)


DOCUMENT = _openapi_document()
everything = _schema(DOCUMENT, "examples", "coverage", "fuzzing")
fuzzing = _schema(DOCUMENT, "fuzzing")


@pytest.fixture(scope="module")
def fuzz_database_url(new_database_url: Callable[[str], str]) -> str:
    """A database of the suite's kind for this module alone (the app commits to it)."""
    return new_database_url("fuzz")


@pytest.fixture(scope="module")
def world(fuzz_database_url: str) -> HubWorld:
    return seed(fuzz_database_url)


@pytest.fixture(scope="module")
def app(world: HubWorld, fuzz_database_url: str,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    home: Path = tmp_path_factory.mktemp("fuzz-home")
    config = load_config({"RENKEI_HOME": str(home), "RENKEI_DATABASE_URL": fuzz_database_url})
    built = create_app(config, validation_workers=1)
    yield built
    built.state.renkei.db.dispose()  # before the schema is dropped; the lifespan ends at exit


def bearer(world: HubWorld, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.tokens[who]}"}


@everything.parametrize()
@THOROUGH
def test_the_hub_admin_gets_no_server_error_and_what_the_document_says(
        case: schemathesis.Case, world: HubWorld, app: FastAPI) -> None:
    case.call_and_validate(headers=bearer(world, "hub admin"), checks=CONFORMANCE, app=app)


@fuzzing.parametrize()
@pytest.mark.parametrize("who", ROLES)
@QUICK
def test_no_role_gets_a_server_error(case: schemathesis.Case, who: str, world: HubWorld,
                                     app: FastAPI) -> None:
    case.call_and_validate(headers=bearer(world, who),
                           checks=[not_a_server_error, status_code_conformance], app=app)


@fuzzing.parametrize()
@QUICK
def test_without_credentials_nothing_succeeds(case: schemathesis.Case, app: FastAPI) -> None:
    response = case.call_and_validate(checks=[not_a_server_error, status_code_conformance],
                                      app=app)
    assert response.status_code >= 400, case.as_curl_command()
