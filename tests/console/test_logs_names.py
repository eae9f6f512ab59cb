"""A log scanned on the hub's server (``renkei logs scan --org``) is named on the member's
pages by its file name only: the folder it lay in is the hub's. The hub's staff see the
path, which tells them which file it was."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from renkei.logs import upload
from renkei.logs.service import scan_logs
from tests.console.conftest import Hub

FOLDER = "srv-hub-only-folder"
LINES = [
    '198.51.100.23 - - [10/Mar/2026:13:55:36 +0900] "GET /item.php?id=1%27%20UNION%20SELECT'
    '%20password%20FROM%20users-- HTTP/1.1" 200 1234 "-" "Mozilla/5.0"',
    '192.0.2.1 - - [10/Mar/2026:13:56:00 +0900] "GET / HTTP/1.1" 200 99 "-" "Mozilla/5.0"',
]


@pytest.fixture(scope="module")
def log_path(hub: Hub, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The member's log, scanned for it from a folder of the hub's server."""
    path = tmp_path_factory.mktemp("names") / FOLDER / "access.log"
    path.parent.mkdir()
    path.write_text("\n".join(LINES) + "\n")
    result = scan_logs([path], upload.scanner(), hub.clock, database=hub.db,
                       organisation="member", show_progress=False)
    assert result.stored >= 1
    return path


def _pages(client: TestClient) -> dict[str, str]:
    """Every logs page that names the log, by its path."""
    index = client.get("/logs/").text
    log = re.search(r'href="(/logs/sources/\d+)"', index)
    alerts = client.get("/logs/alerts").text
    alert = re.search(r'href="(/logs/alerts/\d+)"', alerts)
    assert log is not None
    assert alert is not None
    paths = ["/logs/", "/logs/alerts", alert.group(1), log.group(1), f"{log.group(1)}/report.html"]
    answers = {path: client.get(path) for path in paths}
    assert [a.status_code for a in answers.values()] == [200] * len(paths)
    return {path: answer.text for path, answer in answers.items()}


def test_a_member_sees_the_file_name_only(hub: Hub, log_path: Path) -> None:
    client = hub.client()
    hub.sign_in(client, hub.member)
    for path, text in _pages(client).items():
        assert "access.log" in text, path
        assert FOLDER not in text, path
        assert str(log_path.parent.parent) not in text, path


def test_the_hubs_staff_see_where_it_was(hub: Hub, log_path: Path) -> None:
    client = hub.client()
    hub.sign_in(client, hub.admin)
    pages = _pages(client)
    assert str(log_path) in pages["/logs/"]
