"""The API's HTTP Basic with a password is no way round the console's door: the same
throttle counts its attempts, and a user with a second factor needs an API token there."""

from __future__ import annotations

import base64

from renkei.console import throttle
from renkei.core.models import Role
from tests.console.conftest import PASSWORD, Hub


def basic(email: str, password: str) -> dict[str, str]:
    pair = base64.b64encode(f"{email}:{password}".encode()).decode()
    return {"Authorization": f"Basic {pair}"}


def whoami(hub: Hub, email: str, password: str = PASSWORD) -> int:
    code: int = hub.client().get("/api/v1/whoami", headers=basic(email, password)).status_code
    return code


def test_a_user_with_a_second_factor_needs_a_token(hub: Hub) -> None:
    email = hub.add_user("member", Role.MEMBER_READER)
    assert whoami(hub, email) == 200, "no second factor yet: the password opens the API"
    hub.sign_in(hub.client(), email)  # enrols the second factor
    assert whoami(hub, email) == 401
    assert whoami(hub, email, "wrong password") == 401, "the same answer as a wrong password"


def test_wrong_passwords_close_both_doors(hub: Hub) -> None:
    email = hub.add_user("member", Role.MEMBER_READER)
    for _ in range(throttle.MAX_PER_ACCOUNT_AND_SOURCE):
        assert whoami(hub, email, "not the password") == 401
    answer = hub.client().get("/api/v1/whoami", headers=basic(email, PASSWORD))
    assert answer.status_code == 429
    assert int(answer.headers["retry-after"]) > 0
    refused = hub.client().post("/login", data={"email": email, "password": PASSWORD})
    assert refused.status_code == 400, "the console's door is closed too"
    hub.tick(int(throttle.WINDOW.total_seconds()) + 1)
    assert whoami(hub, email) == 200


def test_a_right_password_on_a_request_that_fails_later_is_no_failure(hub: Hub) -> None:
    """The forgiving is committed at once: a 404 after sign-in must not count."""
    email = hub.add_user("member", Role.MEMBER_READER)
    for _ in range(throttle.MAX_PER_ACCOUNT_AND_SOURCE + 1):
        missing = hub.client().get("/api/v1/incidents/999999", headers=basic(email, PASSWORD))
        assert missing.status_code == 404
    assert whoami(hub, email) == 200
