"""Take the console screenshots that docs/console.md shows, from a living demo hub.

    python docs/screenshots/take.py [--home DIR] [--only NAME ...] [--out DIR]

Starts ``renkei serve --demo`` (RENKEI_HOME a new temporary folder, or ``--home`` to reuse
a demo seeded before: seeding takes a minute) on a free port, signs in with headless
Chromium (Debian's ``chromium``, driven by Playwright) as the demo's hub analyst, hub
administrator and a member, saves one PNG per page at 1280 px wide, and stops the server.

Not part of the package or of the tests: run it by hand after a change to the console's
look. Needs ``playwright`` (the Python package; the browser is the system's ``chromium``),
Pillow to make the PNGs small (optional), and a Japanese font for the ``ja`` page
(``apt-get install fonts-noto-cjk``). The second factor each demo user enrols is kept in
``HOME/screenshots-totp.json``, so that a reused home can sign in again.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from renkei.console import totp
from renkei.demo.cast import ADMIN, ANALYST, MEMBERS, PASSWORD, submitter

HERE = Path(__file__).resolve().parent
WIDTH = 1280
VIEW_HEIGHT = 800
MAX_HEIGHT = 2400  # a longer page is cut here: the top says what the page is
SEED_TIMEOUT = 900.0
MEMBER = submitter(MEMBERS[0])


@dataclass(frozen=True)
class Shot:
    """One screenshot: who looks, at which page (``path``, or the first link matching
    ``link`` on ``path``), in which language."""

    name: str
    user: str
    path: str
    link: str = ""
    lang: str = "en"
    caption: str = ""


SHOTS: tuple[Shot, ...] = (
    Shot("sign-in", "", "/login", caption="Sign-in"),
    Shot("overview-en", ANALYST, "/", caption="Overview (hub analyst)"),
    Shot("overview-ja", ANALYST, "/", lang="ja", caption="Overview in Japanese"),
    Shot("logs-alerts", ANALYST, "/logs/alerts", caption="Web-log alerts"),
    Shot("logs-report", ANALYST, "/logs/", link="a[href^='/logs/sources/']",
         caption="A web log's report"),
    Shot("sensors-trends", ANALYST, "/sensors/", caption="Sensor trends"),
    Shot("sensors-rises", ANALYST, "/sensors/rises", caption="Rises and campaigns"),
    Shot("vulns-search", ANALYST, "/vulns/?q=acme", caption="Vulnerability search"),
    Shot("vulns-matches", ANALYST, "/vulns/alerts", caption="Matches against members' assets"),
    Shot("vulns-detail", ANALYST, "/vulns/?q=acme", link="main a[href^='/vulns/v/']",
         caption="A vulnerability"),
    Shot("sharing-review", ANALYST, "/sharing/?state=sanitised",
         link="main a[href^='/sharing/submissions/']",
         caption="Reviewing a report: the sanitisation diff"),
    Shot("sharing-objects", ANALYST, "/sharing/objects", caption="Shared objects"),
    Shot("incidents-list", ANALYST, "/incidents/", caption="Incidents"),
    Shot("incident-detail", ANALYST, "/incidents/?status=contained", link="main td a[href^='/incidents/']",
         caption="An incident"),
    Shot("plan-board", ANALYST, "/plan/", caption="Measures board"),
    Shot("plan-comments", ANALYST, "/plan/comments", caption="Public comments"),
    Shot("plan-consultation", ANALYST, "/plan/comments",
         link="main a[href^='/plan/consultations/']", caption="A consultation"),
    Shot("plan-years", ANALYST, "/plan/years", caption="Fiscal years"),
    Shot("plan-audits", ANALYST, "/plan/audits", caption="Audits"),
    Shot("admin-users", ADMIN, "/admin/users", caption="Administration: users"),
    Shot("member-overview", MEMBER, "/", caption="Overview (member submitter)"),
    Shot("member-vulns", MEMBER, "/vulns/alerts", caption="A member's own matches"),
    Shot("member-suppressions", MEMBER, "/vulns/suppressions",
         caption="A member's suppressions"),
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def demo_server(home: Path) -> Iterator[str]:
    """``renkei serve --demo`` on a free port (no new data while shooting), its URL once
    it answers; stopped at the end."""
    port = free_port()
    log = (home / "screenshots-serve.log").open("w")
    env = os.environ | {"RENKEI_HOME": str(home)}
    server = subprocess.Popen(
        [sys.executable, "-m", "renkei", "serve", "--demo", "--demo-every", "0",
         "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SEED_TIMEOUT
        while True:
            if server.poll() is not None:
                raise SystemExit(f"renkei serve --demo stopped; see {log.name}")
            if time.monotonic() > deadline:
                raise SystemExit(f"the demo did not answer in {SEED_TIMEOUT:.0f} s")
            try:
                with urllib.request.urlopen(f"{url}/login", timeout=5):  # noqa: S310  (http://127.0.0.1)
                    break
            except (urllib.error.URLError, OSError):
                time.sleep(1)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


class Secrets:
    """The TOTP secret each demo user enrolled, kept beside the demo for the next run."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.known: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}

    def keep(self, email: str, secret: str) -> None:
        self.known[email] = secret
        self.path.write_text(json.dumps(self.known, indent=1))


def fresh_code(secret: str) -> str:
    """A code of a time step no earlier sign-in used (one step is accepted only once)."""
    time.sleep(30 - time.time() % 30 + 0.5)
    return totp.code_at(secret, datetime.now(UTC))


def sign_in(browser: Any, url: str, email: str, secrets: Secrets) -> Any:
    """A browser context of its own, signed in as ``email`` (enrolling the second factor
    the first time)."""
    context = browser.new_context(viewport={"width": WIDTH, "height": VIEW_HEIGHT})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/login/*")
    if "/login/enrol" in page.url:
        secret = page.inner_text("#totp-secret").replace(" ", "")
        secrets.keep(email, secret)
        page.fill("input[name=code]", totp.code_at(secret, datetime.now(UTC)))
    elif email in secrets.known:
        page.fill("input[name=code]", fresh_code(secrets.known[email]))
    else:
        raise SystemExit(f"{email} has a second factor this script does not know: "
                         "use a new --home")
    page.click("main button[type=submit]")
    page.wait_for_url(lambda u: "/login" not in u)
    return context


def set_language(page: Any, lang: str) -> None:
    """The header's language switch, when the page is in the other language."""
    button = page.locator(f"header button[name=lang][value={lang}]")
    if button.count():
        button.click()
        page.wait_for_load_state()


def save(page: Any, path: Path) -> None:
    """The whole page (cut at MAX_HEIGHT), as a small PNG."""
    height = min(MAX_HEIGHT, int(page.evaluate("document.documentElement.scrollHeight")))
    page.screenshot(path=str(path), full_page=True,
                    clip={"x": 0, "y": 0, "width": WIDTH, "height": height})
    try:
        from PIL import Image
    except ImportError:
        return
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)


def shoot(page: Any, url: str, shot: Shot, out: Path) -> None:
    page.goto(url + shot.path)
    if shot.link:
        found = page.locator(shot.link)
        if not found.count():
            print(f"{shot.name}: no link {shot.link!r} on {shot.path}", file=sys.stderr)
            return
        found.first.click()
        page.wait_for_load_state()
    set_language(page, shot.lang)
    save(page, out / f"{shot.name}.png")
    print(f"{shot.name}.png  {page.url.removeprefix(url)}")
    set_language(page, "en")  # the language is kept on the user


def take(url: str, home: Path, out: Path, names: set[str]) -> None:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("no chromium on PATH (apt-get install chromium)")
    secrets = Secrets(home / "screenshots-totp.json")
    wanted = [s for s in SHOTS if not names or s.name in names]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True)
        contexts: dict[str, Any] = {}
        for shot in wanted:
            if shot.user not in contexts:
                contexts[shot.user] = (
                    sign_in(browser, url, shot.user, secrets) if shot.user else
                    browser.new_context(viewport={"width": WIDTH, "height": VIEW_HEIGHT}))
            context = contexts[shot.user]
            page = context.pages[0] if context.pages else context.new_page()
            shoot(page, url, shot, out)
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, help="RENKEI_HOME to reuse (default: a new "
                        "temporary one, removed at the end)")
    parser.add_argument("--out", type=Path, default=HERE, help="where the PNGs go")
    parser.add_argument("--only", nargs="*", default=[], metavar="NAME",
                        choices=[s.name for s in SHOTS], help="only these screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with contextlib_home(args.home) as home, demo_server(home) as url:
        take(url, home, args.out, set(args.only))
    total = sum(p.stat().st_size for p in args.out.glob("*.png"))
    print(f"{total / 1e6:.2f} MB of PNG in {args.out}")


@contextmanager
def contextlib_home(home: Path | None) -> Iterator[Path]:
    if home is not None:
        home.mkdir(parents=True, exist_ok=True)
        yield home.resolve()
        return
    with tempfile.TemporaryDirectory(prefix="renkei-screenshots-") as folder:
        yield Path(folder)


if __name__ == "__main__":
    main()
