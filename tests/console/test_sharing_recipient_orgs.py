"""The organisations a TLP:AMBER report names: a member learns nothing of whether a name (or
an organisation id) is an organisation of the hub, through the form or the API, neither
when submitting nor afterwards; the hub's analyst sees in review, and in the publish
event, which named ones match none; once published, only the named organisations that
exist read the report (besides its owner and the hub's staff)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from renkei.core import audit, members, orgs
from renkei.core.models import Role
from tests.console.conftest import PASSWORD, Hub, csrf_of
from tests.console.signed_in import signed_in

PARTNER = "Partner Telco"  # exists, in no community of the submitter's
GHOST = "Ghost Org"  # no organisation has this name
LATE = "Late Org"  # no organisation has this name until after publication
NEVER_AN_ORG = 2_000_000_000  # an id no organisation has (and an INTEGER column holds)
UNMATCHED = "(matches no organisation: reads nothing)"


@pytest.fixture(scope="module")
def people(hub: Hub) -> dict[str, str]:
    """A submitter and a reader of ``member``, a hub analyst, a reader of the partner, and
    one of ``other``, in the submitter's community (the default TLP:AMBER audience)."""
    with hub.db.session() as session:
        orgs.add(session, hub.clock, PARTNER, communities=["telecom"])
        orgs.add(session, hub.clock, "other", communities=["finance"])
    return {"submitter": hub.add_user("member", Role.MEMBER_SUBMITTER),
            "reader": hub.member,
            "analyst": hub.add_user("hub", Role.HUB_ANALYST),
            "partner": _user_of(hub, PARTNER),
            "other": hub.add_user("other", Role.MEMBER_READER)}


def _user_of(hub: Hub, org: str) -> str:
    email = "reader@partner.example"
    with hub.db.session() as session:
        members.add_user(session, hub.clock, organisation=orgs.require(session, org),
                         email=email, role=Role.MEMBER_READER, password=PASSWORD)
    return email


@pytest.fixture(scope="module")
def clients(hub: Hub, people: dict[str, str]) -> dict[str, TestClient]:
    return signed_in(hub, people)


@pytest.fixture(scope="module")
def api(hub: Hub, people: dict[str, str]) -> dict[str, str]:
    """The submitter's own API token."""
    with hub.db.session() as session:
        found = members.get_user(session, people["submitter"])
        assert found is not None
        issued = members.create_token(session, hub.clock,
                                      organisation=orgs.require(session, "member"),
                                      scopes="read,submit", user=found)
    return {"Authorization": f"Bearer {issued.token}"}


def partner_id(hub: Hub) -> int:
    with hub.db.session() as session:
        return orgs.require(session, PARTNER).id


def send(client: TestClient, **fields: str) -> Response:
    data = {"title": "For our partners", "description": "", "tlp": "amber",
            "indicators": "domain amber.example"} | fields
    return client.post("/sharing/submit",
                       data={"csrf": csrf_of(client.get("/sharing/submit"))} | data)


def number_of(answer: Response) -> int:
    assert answer.status_code == 303, answer.text
    return int(answer.headers["location"].rsplit("/", 1)[1])


def without(text: str, *values: str) -> str:
    for value in values:
        text = text.replace(value, "<X>")
    return text


def without_number(text: str, number: int) -> str:
    """``text`` with the report's number and its objects' (random) STIX ids taken out."""
    text = re.sub(r"--[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "--<id>",
                  text)
    return re.sub(rf"(Report |/submissions/){number}\b", r"\1<N>", text)


def api_text(text: str, number: int) -> str:
    """An API answer with the submission's number and the STIX ids taken out."""
    return without_number(text, 0).replace(f'"id":{number},', '"id":<N>,')


def _publish(clients: dict[str, TestClient], number: int) -> None:
    for who, step in (("analyst", "sanitise"), ("submitter", "approve"),
                      ("analyst", "publish")):
        client = clients[who]
        answer = client.post(f"/sharing/submissions/{number}/{step}",
                             data={"csrf": csrf_of(client.get("/sharing/"))})
        assert answer.status_code == 303, (step, answer.text)


def _indicator(client: TestClient, value: str) -> str | None:
    page = client.get(f"/sharing/objects?q={value}").text
    found = re.search(r'href="/sharing/objects/(indicator--[0-9a-f-]{36})"', page)
    return found.group(1) if found else None


def _named(page: str) -> str:
    """The recipient organisations a submission page lists."""
    return page.split("Recipient organisations</dt><dd>")[1].split("</dd>")[0]


def _publish_details(hub: Hub, number: int) -> dict[str, Any]:
    with hub.db.session() as session:
        found = [e for e in audit.search(session, action="sharing.publish", limit=500)
                 if e.action == "sharing.publish" and e.target == f"submission:{number}"]
        assert len(found) == 1
        return dict(found[0].details)


def test_the_form_answers_an_organisation_and_a_stranger_alike(
        clients: dict[str, TestClient]) -> None:
    client = clients["submitter"]
    first, second = send(client, recipient_orgs=PARTNER), send(client, recipient_orgs=GHOST)
    assert first.status_code == second.status_code == 303
    a, b = number_of(first), number_of(second)
    assert without_number(first.headers["location"], a) == \
        without_number(second.headers["location"], b)
    assert first.content == second.content == b""

    def member_views() -> list[str]:
        seen = [client.get(f"/sharing/submissions/{n}") for n in (a, b)]
        assert seen[0].status_code == seen[1].status_code == 200
        assert PARTNER in _named(seen[0].text)
        assert GHOST in _named(seen[1].text)
        return [without_number(without(seen[0].text, PARTNER), a),
                without_number(without(seen[1].text, GHOST), b)]

    views = member_views()
    assert views[0] == views[1]
    assert UNMATCHED not in views[1]
    for number in (a, b):  # nor once the hub has published them
        _publish(clients, number)
    views = member_views()
    assert views[0] == views[1]
    assert UNMATCHED not in views[1]
    assert "published" in views[1]

    # refused for another reason, the form echoes the name and says nothing else
    refusals = [send(client, recipient_orgs=name, indicators="ipv4 999.1.1.1")
                for name in (PARTNER, GHOST)]
    assert refusals[0].status_code == refusals[1].status_code == 400
    assert PARTNER in refusals[0].text
    assert without(refusals[0].text, PARTNER) == without(refusals[1].text, GHOST)


@pytest.mark.parametrize("hostile", ["x" * 201, "bad\x07name", "right\u202eto left"])
def test_a_malformed_name_is_refused_for_its_spelling(
        clients: dict[str, TestClient], hostile: str) -> None:
    answer = send(clients["submitter"], recipient_orgs=hostile)
    assert answer.status_code == 400
    assert "recipient_orgs" in answer.text
    assert "no organisation" not in answer.text


def test_too_many_organisations_are_refused_whatever_they_are(
        clients: dict[str, TestClient]) -> None:
    answer = send(clients["submitter"], recipient_orgs="\n".join(f"o{i}" for i in range(101)))
    assert answer.status_code == 400
    assert "at most 100 lines" in answer.text


def test_the_api_answers_an_organisation_and_a_stranger_alike(
        hub: Hub, api: dict[str, str]) -> None:
    client = hub.client()
    report = {"title": "By the API", "tlp": "amber",
              "indicators": [{"type": "domain", "value": "api-amber.example"}]}

    def submit(**query: object) -> Response:
        return client.post("/api/v1/sharing/submissions", params=query, json=report,
                           headers=api)
    pairs = [(submit(recipient_org=partner_id(hub)), submit(recipient_org=NEVER_AN_ORG)),
             (submit(recipient_org_name=PARTNER), submit(recipient_org_name=GHOST))]
    for known, unknown in pairs:
        assert known.status_code == unknown.status_code == 201, (known.text, unknown.text)
        one, two = known.json()["id"], unknown.json()["id"]
        assert one != two
        assert api_text(known.text, one) == api_text(unknown.text, two)
        assert known.headers["content-type"] == unknown.headers["content-type"]
        details = [client.get(f"/api/v1/sharing/submissions/{n}", headers=api)
                   for n in (one, two)]
        assert details[0].status_code == details[1].status_code == 200
        assert api_text(details[0].text, one) == api_text(details[1].text, two)
    malformed = submit(recipient_org_name="bad\u202ename")
    assert malformed.status_code == 400
    assert "recipient_orgs" in malformed.text
    assert "no organisation" not in malformed.text
    assert submit(recipient_org_name="x" * 201).status_code in (400, 422)
    assert submit(recipient_org=0).status_code in (400, 422)


def test_only_the_named_organisation_that_exists_reads_the_published_report(
        hub: Hub, clients: dict[str, TestClient]) -> None:
    number = number_of(send(clients["submitter"], indicators="domain only-partner.example",
                            recipient_orgs=f"{PARTNER}\n{LATE}"))
    review = _named(clients["analyst"].get(f"/sharing/submissions/{number}").text)
    assert f"{LATE} {UNMATCHED}" in review
    assert PARTNER in review
    assert f"{PARTNER} (" not in review
    assert UNMATCHED not in clients["submitter"].get(f"/sharing/submissions/{number}").text
    _publish(clients, number)
    assert _publish_details(hub, number)["unmatched_organisation_names"] == [LATE]
    assert f"{LATE} {UNMATCHED}" in clients["analyst"].get(
        f"/sharing/submissions/{number}").text

    stix_id = _indicator(clients["partner"], "only-partner.example")
    assert stix_id is not None
    for who in ("submitter", "reader", "analyst"):  # the owner and the hub's staff
        assert _indicator(clients[who], "only-partner.example") == stix_id, who
    assert _indicator(clients["other"], "only-partner.example") is None  # not the community
    assert clients["other"].get(f"/sharing/objects/{stix_id}").status_code == 404

    # the name was no organisation's at publication; one that takes it later reads nothing
    with hub.db.session() as session:
        orgs.add(session, hub.clock, LATE, communities=["finance"])
        members.add_user(session, hub.clock, organisation=orgs.require(session, LATE),
                         email="late@late.example", role=Role.MEMBER_READER,
                         password=PASSWORD)
    late = signed_in(hub, {"late": "late@late.example"})["late"]
    assert _indicator(late, "only-partner.example") is None
    assert late.get(f"/sharing/objects/{stix_id}").status_code == 404


def test_ids_named_through_the_api_are_resolved_at_publication(
        hub: Hub, clients: dict[str, TestClient], api: dict[str, str]) -> None:
    partner = partner_id(hub)
    answer = hub.client().post(
        "/api/v1/sharing/submissions", headers=api,
        params={"recipient_org": [partner, NEVER_AN_ORG]},
        json={"title": "By id", "tlp": "amber",
              "indicators": [{"type": "domain", "value": "amber-by-id.example"}]})
    assert answer.status_code == 201, answer.text
    number = answer.json()["id"]
    review = _named(clients["analyst"].get(f"/sharing/submissions/{number}").text)
    assert review == f"{PARTNER}, organisation {NEVER_AN_ORG} {UNMATCHED}"
    mine = _named(clients["submitter"].get(f"/sharing/submissions/{number}").text)
    assert mine == f"organisation {partner}, organisation {NEVER_AN_ORG}"  # as named
    _publish(clients, number)
    assert _publish_details(hub, number)["unmatched_organisation_ids"] == [NEVER_AN_ORG]
    assert _indicator(clients["partner"], "amber-by-id.example") is not None
    assert _indicator(clients["other"], "amber-by-id.example") is None


def test_naming_only_organisations_that_do_not_exist_reaches_no_community(
        hub: Hub, clients: dict[str, TestClient]) -> None:
    number = number_of(send(clients["submitter"], indicators="domain nobody-named.example",
                            recipient_orgs="Nobody At All"))
    _publish(clients, number)
    assert _indicator(clients["reader"], "nobody-named.example") is not None
    for who in ("other", "partner"):
        assert _indicator(clients[who], "nobody-named.example") is None, who
