"""The incidents pages as the hub's analysts and members use them: open one by hand, handle
it (acknowledge, move, assign, severity, notes, tasks, indicators, evidence, share), read
its timeline, deadlines and timings; a member sees and adds to its own incidents only."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response

import renkei
from renkei.core import audit, i18n, orgs
from renkei.core.models import Role, Scope
from renkei.core.time import FixedClock
from renkei.incidents import pages as incident_pages
from renkei.incidents import service
from renkei.incidents.service import Caller
from tests.console.conftest import Hub, csrf_of
from tests.console.signed_in import signed_in
from tests.message_templates import page_templates, templates

TEMPLATES = Path(renkei.__file__).parent / "console" / "templates"
PAGES = sorted((TEMPLATES / "incidents").glob("*.html"))


@pytest.fixture(scope="module")
def people(hub: Hub) -> dict[str, str]:
    with hub.db.session() as session:
        orgs.add(session, hub.clock, "other", communities=["finance"])
    return {"analyst": hub.add_user("hub", Role.HUB_ANALYST),
            "submitter": hub.add_user("member", Role.MEMBER_SUBMITTER),
            "reader": hub.member,
            "other": hub.add_user("other", Role.MEMBER_SUBMITTER)}


@pytest.fixture(scope="module")
def clients(hub: Hub, people: dict[str, str]) -> dict[str, TestClient]:
    return signed_in(hub, people)


def post(client: TestClient, path: str, **data: str | list[str]) -> Response:
    token = csrf_of(client.get("/incidents/"))
    answer: Response = client.post(path, data={"csrf": token} | data)
    return answer


def open_incident(client: TestClient, **fields: str | list[str]) -> int:
    data: dict[str, str | list[str]] = {
        "title": "Ransomware at a member", "severity": "high", "category": "malicious-code",
        "tlp": "green", "description": "Called in by phone", "organisations": ["member"]}
    answer = post(client, "/incidents/new", **(data | fields))
    assert answer.status_code == 303, answer.text
    return int(answer.headers["location"].rsplit("/", 1)[1])


def test_an_analyst_handles_an_incident_from_start_to_sharing(
        hub: Hub, people: dict[str, str], clients: dict[str, TestClient]) -> None:
    analyst = clients["analyst"]
    number = open_incident(analyst)
    page = analyst.get(f"/incidents/{number}").text
    assert "Ransomware at a member" in page
    assert "Acknowledge by" in page
    assert re.search(r'id="incident-status">new<', page)
    assert post(analyst, f"/incidents/{number}/acknowledge").status_code == 303
    assert post(analyst, f"/incidents/{number}/transition", status="investigating").status_code == 303
    assert post(analyst, f"/incidents/{number}/assign", user=people["analyst"]).status_code == 303
    assert post(analyst, f"/incidents/{number}/severity", severity="critical",
                note="spreading").status_code == 303
    assert post(analyst, f"/incidents/{number}/notes", text="Isolated two hosts").status_code == 303
    assert post(analyst, f"/incidents/{number}/tasks", title="Collect images").status_code == 303
    assert post(analyst, f"/incidents/{number}/indicators", type="ipv4",
                value="198.51.100.9").status_code == 303
    assert post(analyst, f"/incidents/{number}/evidence", kind="reference",
                ref="ticket 4711").status_code == 303
    page = analyst.get(f"/incidents/{number}").text
    task = re.search(rf"/incidents/{number}/tasks/(\d+)/done", page)
    assert task
    assert post(analyst, task.group(0)).status_code == 303
    assert post(analyst, f"/incidents/{number}/share", collection="hub").status_code == 303
    page = analyst.get(f"/incidents/{number}").text
    assert "new → acknowledged" in page
    assert "high → critical" in page
    assert "Isolated two hosts" in page
    assert "ticket 4711" in page
    assert "Time to acknowledge" in page
    assert re.search(r"<dt>Time to acknowledge</dt><dd>0 min</dd>", page)
    assert "198.51.100.9" in clients["other"].get("/sharing/objects").text  # TLP:GREEN
    with hub.db.session() as session:
        actions = {e.action for e in audit.search(session, limit=100)}
    assert {"incidents.created", "incidents.status", "incidents.assigned",
            "incidents.severity", "incidents.note", "incidents.task_done",
            "incidents.shared"} <= actions


def test_a_form_mistake_shows_the_incident_again_with_the_reason(
        clients: dict[str, TestClient]) -> None:
    analyst = clients["analyst"]
    number = open_incident(analyst, title="Needs a note")
    answer = post(analyst, f"/incidents/{number}/transition", status="closed")
    assert answer.status_code == 400
    assert "needs one" in answer.text
    assert "Needs a note" in answer.text
    bad = post(analyst, f"/incidents/{number}/indicators", type="ipv4", value="not-an-ip")
    assert bad.status_code == 400
    assert "not a valid indicator" in bad.text
    empty = post(analyst, "/incidents/new", title="", severity="low", category="other",
                 tlp="amber")
    assert empty.status_code == 400
    assert "a title is 1 to" in empty.text


def test_a_member_sees_and_adds_to_its_own_incidents_only(
        hub: Hub, clients: dict[str, TestClient]) -> None:
    number = open_incident(clients["analyst"], title="Member one's")
    theirs = open_incident(clients["analyst"], title="Other's secret", organisations=["other"])
    submitter, reader, other = clients["submitter"], clients["reader"], clients["other"]
    listed = submitter.get("/incidents/").text
    assert "Member one&#39;s" in listed
    assert "Other&#39;s secret" not in listed
    assert submitter.get(f"/incidents/{theirs}").status_code == 404
    assert other.get(f"/incidents/{number}").status_code == 404
    for nonsense in ("99999999999999999999", "2147483648", "-1", "0"):
        assert submitter.get(f"/incidents/{nonsense}").status_code == 404
    page = submitter.get(f"/incidents/{number}").text
    assert "/acknowledge" not in page
    assert f'action="/incidents/{number}/notes"' in page
    assert post(submitter, f"/incidents/{number}/notes", text="We rebooted").status_code == 303
    assert post(submitter, f"/incidents/{number}/acknowledge").status_code == 403
    assert post(submitter, f"/incidents/{number}/share").status_code == 403
    assert post(other, f"/incidents/{number}/notes", text="x").status_code == 404
    assert f'action="/incidents/{number}/notes"' not in reader.get(f"/incidents/{number}").text
    assert post(reader, f"/incidents/{number}/notes", text="x").status_code == 403
    assert reader.get("/incidents/new").status_code == 403
    with hub.db.session() as session:
        refused = {e.action for e in audit.search(session, limit=100)}
    assert {"incidents.status.refused", "incidents.share.refused", "auth.scope_refused"} <= refused


def test_a_member_opens_an_incident_of_its_own(clients: dict[str, TestClient]) -> None:
    submitter = clients["submitter"]
    assert "Affected members" not in submitter.get("/incidents/new").text
    number = open_incident(submitter, title="Our mail server", organisations=[])
    assert "member" in submitter.get(f"/incidents/{number}").text
    assert clients["other"].get(f"/incidents/{number}").status_code == 404
    answer = post(submitter, "/incidents/new", title="Theirs", severity="low",
                  category="other", tlp="amber", organisations="other")
    assert answer.status_code == 400
    assert "of its own only" in answer.text


def test_filters_and_the_panel_put_overdue_first(hub: Hub, clients: dict[str, TestClient]) -> None:
    earlier = FixedClock(hub.clock.now() - timedelta(hours=2))
    with hub.db.session() as session:
        late = service.create(session, earlier, Caller.local("test"), title="Long forgotten",
                              severity="critical", organisations=["member"])
        late_id = late.id
    analyst = clients["analyst"]
    on_time = open_incident(analyst, title="Just in", severity="critical")
    open_incident(analyst, title="Not for member", organisations=["other"])
    overdue = analyst.get("/incidents/?overdue=1").text
    assert "Long forgotten" in overdue
    assert "Just in" not in overdue
    assert "Long forgotten" not in analyst.get("/incidents/?status=closed").text
    assert analyst.get("/incidents/?status=bogus&before=x").status_code == 200
    panel = analyst.get("/").text.split('id="panel-incidents-open"')[1].split("</section>")[0]
    assert panel.index(f"/incidents/{late_id}\"") < panel.index(f"/incidents/{on_time}\"")
    assert 'src="data:image/svg+xml;base64,' in panel
    member_panel = clients["submitter"].get("/").text
    assert "Long forgotten" in member_panel
    assert "Not for member" not in member_panel
    assert "Just in" in member_panel


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_every_page_word_has_japanese(path: Path) -> None:
    japanese = i18n.messages("ja")
    missing = [t for t in page_templates(path) if t not in japanese]
    assert not missing, f"add to src/renkei/incidents/locale/ja/incidents.po: {missing}"


def test_every_page_message_has_japanese() -> None:
    japanese = i18n.messages("ja")
    found = templates(Path(incident_pages.__file__), {"t": 0, "gettext_noop": 0})
    found += list(incident_pages.SEVERITY_COLOURS)
    missing = [t for t in found if t not in japanese]
    assert not missing, f"add to src/renkei/incidents/locale/ja/incidents.po: {missing}"


def test_durations_read_as_a_person_reads_them() -> None:
    t = i18n.translator("en")
    assert incident_pages.duration(t, None) == "-"
    assert incident_pages.duration(t, 59) == "0 min"
    assert incident_pages.duration(t, 3 * 3600 + 120) == "3 h 2 min"
    assert incident_pages.duration(t, 3 * 86400 + 7200) == "3 d 2 h"


def test_an_analyst_opens_an_incident_from_a_shared_record(
        hub: Hub, clients: dict[str, TestClient]) -> None:
    """The record's page offers it; the form's empty choices take the record's own values."""
    import uuid

    from renkei.core import members
    from renkei.core.tlp import Tlp
    from renkei.sharing import service as sharing
    from renkei.sharing import taxii

    stix_id = f"indicator--{uuid.uuid4()}"
    with hub.db.session() as session:
        the_hub = orgs.require(session, "hub")
        staff = members.Principal(organisation_id=the_hub.id, organisation_name="hub",
                                  is_hub=True, communities=frozenset(), role=Role.HUB_ANALYST,
                                  scopes=frozenset({Scope.READ, Scope.SUBMIT}))
        bundle = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": [{
            "type": "indicator", "spec_version": "2.1", "id": stix_id,
            "created": "2026-04-01T08:00:00.000Z", "modified": "2026-04-01T08:00:00.000Z",
            "name": "C2 server seen by three members", "pattern_type": "stix",
            "pattern": "[ipv4-addr:value = '203.0.113.78']", "valid_from": "2026-04-01T08:00:00Z",
            "object_marking_refs": [Tlp.GREEN.marking_id]}]}
        sharing.publish_direct(session, hub.clock, staff, bundle, taxii.ensure_default_collection(session, hub.clock))
        session.commit()
    page = clients["analyst"].get(f"/sharing/objects/{stix_id}")
    link = f"/incidents/new?source=shared%3A{stix_id}"
    assert link in page.text
    assert link not in clients["reader"].get(f"/sharing/objects/{stix_id}").text
    assert f'name="source" maxlength="600" value="shared:{stix_id}"' in \
        clients["analyst"].get(link).text
    number = open_incident(clients["analyst"], title="", severity="", category="", tlp="",
                           organisations=[], source=f"shared:{stix_id}")
    shown = clients["analyst"].get(f"/incidents/{number}").text
    assert "C2 server seen by three members" in shown
    assert "TLP:GREEN" in shown
    again = post(clients["analyst"], "/incidents/new", title="", severity="", category="",
                 tlp="", source=f"shared:{stix_id}")
    assert again.status_code == 400
    assert f"is already incident {number}" in again.text, "a record opens one incident"


def test_staff_notify_from_the_page_and_members_may_not(clients: dict[str, TestClient]) -> None:
    number = open_incident(clients["analyst"])
    page = clients["analyst"].get(f"/incidents/{number}").text
    assert f'action="/incidents/{number}/notify"' in page
    assert f'action="/incidents/{number}/notify"' not in clients["submitter"].get(
        f"/incidents/{number}").text
    assert post(clients["analyst"], f"/incidents/{number}/notify").status_code == 303
    assert post(clients["submitter"], f"/incidents/{number}/notify").status_code == 403
