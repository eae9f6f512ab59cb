"""The console refuses what it must: forged forms, foreign redirects, ended users, members
on administration pages; and its answers carry the security headers."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from renkei.console import auth, web
from renkei.core import members
from renkei.core.models import Role
from tests.console.conftest import ORIGIN, PASSWORD, Hub, csrf_of


def signed_in(hub: Hub, email: str | None = None) -> TestClient:
    client = hub.client()
    hub.sign_in(client, email or hub.add_user())
    return client


def test_a_form_without_the_csrf_token_is_refused(hub: Hub) -> None:
    client = signed_in(hub)
    assert client.post("/language", data={"lang": "ja"}).status_code == 403
    assert client.post("/language", data={"lang": "ja", "csrf": "x" * 43}).status_code == 403
    token = csrf_of(client.get("/"))
    assert client.post("/language", data={"lang": "ja"},
                       headers={"X-CSRF-Token": token}).status_code == 303


def test_a_form_from_another_site_is_refused(hub: Hub) -> None:
    client = signed_in(hub)
    token = csrf_of(client.get("/"))
    for origin in ("https://evil.example", "null", ""):
        answer = client.post("/logout", data={"csrf": token}, headers={"Origin": origin})
        assert answer.status_code == 403, origin
    anonymous = TestClient(hub.app, base_url=ORIGIN, follow_redirects=False)
    answer = anonymous.post("/login", data={"email": hub.admin, "password": PASSWORD},
                            headers={"Origin": "https://evil.example"})
    assert answer.status_code == 403
    assert "renkei_session" not in answer.cookies


def test_another_session_s_token_does_not_do(hub: Hub) -> None:
    mine, theirs = signed_in(hub), signed_in(hub)
    answer = mine.post("/logout", data={"csrf": csrf_of(theirs.get("/"))})
    assert answer.status_code == 403


@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example/x", "/\\evil.example", "\\\\evil.example",
    "javascript:alert(1)", "/ok\r\nSet-Cookie: x=1", "", "http:/evil.example"])
def test_next_never_leaves_the_site(hub: Hub, target: str) -> None:
    assert web.local_path(target) == "/"
    client = hub.client()
    email = hub.add_user()
    answer = client.post("/login", data={"email": email, "password": PASSWORD, "next": target})
    assert answer.headers["location"] == "/login/enrol"


def test_next_is_followed_after_sign_in(hub: Hub) -> None:
    client = hub.client()
    assert client.get("/admin/users?x=1").headers["location"] == "/login?next=%2Fadmin%2Fusers%3Fx%3D1"
    email = hub.add_user()
    answer = client.post("/login", data={"email": email, "password": PASSWORD,
                                         "next": "/admin/users?x=1"})
    assert answer.headers["location"] == "/login/enrol?next=%2Fadmin%2Fusers%3Fx%3D1"


@given(st.text(max_size=60))
def test_local_path_answers_only_local_paths(text: str) -> None:
    path = web.local_path(text)
    parts = urlsplit(path)
    assert path.startswith("/")
    assert not path.startswith("//")
    assert "\\" not in path
    assert not parts.scheme
    assert not parts.netloc


def test_a_disabled_user_s_session_ends(hub: Hub) -> None:
    email = hub.add_user()
    client = signed_in(hub, email)
    with hub.db.session() as session:
        members.set_disabled(session, hub.clock, email, True)
    assert client.get("/").headers["location"] == "/login"
    with hub.db.session() as session:
        members.set_disabled(session, hub.clock, email, False)
    assert client.get("/").status_code == 303  # enabling again opens no old session


def test_a_changed_password_or_reset_second_factor_ends_sessions(hub: Hub) -> None:
    email = hub.add_user()
    client = signed_in(hub, email)
    with hub.db.session() as session:
        members.set_password(session, hub.clock, email, PASSWORD + "!")
    assert client.get("/").status_code == 303
    client = hub.client()
    hub.sign_in(client, email, PASSWORD + "!")
    with hub.db.session() as session:
        auth.reset_totp(session, hub.clock, email)
    assert client.get("/").status_code == 303
    answer = client.post("/login", data={"email": email, "password": PASSWORD + "!"})
    assert answer.headers["location"] == "/login/enrol"


def test_a_member_cannot_open_administration(hub: Hub) -> None:
    client = signed_in(hub)
    assert "/admin/" not in client.get("/").text
    for path in ("/admin/organisations", "/admin/users", "/admin/tokens", "/admin/audit"):
        assert client.get(path).status_code == 403, path
    token = csrf_of(client.get("/"))
    answer = client.post("/admin/organisations", data={"csrf": token, "name": "sneaky"})
    assert answer.status_code == 403
    analyst = signed_in(hub, hub.add_user("hub", Role.HUB_ANALYST))
    assert analyst.get("/admin/users").status_code == 403


def test_pages_carry_the_security_headers_and_strict_cookies(hub: Hub) -> None:
    client = hub.client()
    login = client.get("/login")
    csp = login.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert "script-src" not in csp
    assert login.headers["x-frame-options"] == "DENY"
    assert login.headers["x-content-type-options"] == "nosniff"
    assert login.headers["referrer-policy"] == "same-origin"
    answer = client.post("/login", data={"email": hub.add_user(), "password": PASSWORD})
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert "secure" not in cookie
    secure = TestClient(hub.app, base_url="https://testserver",
                        headers={"Origin": "https://testserver"}, follow_redirects=False)
    answer = secure.post("/login", data={"email": hub.add_user(), "password": PASSWORD})
    assert "secure" in answer.headers["set-cookie"].lower()
    api = client.get("/api/v1/no-such-thing")
    assert api.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"


def test_the_stylesheet_is_served_from_the_hub(hub: Hub) -> None:
    css = hub.client().get("/static/console.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")


def test_chart_is_an_image_and_refuses_anything_but_svg() -> None:
    markup = web.chart('<svg xmlns="http://www.w3.org/2000/svg"></svg>', 'a "chart" <b>')
    assert markup.startswith('<img class="chart" alt="a &#34;chart&#34; &lt;b&gt;"')
    with pytest.raises(ValueError, match="svg"):
        web.chart("<script>alert(1)</script>", "x")


def test_nul_characters_never_reach_the_database(hub: Hub) -> None:
    """A NUL in a page's URL is refused; one in a form is dropped (PostgreSQL keeps none)."""
    client = hub.client()
    assert client.get("/login?next=/%00").status_code == 400
    email = hub.add_user()
    hub.sign_in(client, email)
    assert client.get("/admin/audit?actor=x%00y").status_code == 400
    stranger = hub.client()
    answer = stranger.post("/login", data={"email": "a\x00@b.example", "password": "x\x00y"})
    assert answer.status_code == 400  # a wrong password, not a server error


def test_an_anonymous_post_is_sent_to_sign_in_unread(hub: Hub) -> None:
    answer = hub.client().post("/admin/users", data={"email": "x@y.example", "csrf": "x"},
                               files={"file": ("big.bin", b"\0" * 100_000)})
    assert answer.status_code in (303, 403)
