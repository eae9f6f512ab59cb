"""The TAXII 2.1 server as clients meet it: OASIS taxii2-client and plain HTTP against a real
``renkei serve`` process on a seeded hub."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests
from sqlalchemy import func, select
from taxii2client.exceptions import TAXIIServiceException
from taxii2client.v21 import Collection, Server, as_pages

from renkei.core.db import make_engine
from renkei.core.models import AuditEvent
from renkei.core.tlp import Tlp
from renkei.sharing.store import SharedObject
from tests.sharing.conftest import HubServer

TAXII = "application/taxii+json;version=2.1"


def client(server: HubServer, who: str) -> Server:
    org = server.world.org_names[_org_key(who)]
    return Server(server.taxii, user=org, password=server.world.tokens[who])


def _org_key(who: str) -> str:
    return who.split()[0]


def collection(server: HubServer, who: str) -> Collection:
    return Collection(server.collection, user=server.world.org_names[_org_key(who)],
                      password=server.world.tokens[who])


def indicator(value: str, level: Tlp = Tlp.GREEN, **extra: Any) -> dict[str, Any]:
    return {"type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid4()}",
            "created": "2026-04-01T09:00:00.000Z", "modified": "2026-04-01T09:00:00.000Z",
            "pattern": f"[ipv4-addr:value = '{value}']", "pattern_type": "stix",
            "valid_from": "2026-04-01T09:00:00Z", "object_marking_refs": [level.marking_id],
            **extra}


def bearer(server: HubServer, who: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.world.tokens[who]}", "Accept": TAXII, **headers}


def audit_actions(server: HubServer) -> list[str]:
    engine = make_engine(server.database_url)
    try:
        with engine.connect() as conn:
            return list(conn.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    finally:
        engine.dispose()


def object_count(server: HubServer) -> int:
    engine = make_engine(server.database_url)
    try:
        with engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(SharedObject)) or 0)
    finally:
        engine.dispose()


# --- the protocol, through taxii2-client -----------------------------------------------


def test_discovery_api_root_and_collections(hub_server: HubServer) -> None:
    server = client(hub_server, "acme reader")
    assert server.title == "renkei TAXII 2.1 server"
    root = server.api_roots[0]
    assert root.url == f"{hub_server.url}/taxii2/hub/"
    assert TAXII in root.versions
    assert root.max_content_length >= 4 * 1024 * 1024
    (only,) = root.collections
    assert only.id == hub_server.world.collection
    assert only.can_read
    assert not only.can_write


def test_hub_posts_and_pages_through_with_taxii2_client(hub_server: HubServer) -> None:
    hub = collection(hub_server, "hub token")
    objects = [indicator(f"198.51.100.{n}") for n in range(1, 251)]
    status = hub.add_objects({"objects": objects})
    assert status.status == "complete"
    assert status.success_count == 250
    assert status.failure_count == 0
    again = hub.add_objects({"objects": objects[:10]})  # a repeated POST changes nothing
    assert again.success_count == 10
    ids: list[str] = []
    for envelope in as_pages(hub.get_objects, per_request=40, type="indicator"):
        ids.extend(o["id"] for o in envelope.get("objects", []))
    assert len(ids) == len(set(ids))
    assert {o["id"] for o in objects} <= set(ids)
    manifest_ids = [m["id"] for page in as_pages(hub.get_manifest, per_request=100,
                                                 type="indicator")
                    for m in page.get("objects", [])]
    assert manifest_ids == ids  # the manifest lists what the objects pages list, in order
    status.refresh()  # GET /status/{id}/
    assert status.status == "complete"
    assert status.success_count == 250


def test_a_cursor_survives_a_server_restart(hub_server: HubServer, tmp_path: Any) -> None:
    from tests.sharing.conftest import free_port, start_server

    headers = bearer(hub_server, "hub admin")
    first = requests.get(hub_server.collection + "objects/", headers=headers,
                         params={"limit": 3}, timeout=10)
    assert first.status_code == 200
    assert first.json()["more"] is True
    cursor = first.json()["next"]
    port = free_port()
    other = start_server(tmp_path, hub_server.database_url, port)  # another process
    try:
        url = hub_server.collection.replace(hub_server.url, f"http://127.0.0.1:{port}")
        second = requests.get(url + "objects/", headers=headers,
                              params={"limit": 3, "next": cursor}, timeout=10)
    finally:
        other.terminate()
        other.wait(timeout=10)
    assert second.status_code == 200
    seen_first = {o["id"] for o in first.json()["objects"]}
    assert seen_first.isdisjoint(o["id"] for o in second.json()["objects"])
    assert first.headers["X-TAXII-Date-Added-Last"] <= second.headers["X-TAXII-Date-Added-First"]


def test_versions_last_first_all_and_delete(hub_server: HubServer) -> None:
    hub = collection(hub_server, "hub admin")
    v1 = indicator("192.0.2.10")
    v2 = {**v1, "modified": "2026-04-02T09:00:00.000Z", "description": "second"}
    hub.add_objects({"objects": [v1]})
    hub.add_objects({"objects": [v2]})
    assert [o["modified"] for o in hub.get_object(v1["id"])["objects"]] == [v2["modified"]]
    first = hub.get_object(v1["id"], version="first")["objects"]
    assert [o["modified"] for o in first] == [v1["modified"]]
    everything = hub.get_object(v1["id"], version="all")["objects"]
    assert len(everything) == 2
    versions = hub.object_versions(v1["id"])["versions"]
    assert versions == ["2026-04-01T09:00:00.000000Z", "2026-04-02T09:00:00.000000Z"]
    exact = hub.get_objects(id=v1["id"], version="2026-04-01T09:00:00.000Z")
    assert [o["modified"] for o in exact["objects"]] == [v1["modified"]]
    refused = requests.delete(hub_server.collection + f"objects/{v1['id']}/", timeout=10,
                              headers=bearer(hub_server, "acme reader"))
    assert refused.status_code == 403  # a reader may not delete
    hub.delete_object(v1["id"], version="2026-04-02T09:00:00.000Z")
    assert hub.object_versions(v1["id"])["versions"] == ["2026-04-01T09:00:00.000000Z"]
    hub.delete_object(v1["id"])
    with pytest.raises(requests.HTTPError) as gone:
        hub.get_object(v1["id"])
    assert gone.value.response.status_code == 404
    assert "taxii.delete" in audit_actions(hub_server)


def test_added_after_and_the_date_added_headers(hub_server: HubServer) -> None:
    headers = bearer(hub_server, "hub admin")
    url = hub_server.collection + "objects/"
    page = requests.get(url, headers=headers, params={"limit": 2}, timeout=10)
    last = page.headers["X-TAXII-Date-Added-Last"]
    later = requests.get(url, headers=headers, params={"added_after": last}, timeout=10)
    assert all(page.headers["X-TAXII-Date-Added-First"] <= last for _ in [0])
    if later.json().get("objects"):
        assert later.headers["X-TAXII-Date-Added-First"] > last


def test_a_members_post_waits_for_sanitisation_and_consent(hub_server: HubServer) -> None:
    member = collection(hub_server, "peer submitter")
    mine = indicator("192.0.2.77", Tlp.AMBER)
    status = member.add_objects({"objects": [mine]}, wait_for_completion=False)
    assert status.status == "pending"
    assert status.pending_count == 1
    with pytest.raises(requests.HTTPError):  # not published yet
        member.get_object(mine["id"])
    response = requests.get(f"{hub_server.url}/taxii2/hub/status/{status.id}/",
                            headers=bearer(hub_server, "acme submitter"), timeout=10)
    assert response.status_code == 404  # another organisation's status


# --- content negotiation, errors, limits ------------------------------------------------


def test_media_types_are_negotiated(hub_server: HubServer) -> None:
    url = hub_server.collection + "objects/"
    for accept in ("application/json", "text/html", "application/taxii+json;version=2.0"):
        response = requests.get(url, headers=bearer(hub_server, "hub admin", Accept=accept),
                                timeout=10)
        assert response.status_code == 406, accept
        assert response.json()["http_status"] == "406"
    assert requests.get(url, headers=bearer(hub_server, "hub admin"),
                        timeout=10).headers["Content-Type"] == TAXII
    body = b'{"objects": []}'
    for kind in ("application/json", "text/plain", "application/taxii+json;version=2.0"):
        response = requests.post(url, data=body, timeout=10,
                                 headers=bearer(hub_server, "hub admin", **{"Content-Type": kind}))
        assert response.status_code == 415, kind


def post(server: HubServer, who: str, body: bytes | str, **headers: str) -> requests.Response:
    return requests.post(server.collection + "objects/", data=body, timeout=30,
                         headers=bearer(server, who, **{"Content-Type": TAXII, **headers}))


def test_error_bodies_follow_the_taxii_error_format(hub_server: HubServer) -> None:
    response = post(hub_server, "hub admin", b"{not json")
    assert response.status_code == 400
    assert response.headers["Content-Type"] == TAXII
    body = response.json()
    assert set(body) >= {"title", "description", "http_status"}
    japanese = post(hub_server, "hub admin", b"{not json", **{"Accept-Language": "ja"})
    assert japanese.json()["title"] != body["title"]


@pytest.mark.parametrize(("name", "body", "status"), [
    ("truncated", b'{"objects": [{"type": "indicator"', 400),
    ("not an envelope", b"[1, 2, 3]", 400),
    ("empty", b'{"objects": []}', 400),
    ("deeply nested", b'{"objects": [' + b"[" * 5000 + b"]" * 5000 + b"]}", 400),
    ("wrong encoding", '{"objects": ["é"]}'.encode("utf-16"), 400),
    ("invalid STIX", b'{"objects": [{"type": "indicator", "id": "indicator--1"}]}', 422),
])
def test_malformed_posts_are_refused_and_nothing_is_written(
        hub_server: HubServer, name: str, body: bytes, status: int) -> None:
    before = object_count(hub_server)
    response = post(hub_server, "hub admin", body)
    assert response.status_code == status, (name, response.text)
    assert response.json()["http_status"] == str(status)
    assert object_count(hub_server) == before


def test_invalid_objects_are_each_named_and_none_is_kept(hub_server: HubServer) -> None:
    good = indicator("192.0.2.1")
    unknown_marking = indicator("192.0.2.2", object_marking_refs=[
        "marking-definition--00000000-0000-4000-8000-000000000000"])
    forged = indicator("192.0.2.3", created_by_ref=f"identity--{uuid.uuid4()}")
    bad_pattern = {**indicator("192.0.2.4"), "pattern": "[ipv4-addr:value = "}
    before = object_count(hub_server)
    response = post(hub_server, "hub admin", requests.models.complexjson.dumps(
        {"objects": [good, unknown_marking, forged, bad_pattern]}))
    assert response.status_code == 422
    where = {p["where"] for p in response.json()["details"]["problems"]}
    assert {unknown_marking["id"], forged["id"], bad_pattern["id"]} <= where
    assert good["id"] not in where, response.json()
    assert object_count(hub_server) == before  # all or nothing
    assert "sharing.publish.rejected" in audit_actions(hub_server)


def test_huge_bodies_are_refused_before_they_are_read(hub_server: HubServer) -> None:
    huge = b'{"objects": ["' + b"x" * (5 * 1024 * 1024) + b'"]}'
    response = post(hub_server, "hub admin", huge)
    assert response.status_code == 413
    assert response.json()["http_status"] == "413"


def test_injection_in_text_fields_is_kept_as_data(hub_server: HubServer) -> None:
    hostile = "'; DROP TABLE shared_objects; -- <script>alert(1)</script> {{7*7}}"
    obj = indicator("192.0.2.99", name=hostile, description=hostile)
    assert post(hub_server, "hub admin", requests.models.complexjson.dumps(
        {"objects": [obj]})).status_code == 202
    back = collection(hub_server, "hub admin").get_object(obj["id"])["objects"][0]
    assert back["description"] == hostile
    assert back["name"] == hostile
    response = requests.get(hub_server.collection + "objects/", timeout=10,
                            headers=bearer(hub_server, "hub admin"),
                            params={"match[id]": "indicator--x' OR '1'='1"})
    assert response.status_code == 400
    search = requests.get(f"{hub_server.url}/api/v1/sharing/objects", timeout=10,
                          headers=bearer(hub_server, "hub admin", Accept="application/json"),
                          params={"contains": "%' OR 1=1 --"})
    assert search.status_code == 200
    assert search.json() == []


# --- authentication ---------------------------------------------------------------------


@pytest.mark.parametrize("case", ["none", "garbage", "wrong secret", "expired", "revoked",
                                  "another org's token", "wrong password", "bad basic"])
def test_bad_credentials_get_401_and_leave_an_audit_record(hub_server: HubServer,
                                                           case: str) -> None:
    world = hub_server.world
    acme = world.org_names["acme"]
    auth: Any = None
    headers = {"Accept": TAXII}
    if case == "garbage":
        headers["Authorization"] = "Bearer rk_nonsense"
    elif case == "wrong secret":
        token = world.tokens["acme reader"]
        headers["Authorization"] = "Bearer " + token[:-4] + "AAAA"
    elif case == "expired":
        headers["Authorization"] = "Bearer " + world.expired_token
    elif case == "revoked":
        headers["Authorization"] = "Bearer " + world.revoked_token
    elif case == "another org's token":
        auth = (acme, world.tokens["peer submitter"])
    elif case == "wrong password":
        auth = (world.emails["acme reader"], "not the password at all")
    elif case == "bad basic":
        headers["Authorization"] = "Basic !!!"
    before = audit_actions(hub_server).count("auth.failed")
    response = requests.get(hub_server.taxii, headers=headers, auth=auth, timeout=30)
    assert response.status_code == 401
    assert response.json()["http_status"] == "401"
    assert "WWW-Authenticate" in response.headers
    after = audit_actions(hub_server).count("auth.failed")
    assert after == before + (0 if case == "none" else 1)


def test_http_basic_with_a_password_and_with_a_token(hub_server: HubServer) -> None:
    world = hub_server.world
    by_password = Server(hub_server.taxii, user=world.emails["acme reader"],
                         password="correct horse battery staple")
    assert by_password.api_roots
    by_token = Server(hub_server.taxii, user=world.emails["acme reader"],
                      password=world.tokens["acme reader"])
    assert by_token.api_roots


def test_a_read_token_may_not_post(hub_server: HubServer) -> None:
    response = post(hub_server, "acme reader", requests.models.complexjson.dumps(
        {"objects": [indicator("192.0.2.5")]}))
    assert response.status_code == 403
    assert "auth.scope_refused" in audit_actions(hub_server)


def test_security_headers_are_on_every_answer(hub_server: HubServer) -> None:
    for response in (requests.get(hub_server.taxii, timeout=10),
                     requests.get(hub_server.taxii, headers=bearer(hub_server, "hub admin"),
                                  timeout=10)):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-store"


def test_taxii2_client_reports_a_refusal(hub_server: HubServer) -> None:
    reader = collection(hub_server, "acme reader")
    with pytest.raises((requests.HTTPError, TAXIIServiceException)):
        reader.add_objects({"objects": [indicator("192.0.2.6")]})
