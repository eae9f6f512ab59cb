"""The sharing pages as members and the hub's analysts use them: a report from the form to
publication (sanitised, consented to, published), the shared objects each user may read,
collections and sightings; and everything a user must not see or do is refused."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import renkei
from renkei.core import audit, i18n, orgs
from renkei.core.models import Role
from renkei.sharing import pages as sharing_pages
from renkei.sharing import stix
from tests.console.conftest import Hub, csrf_of
from tests.console.signed_in import signed_in
from tests.message_templates import page_templates, templates

TEMPLATES = Path(renkei.__file__).parent / "console" / "templates"
PAGES = sorted((TEMPLATES / "sharing").glob("*.html"))


@pytest.fixture(scope="module")
def people(hub: Hub) -> dict[str, str]:
    """A submitter and a reader of ``member``, a hub analyst, and two users of ``other``, a
    member in the same community."""
    with hub.db.session() as session:
        orgs.add(session, hub.clock, "other", communities=["finance"])
        orgs.add(session, hub.clock, "outsider")
    return {"submitter": hub.add_user("member", Role.MEMBER_SUBMITTER),
            "reader": hub.member,
            "analyst": hub.add_user("hub", Role.HUB_ANALYST),
            "other": hub.add_user("other", Role.MEMBER_SUBMITTER),
            "other_reader": hub.add_user("other", Role.MEMBER_READER),
            "outsider": hub.add_user("outsider", Role.MEMBER_SUBMITTER)}


@pytest.fixture(scope="module")
def clients(hub: Hub, people: dict[str, str]) -> dict[str, TestClient]:
    return signed_in(hub, people)


def submit(client: TestClient, **fields: str) -> int:
    data = {"title": "Phishing wave", "description": "Reported by soc@member.example",
            "tlp": "green", "indicators": "ipv4 203.0.113.7\ndomain bad.example"} | fields
    answer = client.post("/sharing/submit",
                         data={"csrf": csrf_of(client.get("/sharing/submit"))} | data)
    assert answer.status_code == 303, answer.text
    return int(answer.headers["location"].rsplit("/", 1)[1])


def post(client: TestClient, path: str, **data: str) -> int:
    token = csrf_of(client.get("/sharing/"))
    return int(client.post(path, data={"csrf": token} | data).status_code)


def published(clients: dict[str, TestClient], **fields: str) -> int:
    """A report of ``member`` submitted, sanitised, approved and published."""
    number = submit(clients["submitter"], **fields)
    assert post(clients["analyst"], f"/sharing/submissions/{number}/sanitise") == 303
    assert post(clients["submitter"], f"/sharing/submissions/{number}/approve") == 303
    assert post(clients["analyst"], f"/sharing/submissions/{number}/publish") == 303
    return number


def test_a_report_goes_from_the_form_to_publication(hub: Hub,
                                                    clients: dict[str, TestClient]) -> None:
    number = submit(clients["submitter"])
    page = clients["submitter"].get(f"/sharing/submissions/{number}").text
    assert "Phishing wave" in page
    assert "submitted" in page
    assert f"/sharing/submissions/{number}" in clients["analyst"].get("/sharing/").text
    assert "To sanitise" in clients["analyst"].get("/").text

    assert post(clients["analyst"], f"/sharing/submissions/{number}/sanitise",
                own_domains="member.example") == 303
    review = clients["analyst"].get(f"/sharing/submissions/{number}").text
    assert "<del>" in review
    assert "<ins>" in review
    assert "[e-mail address]" in review
    assert "soc@member.example" in review  # the diff shows what was taken out

    consent = clients["submitter"].get(f"/sharing/submissions/{number}").text
    assert "Approve the sanitised version" in consent
    assert "Awaiting your consent" in clients["submitter"].get("/").text
    assert post(clients["submitter"], f"/sharing/submissions/{number}/approve") == 303
    assert post(clients["analyst"], f"/sharing/submissions/{number}/publish") == 303
    assert "published" in clients["analyst"].get(f"/sharing/submissions/{number}").text

    shared = clients["other_reader"].get("/sharing/objects?tlp=green&type=indicator").text
    assert "ipv4 203.0.113.7" in shared
    assert "TLP:GREEN" in shared
    assert "ipv4 203.0.113.7" not in clients["outsider"].get("/sharing/objects").text
    with hub.db.session() as session:
        actions = [e.action for e in audit.search(session, limit=50)]
    assert {"sharing.submit", "sharing.sanitise", "sharing.approve",
            "sharing.publish"} <= set(actions)


def _indicator_id(client: TestClient, value: str) -> str:
    page = client.get(f"/sharing/objects?q={value}").text
    found = re.search(r'href="/sharing/objects/(indicator--[0-9a-f-]{36})"', page)
    assert found, page
    return found.group(1)


def test_sightings_show_counts_never_who(hub: Hub, clients: dict[str, TestClient]) -> None:
    published(clients, indicators="domain seen.example")
    stix_id = _indicator_id(clients["other"], "seen.example")
    assert post(clients["other"], f"/sharing/objects/{stix_id}/sightings", count="3") == 303
    assert post(clients["submitter"], f"/sharing/objects/{stix_id}/sightings") == 303
    page = clients["other_reader"].get(f"/sharing/objects/{stix_id}").text
    assert re.search(r"<dt>Seen</dt><dd>4</dd>", page)
    assert re.search(r"<dt>By organisations</dt><dd>2</dd>", page)
    assert "other" not in page.split('id="sightings"')[1].split("</section>")[0]
    assert 'name="count"' not in page  # a reader reports nothing
    assert post(clients["other_reader"], f"/sharing/objects/{stix_id}/sightings") == 403
    bad = clients["other"].post(f"/sharing/objects/{stix_id}/sightings", data={
        "csrf": csrf_of(clients["other"].get("/sharing/")), "count": "-2"})
    assert bad.status_code == 400
    assert "whole number" in bad.text
    assert post(clients["outsider"], f"/sharing/objects/{stix_id}/sightings") == 404
    assert clients["outsider"].get(f"/sharing/objects/{stix_id}").status_code == 404


def test_a_member_sees_only_its_own_reports_and_cannot_act_for_the_hub(
        hub: Hub, clients: dict[str, TestClient]) -> None:
    number = submit(clients["submitter"], title="Ours alone")
    assert "Ours alone" in clients["reader"].get(f"/sharing/submissions/{number}").text
    assert f"/sharing/submissions/{number}\"" not in clients["other"].get("/sharing/").text
    assert clients["other"].get(f"/sharing/submissions/{number}").status_code == 404
    assert clients["other"].get("/sharing/submissions/99999999999999999999").status_code == 404
    assert post(clients["submitter"], f"/sharing/submissions/{number}/sanitise") == 403
    assert post(clients["other"], f"/sharing/submissions/{number}/reject") == 403
    post(clients["analyst"], f"/sharing/submissions/{number}/sanitise")
    assert post(clients["reader"], f"/sharing/submissions/{number}/approve") == 403
    assert post(clients["other"], f"/sharing/submissions/{number}/approve") == 403
    assert post(clients["submitter"], f"/sharing/submissions/{number}/approve") == 303
    assert post(clients["submitter"], f"/sharing/submissions/{number}/publish") == 403
    assert clients["reader"].get("/sharing/submit").status_code == 403
    with hub.db.session() as session:
        refused = {e.action for e in audit.search(session, limit=100)}
    assert {"sharing.sanitise.refused", "sharing.approve.refused", "sharing.publish.refused",
            "auth.scope_refused"} <= refused


def test_the_form_shows_mistakes_and_keeps_what_was_typed(
        clients: dict[str, TestClient]) -> None:
    client = clients["submitter"]
    token = csrf_of(client.get("/sharing/submit"))
    answer = client.post("/sharing/submit", data={
        "csrf": token, "title": "Kept <title>", "tlp": "amber", "indicators": "ipv4 999.1.1.1"})
    assert answer.status_code == 400
    assert "$.indicators[0].value" in answer.text
    assert "Kept &lt;title&gt;" in answer.text
    lonely = client.post("/sharing/submit", data={"csrf": token, "title": "x",
                                                  "tlp": "green", "indicators": "ipv4"})
    assert "line 1" in lonely.text
    # an organisation is not looked up when named (test_sharing_recipient_orgs.py)
    unknown = client.post("/sharing/submit", data={
        "csrf": token, "title": "x", "tlp": "amber", "indicators": "domain a.example",
        "recipient_orgs": "nobody"})
    assert unknown.status_code == 303


def test_an_amber_report_reaches_the_named_member_only(clients: dict[str, TestClient]) -> None:
    published(clients, tlp="amber", indicators="domain amber-only.example",
              recipient_orgs="outsider")
    assert "amber-only.example" in clients["outsider"].get("/sharing/objects").text
    assert "amber-only.example" not in clients["other"].get("/sharing/objects").text


def test_a_stix_bundle_is_uploaded(hub: Hub, clients: dict[str, TestClient]) -> None:
    bundle = stix.report_to_bundle({"title": "From a file", "tlp": "clear", "indicators": [
        {"type": "url", "value": "http://bundle.example/x"}]}, now=hub.clock.now())
    client = clients["submitter"]
    answer = client.post("/sharing/submit", data={"csrf": csrf_of(client.get("/sharing/submit"))},
                         files={"bundle": ("report.json", io.BytesIO(json.dumps(bundle).encode()),
                                           "application/json")})
    assert answer.status_code == 303, answer.text
    assert "From a file" in client.get(answer.headers["location"]).text
    broken = client.post("/sharing/submit", data={"csrf": csrf_of(client.get("/sharing/submit"))},
                         files={"bundle": ("x.json", io.BytesIO(b"{nope"), "application/json")})
    assert broken.status_code == 400


def test_collections_list_what_the_user_may_read(clients: dict[str, TestClient]) -> None:
    published(clients, indicators="domain in-collection.example")
    published(clients, tlp="amber+strict", indicators="domain ours-only.example")
    page = clients["other"].get("/sharing/collections").text
    assert "/sharing/collections/hub" in page
    listed = clients["other"].get("/sharing/collections/hub").text
    assert "domain in-collection.example" in listed
    assert "ours-only.example" not in listed
    assert "ours-only.example" in clients["submitter"].get("/sharing/collections/hub").text
    assert clients["other"].get("/sharing/collections/nope").status_code == 404
    assert clients["other"].get("/sharing/collections/hub?next=garbage").status_code == 400


def test_the_objects_page_charts_and_pages(clients: dict[str, TestClient]) -> None:
    published(clients, indicators="domain charted.example")
    page = clients["analyst"].get("/sharing/objects").text
    assert 'src="data:image/svg+xml;base64,' in page
    assert clients["analyst"].get("/sharing/objects?before=abc&tlp=bogus").status_code == 200


def test_the_review_panel_is_not_for_a_reader(clients: dict[str, TestClient]) -> None:
    assert 'id="panel-sharing-review"' not in clients["reader"].get("/").text
    assert 'id="panel-sharing-review"' in clients["analyst"].get("/").text


def test_signed_out_visitors_go_to_sign_in(hub: Hub) -> None:
    anonymous = hub.client()
    answer = anonymous.get("/sharing/objects")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login")


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_every_page_word_has_japanese(path: Path) -> None:
    japanese = i18n.messages("ja")
    missing = [t for t in page_templates(path) if t not in japanese]
    assert not missing, f"add to src/renkei/sharing/locale/ja/sharing.po: {missing}"


def test_every_page_message_has_japanese() -> None:
    japanese = i18n.messages("ja")
    found = templates(Path(sharing_pages.__file__),
                      {"t": 0, "gettext_noop": 0, "UserError": 0, "WorkflowError": 0})
    missing = [t for t in found if t not in japanese]
    assert not missing, f"add to src/renkei/sharing/locale/ja/sharing.po: {missing}"
