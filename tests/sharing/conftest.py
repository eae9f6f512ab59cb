"""A real ``renkei serve`` on a seeded hub, shared by the HTTP tests of one worker."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.sharing.hub_world import HubWorld, seed


@dataclass(frozen=True)
class HubServer:
    url: str  # http://127.0.0.1:PORT
    database_url: str
    world: HubWorld

    @property
    def taxii(self) -> str:
        return f"{self.url}/taxii2/"

    @property
    def collection(self) -> str:
        return f"{self.url}/taxii2/hub/collections/{self.world.collection}/"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(home: Path, database_url: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "RENKEI_HOME": str(home), "RENKEI_DATABASE_URL": database_url,
           "RENKEI_LANG": "en"}
    log = (home / "serve.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "renkei", "serve", "--port", str(port)],
                               env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError((home / "serve.log").read_text(errors="replace"))
        try:
            requests.get(f"http://127.0.0.1:{port}/taxii2/", timeout=2)
            return process
        except requests.ConnectionError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("renkei serve did not answer within 60 s")


@pytest.fixture(scope="session")
def hub_database_url(new_database_url: Callable[[str], str]) -> str:
    """A database of the suite's kind for the server (committed data, its own schema)."""
    return new_database_url("hub")


@pytest.fixture(scope="session")
def hub_server(tmp_path_factory: pytest.TempPathFactory,
               hub_database_url: str) -> Iterator[HubServer]:
    world = seed(hub_database_url)
    home = tmp_path_factory.mktemp("hub-home")
    port = free_port()
    process = start_server(home, hub_database_url, port)
    try:
        yield HubServer(f"http://127.0.0.1:{port}", hub_database_url, world)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
