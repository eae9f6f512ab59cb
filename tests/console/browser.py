"""What the browser tests share: Debian's Chromium through Playwright, the real app served
by uvicorn in a thread, the CSP watch, and signing in with a password and a TOTP code.

Chromium or Playwright missing is a skip, except under CI (``CI`` set), where it is a
failure: CI installs both.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy.orm import Session

from renkei.app import create_app
from renkei.console import totp
from renkei.core.config import load_config
from renkei.core.db import Database
from renkei.core.models import User
from renkei.core.time import Clock, SystemClock
from tests.console.conftest import PASSWORD


def unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run the browser tests")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    executable = shutil.which("chromium")
    if executable is None:
        unavailable("no chromium on PATH (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright package is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True)
        yield browser
        browser.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def with_second_factor(user: User, clock: Clock) -> str:
    """Enrol ``user`` in TOTP directly; returns the secret the test makes codes from."""
    user.totp_secret, user.totp_enabled_at = totp.new_secret(), clock.now()
    return user.totp_secret


@contextmanager
def served(home: Path, database_url: str,
           seed: Callable[[Session, Clock], None]) -> Iterator[str]:
    """The real app under uvicorn, in a thread, on a fresh database that ``seed`` fills
    first; yields its base URL."""
    clock = SystemClock()
    app = create_app(load_config({"RENKEI_HOME": str(home),
                                  "RENKEI_DATABASE_URL": database_url}),
                     clock=clock, validation_workers=1)
    db: Database = app.state.renkei.db
    with db.session() as session:
        seed(session, clock)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def watch_csp(page: Any) -> list[str]:
    """Messages Chromium logs about anything the page's CSP blocked (there must be none)."""
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text)
            if "Content Security Policy" in m.text else None)
    return blocked


def sign_in(page: Any, email: str, secret: str, *, landing: str) -> None:
    """On the sign-in page: the password, then the code of now; waits for ``landing``."""
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/login/totp*")
    page.fill("input[name=code]", totp.code_at(secret, SystemClock().now()))
    page.click("main button[type=submit]")
    page.wait_for_url(landing)
