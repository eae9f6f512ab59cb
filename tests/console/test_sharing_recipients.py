"""The people a TLP:RED report names: a member learns nothing of whether an address (or a
user id) belongs to a user of the hub, through the form or the API; the hub's analyst
sees it in review; once published, only the named users who exist (and the author) read
the report, and an address no user had then reads nothing, even if a user takes it later."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from renkei.core import members, orgs
from renkei.core.models import Role, User
from tests.console.conftest import PASSWORD, Hub, csrf_of
from tests.console.signed_in import signed_in

GHOST = "ghost@nowhere.example"
NEVER_A_USER = 2_000_000_000  # an id no user has (and an INTEGER column holds)


@pytest.fixture(scope="module")
def people(hub: Hub) -> dict[str, str]:
    """A submitter and a reader of ``member``, a hub analyst, and two users of ``other``:
    the one who is named and a colleague who is not."""
    with hub.db.session() as session:
        orgs.add(session, hub.clock, "other", communities=["finance"])
    return {"submitter": hub.add_user("member", Role.MEMBER_SUBMITTER),
            "reader": hub.member,
            "analyst": hub.add_user("hub", Role.HUB_ANALYST),
            "named": hub.add_user("other", Role.MEMBER_READER),
            "colleague": hub.add_user("other", Role.MEMBER_SUBMITTER)}


@pytest.fixture(scope="module")
def clients(hub: Hub, people: dict[str, str]) -> dict[str, TestClient]:
    return signed_in(hub, people)


def user(hub: Hub, email: str) -> User:
    with hub.db.session() as session:
        found = members.get_user(session, email)
        assert found is not None
        session.expunge(found)
        return found


@pytest.fixture(scope="module")
def api(hub: Hub, people: dict[str, str]) -> dict[str, str]:
    """The submitter's own API token (a RED report is its author's alone until published)."""
    with hub.db.session() as session:
        found = members.get_user(session, people["submitter"])
        assert found is not None
        issued = members.create_token(session, hub.clock,
                                      organisation=orgs.require(session, "member"),
                                      scopes="read,submit", user=found)
    return {"Authorization": f"Bearer {issued.token}"}


def send(client: TestClient, **fields: str) -> Response:
    data = {"title": "For your eyes", "description": "", "tlp": "red",
            "indicators": "domain red.example"} | fields
    return client.post("/sharing/submit",
                       data={"csrf": csrf_of(client.get("/sharing/submit"))} | data)


def number_of(answer: Response) -> int:
    assert answer.status_code == 303, answer.text
    return int(answer.headers["location"].rsplit("/", 1)[1])


def without(text: str, value: str) -> str:
    return text.replace(value, "<X>")


def without_number(text: str, number: int) -> str:
    """``text`` with the report's number and its objects' (random) STIX ids taken out."""
    text = re.sub(r"--[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "--<id>",
                  text)
    return re.sub(rf"(Report |/submissions/){number}\b", r"\1<N>", text)


def test_the_form_answers_a_user_and_a_stranger_alike(
        clients: dict[str, TestClient], people: dict[str, str]) -> None:
    client = clients["submitter"]
    known, unknown = people["named"], GHOST

    first, second = send(client, recipient_users=known), send(client, recipient_users=unknown)
    assert first.status_code == second.status_code == 303
    a, b = number_of(first), number_of(second)
    assert without_number(first.headers["location"], a) == \
        without_number(second.headers["location"], b)
    assert first.content == second.content == b""
    seen = [client.get(f"/sharing/submissions/{n}") for n in (a, b)]
    assert seen[0].status_code == seen[1].status_code == 200
    assert without_number(seen[0].text, a) == without_number(seen[1].text, b)
    assert known not in seen[0].text  # the member is told how many, not who
    assert "not a user" not in seen[1].text

    # refused for another reason, the form echoes the address and says nothing else
    refusals = [send(client, recipient_users=email, indicators="ipv4 999.1.1.1")
                for email in (known, unknown)]
    assert refusals[0].status_code == refusals[1].status_code == 400
    assert known in refusals[0].text
    assert without(refusals[0].text, known) == without(refusals[1].text, unknown)


@pytest.mark.parametrize("hostile", ["not-an-address", "a@b@c.example", "x" * 300 + "@a.example",
                                     "bad\x07@member.example"])
def test_a_malformed_address_is_refused_for_its_spelling(
        clients: dict[str, TestClient], hostile: str) -> None:
    answer = send(clients["submitter"], recipient_users=hostile)
    assert answer.status_code == 400
    assert "recipient_emails" in answer.text
    assert "no user" not in answer.text


def test_too_many_people_are_refused_whoever_they_are(clients: dict[str, TestClient]) -> None:
    many = "\n".join(f"p{i}@nowhere.example" for i in range(101))
    answer = send(clients["submitter"], recipient_users=many)
    assert answer.status_code == 400
    assert "at most 100 lines" in answer.text


def test_the_api_answers_a_user_and_a_stranger_alike(
        hub: Hub, people: dict[str, str], api: dict[str, str]) -> None:
    client = hub.client()
    report = {"title": "By the API", "tlp": "red",
              "indicators": [{"type": "domain", "value": "api-red.example"}]}
    named = user(hub, people["named"])

    def submit(**query: object) -> Response:
        return client.post("/api/v1/sharing/submissions", params=query, json=report,
                           headers=api)
    pairs = [(submit(recipient_email=named.email), submit(recipient_email=GHOST)),
             (submit(recipient_user=named.id), submit(recipient_user=NEVER_A_USER))]
    for known, unknown in pairs:
        assert known.status_code == unknown.status_code == 201, (known.text, unknown.text)
        one, two = known.json(), unknown.json()
        assert one.pop("id") != two.pop("id")
        assert one == two
    malformed = submit(recipient_email="nobody")
    assert malformed.status_code == 400
    assert "recipient_emails" in malformed.text
    assert submit(recipient_email="x" * 300).status_code in (400, 422)
    assert submit(recipient_user=0).status_code in (400, 422)


def _indicator(client: TestClient, value: str) -> str | None:
    page = client.get(f"/sharing/objects?q={value}").text
    found = re.search(r'href="/sharing/objects/(indicator--[0-9a-f-]{36})"', page)
    return found.group(1) if found else None


def _publish(clients: dict[str, TestClient], number: int) -> None:
    for who, step in (("analyst", "sanitise"), ("submitter", "approve"),
                      ("analyst", "publish")):
        client = clients[who]
        answer = client.post(f"/sharing/submissions/{number}/{step}",
                             data={"csrf": csrf_of(client.get("/sharing/"))})
        assert answer.status_code == 303, (step, answer.text)


def test_only_the_named_user_who_exists_reads_the_published_report(
        hub: Hub, clients: dict[str, TestClient], people: dict[str, str]) -> None:
    number = number_of(send(clients["submitter"], indicators="domain only-named.example",
                            recipient_users=f"{people['named'].upper()}\n{GHOST}"))
    review = clients["analyst"].get(f"/sharing/submissions/{number}").text
    named = review.split('id="named">')[1].split("</dd>")[0]
    assert people["named"] in named
    assert f"{GHOST} (not a user of the hub: reads nothing)" in named
    assert f"{people['named']} (" not in named
    _publish(clients, number)

    stix_id = _indicator(clients["named"], "only-named.example")
    assert stix_id is not None
    assert clients["named"].get(f"/sharing/objects/{stix_id}").status_code == 200
    assert _indicator(clients["submitter"], "only-named.example") == stix_id  # the author
    for who in ("reader", "analyst", "colleague"):
        assert _indicator(clients[who], "only-named.example") is None, who
        assert clients[who].get(f"/sharing/objects/{stix_id}").status_code == 404, who

    # the address was no one's at publication; whoever takes it afterwards reads nothing
    with hub.db.session() as session:
        members.add_user(session, hub.clock, organisation=orgs.require(session, "other"),
                         email=GHOST, role=Role.MEMBER_READER, password=PASSWORD)
    late = signed_in(hub, {"late": GHOST})["late"]
    assert _indicator(late, "only-named.example") is None
    assert late.get(f"/sharing/objects/{stix_id}").status_code == 404


def test_ids_named_through_the_api_are_resolved_at_publication(
        hub: Hub, clients: dict[str, TestClient], people: dict[str, str],
        api: dict[str, str]) -> None:
    named = user(hub, people["named"])
    answer = hub.client().post(
        "/api/v1/sharing/submissions", headers=api,
        params={"recipient_user": [named.id, NEVER_A_USER]},
        json={"title": "By id", "tlp": "red",
              "indicators": [{"type": "domain", "value": "by-id.example"}]})
    assert answer.status_code == 201, answer.text
    number = answer.json()["id"]
    review = clients["analyst"].get(f"/sharing/submissions/{number}").text
    assert f"user {NEVER_A_USER} (not a user of the hub: reads nothing)" in review
    assert f"user {named.id}," in review or f"user {named.id}<" in review
    _publish(clients, number)
    assert _indicator(clients["named"], "by-id.example") is not None
    for who in ("reader", "analyst", "colleague"):
        assert _indicator(clients[who], "by-id.example") is None, who
