"""Administration pages: organisations, users, tokens and the audit log, as a hub
administrator uses them; every change is audited with the administrator as the actor."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from renkei.core import audit, members
from renkei.core.models import AuditEvent, User
from tests.console.conftest import PASSWORD, Hub, csrf_of


@pytest.fixture(scope="module")
def admin(hub: Hub) -> TestClient:
    client = hub.client()
    assert hub.sign_in(client, hub.admin).status_code == 303
    return client


def admin_id(hub: Hub) -> int:
    with hub.db.session() as session:
        return members.require_user(session, hub.admin).id


def test_add_an_organisation_and_refuse_a_duplicate(hub: Hub, admin: TestClient) -> None:
    csrf = csrf_of(admin.get("/admin/organisations"))
    answer = admin.post("/admin/organisations",
                        data={"csrf": csrf, "name": "Bank <One>", "communities": "finance, telecom"})
    assert answer.status_code == 303
    page = admin.get("/admin/organisations").text
    assert "Bank &lt;One&gt;" in page
    assert "finance, telecom" in page
    assert "<One>" not in page
    again = admin.post("/admin/organisations", data={"csrf": csrf, "name": "Bank <One>"})
    assert again.status_code == 400
    assert "already exists" in again.text
    with hub.db.session() as session:
        event = audit.search(session, action="orgs.add", limit=1)[0]
        assert event.actor == f"user:{admin_id(hub)}"
        assert event.source.startswith("http:")


def test_add_disable_and_enable_a_user(hub: Hub, admin: TestClient) -> None:
    csrf = csrf_of(admin.get("/admin/users"))
    data = {"csrf": csrf, "email": "new@member.example", "name": "New", "organisation": "member",
            "role": "member-submitter", "password": PASSWORD}
    assert admin.post("/admin/users", data=data).status_code == 303
    assert "new@member.example" in admin.get("/admin/users").text
    wrong = admin.post("/admin/users", data=data | {"email": "x@member.example", "role": "hub-admin"})
    assert wrong.status_code == 400
    assert "role for users of the hub" in wrong.text
    bogus = admin.post("/admin/users", data=data | {"email": "y@member.example", "role": "god"})
    assert bogus.status_code == 400
    assert "roles offered" in bogus.text
    newcomer = hub.client()
    hub.sign_in(newcomer, "new@member.example")
    assert newcomer.get("/").status_code == 200
    admin.post("/admin/users/disable", data={"csrf": csrf, "email": "new@member.example"})
    assert newcomer.get("/").status_code == 303
    admin.post("/admin/users/enable", data={"csrf": csrf, "email": "new@member.example"})
    with hub.db.session() as session:
        user = session.scalar(select(User).where(User.email == "new@member.example"))
        assert user is not None
        assert user.disabled_at is None
    admin.post("/admin/users/totp-reset", data={"csrf": csrf, "email": "new@member.example"})
    answer = newcomer.post("/login", data={"email": "new@member.example", "password": PASSWORD})
    assert answer.headers["location"] == "/login/enrol"


def test_a_token_is_shown_once_then_listed_and_revoked(hub: Hub, admin: TestClient) -> None:
    page = admin.get("/admin/tokens?org=member")
    csrf = csrf_of(page)
    answer = admin.post("/admin/tokens", data={
        "csrf": csrf, "organisation": "member", "scope": ["read", "submit"],
        "expires_days": "30", "label": "feed"})
    assert answer.status_code == 200
    token = re.search(r'id="issued-token">(rk_[^<]+)<', answer.text)
    assert token is not None
    key_id = token.group(1).split("_")[1]
    listing = admin.get("/admin/tokens?org=member").text
    assert key_id in listing
    assert token.group(1) not in listing
    api = TestClient(hub.app)
    assert api.get("/api/v1/sharing/submissions",
                   headers={"Authorization": f"Bearer {token.group(1)}"}).status_code == 200
    answer = admin.post("/admin/tokens/revoke", data={"csrf": csrf, "key_id": key_id})
    assert answer.headers["location"] == "/admin/tokens?org=member"
    assert api.get("/api/v1/sharing/submissions",
                   headers={"Authorization": f"Bearer {token.group(1)}"}).status_code == 401
    refused = admin.post("/admin/tokens", data={"csrf": csrf, "organisation": "member",
                                                "scope": "admin", "expires_days": "30"})
    assert refused.status_code == 400
    assert "not allowed" in refused.text


def test_the_audit_log_filters_and_pages(hub: Hub, admin: TestClient) -> None:
    actor = f"user:{admin_id(hub)}"
    page = admin.get("/admin/audit", params={"actor": actor, "action": "console.signin"})
    assert page.status_code == 200
    assert "console.signin" in page.text
    with hub.db.session() as session:
        for n in range(55):
            audit.record(session, hub.clock, action="test.paging", target=f"n:{n}")
    first = admin.get("/admin/audit", params={"action": "test.paging"})
    assert first.text.count("<td>test.paging</td>") == 50
    assert "n:54" in first.text
    older = re.search(r'href="(/admin/audit\?[^"]*before=\d+)"', first.text)
    assert older is not None
    second = admin.get(older.group(1).replace("&amp;", "&"))
    assert second.text.count("<td>test.paging</td>") == 5
    assert "n:0" in second.text
    assert admin.get("/admin/audit", params={"since": "2999-01-01"}).text.count("<tr>") == 2
    assert admin.get("/admin/audit", params={"before": "9" * 40, "since": "junk"}).status_code == 200


def test_the_overview_shows_recent_audit_events_to_admins(hub: Hub, admin: TestClient) -> None:
    page = admin.get("/").text
    assert 'id="panel-audit"' in page
    assert 'href="/admin/organisations"' in page


def test_pages_speak_the_user_s_language(hub: Hub) -> None:
    client = hub.client()
    email = hub.add_user()
    hub.sign_in(client, email)
    answer = client.post("/language", data={"csrf": csrf_of(client.get("/")), "lang": "ja",
                                            "next": "https://evil.example/"})
    assert answer.headers["location"] == "/"
    assert "あなたのアカウント" in client.get("/").text
    with hub.db.session() as session:
        assert session.scalar(select(User.locale).where(User.email == email)) == "ja"
        assert session.scalar(select(AuditEvent.action).order_by(AuditEvent.id.desc())
                              .limit(1)) == "users.language"
    bad = client.post("/language", data={"csrf": csrf_of(client.get("/")), "lang": "fr"})
    assert bad.status_code == 400
    assert "fr" in bad.text
    login = hub.client().get("/login?lang=ja")
    assert "サインイン" in login.text
    assert "renkei_lang=ja" in login.headers["set-cookie"]
