"""`renkei serve --demo` seeds the demo hub in RENKEI_HOME/demo (never the configured
database), prints how to sign in, serves it, and reuses it the next time. The server
itself is uvicorn's: here it returns at once, so the command can be checked end to end."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import inspect
from typer.testing import CliRunner

from renkei.cli import app
from renkei.core.db import make_engine
from renkei.demo.cast import ADMIN, PASSWORD
from renkei.demo.home import DATABASE


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """What uvicorn.run was asked to serve (and whether the living task was running)."""
    calls: list[dict[str, Any]] = []

    def run(target: Any, **options: Any) -> None:
        living = [t for t in threading.enumerate() if t.name == "renkei-demo-living"]
        calls.append({"target": target, "living": bool(living), **options})

    monkeypatch.setattr(uvicorn, "run", run)
    return calls


def test_serve_demo_seeds_once_then_reuses(renkei_home: Path, empty_database_url: str,
                                           served: list[dict[str, Any]]) -> None:
    runner = CliRunner()
    first = runner.invoke(app, ["serve", "--demo", "--port", "8123"])
    assert first.exit_code == 0, first.output
    assert "synthetic" in first.output
    assert ADMIN in first.output
    assert PASSWORD in first.output
    assert "http://127.0.0.1:8123/" in first.output
    assert (renkei_home / "demo" / DATABASE).is_file()
    assert served[0]["living"]
    assert served[0]["port"] == 8123
    assert not [t for t in threading.enumerate() if t.name == "renkei-demo-living"]
    engine = make_engine(empty_database_url)
    try:
        assert inspect(engine).get_table_names() == []  # the user's own database: untouched
    finally:
        engine.dispose()

    again = runner.invoke(app, ["serve", "--demo", "--demo-every", "0"])
    assert again.exit_code == 0, again.output
    assert "--demo-reset" in again.output
    assert not served[1]["living"]


def test_without_demo_nothing_is_seeded(renkei_home: Path,
                                        served: list[dict[str, Any]]) -> None:
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 0, result.output
    assert not (renkei_home / "demo").exists()
    assert "synthetic" not in result.output
