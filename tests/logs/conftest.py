"""Fixtures for the logs tests: a scanner with the bundled rules, and log writers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from renkei.logs.scan import LogScanner


@pytest.fixture(scope="session")
def scanner() -> LogScanner:
    return LogScanner()


@pytest.fixture
def write_log(tmp_path: Path) -> Callable[..., Path]:
    def write(lines: list[str] | bytes, name: str = "access.log") -> Path:
        path = tmp_path / name
        data = lines if isinstance(lines, bytes) else ("\n".join(lines) + "\n").encode()
        path.write_bytes(data)
        return path

    return write


def clf(target: str, *, src: str = "192.0.2.10", status: int = 200, size: int = 1234,
        agent: str = "Mozilla/5.0", referer: str = "-", method: str = "GET",
        when: str = "10/Oct/2025:13:55:36 +0900") -> str:
    return f'{src} - - [{when}] "{method} {target} HTTP/1.1" {status} {size} "{referer}" "{agent}"'
