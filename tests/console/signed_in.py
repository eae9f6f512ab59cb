"""Browsers signed in as the people a module's page tests act as, one browser each."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi.testclient import TestClient

from tests.console.conftest import Hub


def browser(hub: Hub, email: str) -> TestClient:
    """A client (cookies of its own) signed in as ``email``, past both factors."""
    client = hub.client()
    assert hub.sign_in(client, email).status_code == 303
    return client


def signed_in(hub: Hub, people: Mapping[str, str]) -> dict[str, TestClient]:
    """A browser for each person, who: e-mail."""
    return {who: browser(hub, email) for who, email in people.items()}
