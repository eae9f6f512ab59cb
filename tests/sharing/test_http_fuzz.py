"""Hostile requests, generated: whatever the path, query, headers or body, the server answers
with a 4xx error resource (or success), never a server error, and never half-writes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from renkei.app import create_app
from renkei.core.config import load_config
from tests.sharing.conftest import HubServer

TAXII = "application/taxii+json;version=2.1"
FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def app_client(hub_server: HubServer, tmp_path_factory: pytest.TempPathFactory,
               ) -> Iterator[TestClient]:
    home: Path = tmp_path_factory.mktemp("fuzz-home")
    config = load_config({"RENKEI_HOME": str(home),
                          "RENKEI_DATABASE_URL": hub_server.database_url})
    with TestClient(create_app(config, validation_workers=1),
                    raise_server_exceptions=False) as client:
        yield client


def headers(server: HubServer, who: str = "hub admin", **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.world.tokens[who]}", "Accept": TAXII, **extra}


def is_error_resource(status: int, body: object) -> bool:
    return isinstance(body, dict) and body.get("http_status") == str(status) and "title" in body


texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80)
params = st.dictionaries(st.sampled_from(["limit", "next", "added_after", "match[id]",
                                          "match[type]", "match[version]",
                                          "match[spec_version]", "contains", "type"]),
                         texts, max_size=4)


@FUZZ
@given(query=params, object_id=texts)
def test_any_query_gets_an_answer_not_a_crash(app_client: TestClient, hub_server: HubServer,
                                              query: dict[str, str], object_id: str) -> None:
    base = f"/taxii2/hub/collections/{hub_server.world.collection}/"
    safe_id = quote(object_id, safe="") or "x"
    for path in (f"{base}objects/", f"{base}manifest/", f"{base}objects/{safe_id}/",
                 f"{base}objects/{safe_id}/versions/", "/api/v1/sharing/objects",
                 f"/api/v1/sharing/objects/{safe_id}/sightings"):
        response = app_client.get(path, params=query, headers=headers(hub_server))
        assert response.status_code < 500, (path, query, response.text)
        if response.status_code >= 400:
            assert is_error_resource(response.status_code, response.json())


@FUZZ
@given(body=st.binary(max_size=2000) | st.recursive(
    st.none() | st.booleans() | st.integers() | texts,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(texts, children,
                                                                       max_size=4),
    max_leaves=30).map(lambda v: __import__("json").dumps({"objects": [v]}).encode()))
def test_any_body_is_refused_cleanly(app_client: TestClient, hub_server: HubServer,
                                     body: bytes) -> None:
    for path, content_type in ((f"/taxii2/hub/collections/{hub_server.world.collection}"
                                "/objects/", TAXII),
                               ("/api/v1/sharing/submissions", "application/json")):
        response = app_client.post(path, content=body, headers=headers(
            hub_server, "acme submitter", **{"Content-Type": content_type}))
        assert response.status_code < 500, (path, body[:200], response.text)
        if response.status_code >= 400:
            assert is_error_resource(response.status_code, response.json())


@FUZZ
@given(value=texts)
def test_any_authorization_header_is_401_or_accepted(app_client: TestClient,
                                                      value: str) -> None:
    response = app_client.get("/taxii2/", headers=[
        (b"authorization", value.encode("utf-8", "replace").replace(b"\r", b"").replace(
            b"\n", b"")), (b"accept", TAXII.encode())])
    assert response.status_code == 401
    assert is_error_resource(401, response.json())


@FUZZ
@given(body=st.fixed_dictionaries({}, optional={
    "count": st.integers(-10, 2**40) | texts,
    "first_seen": st.datetimes(timezones=st.none() | st.timezones()).map(str) | texts,
    "last_seen": st.datetimes(timezones=st.none() | st.timezones()).map(str) | texts}))
def test_any_sighting_is_taken_or_refused_cleanly(app_client: TestClient, hub_server: HubServer,
                                                  body: dict[str, object]) -> None:
    green = hub_server.world.indicators["green"]
    response = app_client.post(f"/api/v1/sharing/objects/{green}/sightings", json=body,
                               headers=headers(hub_server, "peer submitter",
                                               Accept="application/json"))
    assert response.status_code < 500, (body, response.text)
    if response.status_code >= 400:
        assert is_error_resource(response.status_code, response.json())
