"""Every read path, as every role, against objects of every TLP marking: nobody learns of
an object the policy hides from them, directly or indirectly (lists, counts, manifests,
versions, search, sightings, relationships, error messages)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import requests

from tests.sharing.conftest import HubServer
from tests.sharing.hub_world import PEOPLE

TAXII = "application/taxii+json;version=2.1"


@pytest.fixture(scope="module")
def sessions(hub_server: HubServer) -> Iterator[dict[str, requests.Session]]:
    made = {}
    for who in PEOPLE:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {hub_server.world.tokens[who]}"
        made[who] = session
    yield made
    for session in made.values():
        session.close()


def world_ids(server: HubServer) -> set[str]:
    return set(server.world.readers)


def expected(server: HubServer, who: str) -> set[str]:
    return {stix_id for stix_id, readers in server.world.readers.items() if who in readers}


def taxii_get(session: requests.Session, url: str, **params: str) -> requests.Response:
    return session.get(url, params=params, headers={"Accept": TAXII}, timeout=30)


def paged(session: requests.Session, url: str, key: str, **params: str) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    cursor = None
    while True:
        extra = {"next": cursor} if cursor else {}
        response = taxii_get(session, url, limit="7", **params, **extra)
        assert response.status_code == 200, response.text
        body = response.json()
        found.extend(body.get(key, []))
        if not body["more"]:
            return found
        cursor = body["next"]


def test_the_world_has_every_marking_and_a_telling_relationship(hub_server: HubServer) -> None:
    world = hub_server.world
    assert len(world.indicators) == 6
    rel = world.readers[world.relationship]
    assert rel == {"acme submitter", "telco reader"}  # those who may read both ends
    assert "hub admin" not in world.readers[world.indicators["red to telco"]]


@pytest.mark.parametrize("who", list(PEOPLE))
def test_taxii_lists_and_manifests_show_only_what_the_policy_allows(
        hub_server: HubServer, sessions: dict[str, requests.Session], who: str) -> None:
    session, mine = sessions[who], expected(hub_server, who)
    ours = world_ids(hub_server)
    listed = paged(session, hub_server.collection + "objects/", "objects",
                   **{"match[version]": "all"})
    assert {o["id"] for o in listed} & ours == mine
    manifest = paged(session, hub_server.collection + "manifest/", "objects",
                     **{"match[version]": "all"})
    assert {m["id"] for m in manifest} & ours == mine
    assert len(manifest) == len(listed)  # the counts agree too


@pytest.mark.parametrize("who", list(PEOPLE))
def test_each_object_is_readable_exactly_when_allowed(
        hub_server: HubServer, sessions: dict[str, requests.Session], who: str) -> None:
    session, mine = sessions[who], expected(hub_server, who)
    base, api = hub_server.collection, f"{hub_server.url}/api/v1/sharing/objects"
    for stix_id in world_ids(hub_server):
        allowed = stix_id in mine
        responses = {
            "taxii object": taxii_get(session, f"{base}objects/{stix_id}/"),
            "taxii versions": taxii_get(session, f"{base}objects/{stix_id}/versions/"),
            "rest object": session.get(f"{api}/{stix_id}", timeout=30),
            "rest sightings": session.get(f"{api}/{stix_id}/sightings", timeout=30),
        }
        for path, response in responses.items():
            assert response.status_code == (200 if allowed else 404), (who, path, stix_id)
        matched = taxii_get(session, f"{base}objects/", **{"match[id]": stix_id})
        assert bool(matched.json().get("objects")) == allowed, (who, "match[id]", stix_id)


@pytest.mark.parametrize("who", list(PEOPLE))
def test_a_hidden_object_is_refused_as_one_that_does_not_exist(
        hub_server: HubServer, sessions: dict[str, requests.Session], who: str) -> None:
    session, mine = sessions[who], expected(hub_server, who)
    hidden = sorted(world_ids(hub_server) - mine)
    if not hidden:
        pytest.skip(f"{who} may read everything seeded")
    stix_id = hidden[0]
    kind = stix_id.split("--")[0]
    missing = f"{kind}--{uuid.uuid4()}"
    base, api = hub_server.collection, f"{hub_server.url}/api/v1/sharing/objects"
    for template in (f"{base}objects/{{}}/", f"{base}objects/{{}}/versions/"):
        a = taxii_get(session, template.format(stix_id))
        b = taxii_get(session, template.format(missing))
        assert a.status_code == b.status_code == 404
        assert a.json()["description"].replace(stix_id, "X") == \
            b.json()["description"].replace(missing, "X")
        assert set(a.headers) - {"date", "content-length"} == \
            set(b.headers) - {"date", "content-length"}
    a = session.get(f"{api}/{stix_id}/sightings", timeout=30)
    b = session.get(f"{api}/{missing}/sightings", timeout=30)
    assert a.json()["description"].replace(stix_id, "X") == \
        b.json()["description"].replace(missing, "X")
    delete = session.delete(f"{base}objects/{stix_id}/", headers={"Accept": TAXII}, timeout=30)
    assert delete.status_code in (403, 404)
    if delete.status_code == 403:  # a read-only caller is refused before anything is looked up
        assert session.delete(f"{base}objects/{missing}/", headers={"Accept": TAXII},
                              timeout=30).status_code == 403


@pytest.mark.parametrize("who", list(PEOPLE))
def test_search_and_counts_reveal_nothing_hidden(
        hub_server: HubServer, sessions: dict[str, requests.Session], who: str) -> None:
    session, mine = sessions[who], expected(hub_server, who)
    api = f"{hub_server.url}/api/v1/sharing/objects"
    listed = session.get(api, params={"limit": 1000}, timeout=30).json()
    assert {o["id"] for o in listed} & world_ids(hub_server) == mine
    assert all(set(o) == {"id", "type", "version", "date_added", "marking", "object"}
               for o in listed)  # never the owner or the author
    for name, value in hub_server.world.values.items():
        found = session.get(api, params={"contains": value}, timeout=30).json()
        allowed = hub_server.world.indicators[name] in mine
        assert bool(found) == allowed, (who, name)


def test_sightings_count_without_saying_who(
        hub_server: HubServer, sessions: dict[str, requests.Session]) -> None:
    green = hub_server.world.indicators["green"]
    url = f"{hub_server.url}/api/v1/sharing/objects/{green}/sightings"
    for who, count in (("peer submitter", 3), ("acme submitter", 2)):
        response = sessions[who].post(url, json={"count": count}, timeout=30)
        assert response.status_code == 201, response.text
    seen = sessions["telco reader"].get(url, timeout=30).json()
    assert seen["count"] >= 5
    assert seen["organisations"] >= 2
    assert seen["yours"] == 0
    assert not {"organisation", "organisations_list", "by"} & set(seen)
    red = hub_server.world.indicators["red to telco"]
    refused = sessions["peer submitter"].post(
        f"{hub_server.url}/api/v1/sharing/objects/{red}/sightings", json={"count": 1},
        timeout=30)
    assert refused.status_code == 404  # reporting a hidden object reveals nothing either


def test_submissions_are_seen_by_their_organisation_and_the_hub_only(
        hub_server: HubServer, sessions: dict[str, requests.Session]) -> None:
    url = f"{hub_server.url}/api/v1/sharing/submissions"
    counts = {who: len(sessions[who].get(url, timeout=30).json()) for who in PEOPLE}
    assert counts["peer submitter"] < counts["acme submitter"]
    assert counts["telco reader"] == counts["loner reader"] == 0
    assert counts["acme colleague"] == counts["acme submitter"] - 1  # the RED one is its author's
    assert counts["hub analyst"] >= counts["acme submitter"]
    first = sessions["acme submitter"].get(url, timeout=30).json()[0]["id"]
    for who in ("peer submitter", "telco reader"):
        response = sessions[who].get(f"{url}/{first}", timeout=30)
        assert response.status_code == 404


@pytest.mark.parametrize("who", list(PEOPLE))
def test_misp_exports_carry_only_what_the_policy_allows(
        hub_server: HubServer, sessions: dict[str, requests.Session], who: str) -> None:
    session, mine = sessions[who], expected(hub_server, who)
    response = session.get(f"{hub_server.url}/api/v1/sharing/misp/events", timeout=60)
    assert response.status_code == 200, response.text
    text = response.text
    for name, value in hub_server.world.values.items():
        allowed = hub_server.world.indicators[name] in mine
        assert (value in text) == allowed, (who, name)
    assert "Acme" not in text  # the hub is the source, never the submitter


def test_a_sighting_without_a_time_zone_is_a_400(
        hub_server: HubServer, sessions: dict[str, requests.Session]) -> None:
    green = hub_server.world.indicators["green"]
    url = f"{hub_server.url}/api/v1/sharing/objects/{green}/sightings"
    response = sessions["peer submitter"].post(
        url, json={"count": 1, "first_seen": "2026-04-01T00:00:00"}, timeout=30)
    assert response.status_code == 400
    assert response.json()["http_status"] == "400"
