"""The first scan of a process waits for no compiling: the kernels come from numba's disk
cache (and give the same results from it), every process that serves the app (each of
``renkei serve --workers N``) warms the upload scanner up in a background thread, once,
and a machine where nothing can be written still scans."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numba
import pytest
import uvicorn
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from renkei.app import create_app
from renkei.cli import app
from renkei.core.config import load_config
from renkei.logs import jit, kernels, upload
from renkei.logs.scan import FileScan, LogScanner
from renkei.logs.synth import generate
from renkei.sharing import stix

DIGEST = textwrap.dedent("""
    import hashlib

    def digest(scan):
        seen = (scan.summary, scan.findings, sorted(scan.issue_counts.items()),
                sorted(scan.requests_per_hour.items()))
        return hashlib.sha256(repr(seen).encode()).hexdigest()
""")


def digest(scan: FileScan) -> str:
    """The whole of a scan's result, as the subprocess below reckons it too."""
    seen = (scan.summary, scan.findings, sorted(scan.issue_counts.items()),
            sorted(scan.requests_per_hour.items()))
    return hashlib.sha256(repr(seen).encode()).hexdigest()


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    path = tmp_path / "access.log"
    lines = "".join(generate(500, seed=7, attack_ratio=0.1))
    path.write_bytes(lines.encode() + b"\xff\xfe broken\nnot a log line\n")
    return path


@pytest.mark.skipif(not jit.writable(jit.PACKAGE / "__pycache__"),
                    reason="numba cannot keep the kernels next to their source here")
def test_a_new_process_loads_the_kernels_from_the_cache_and_scans_alike(
        scanner: LogScanner, sample: Path) -> None:
    here = scanner.scan_file(sample, name="access.log")  # compiles, or loads, and keeps them
    assert here.findings
    script = DIGEST + textwrap.dedent(f"""
        import json
        from pathlib import Path
        from renkei.logs import kernels
        from renkei.logs.scan import LogScanner

        scan = LogScanner().scan_file(Path({str(sample)!r}), name="access.log")
        stats = kernels.parse_access_lines.stats
        print(json.dumps({{"digest": digest(scan), "hits": sum(stats.cache_hits.values()),
                           "misses": sum(stats.cache_misses.values())}}))
    """)
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, check=False, timeout=900)
    assert done.returncode == 0, done.stderr
    there = json.loads(done.stdout.strip().splitlines()[-1])
    assert there == {"digest": digest(here), "hits": 1, "misses": 0}


def test_the_month_table_is_no_argument_of_the_kernel() -> None:
    """A default array argument is keyed by its identity, new in each process, so numba's
    cache never matched and every process compiled the parser again."""
    assert kernels.parse_access_lines.py_func.__defaults__ is None


def test_the_warm_up_compiles_the_rules_and_scans_a_sample() -> None:
    scan = upload.warm_up()
    assert scan.summary.lines == upload.WARM_UP_LINES + 1
    assert scan.findings
    assert sum(scan.issue_counts.values()) == 1
    assert upload.scanner.cache_info().currsize == 1
    assert upload.warm_up() is not scan  # again: the same scanner, no harm


def test_the_warm_up_runs_in_a_background_thread() -> None:
    thread = upload.warm_up_in_background()
    assert thread.daemon
    thread.join(timeout=900)
    assert not thread.is_alive()
    assert upload.scanner.cache_info().currsize == 1


def test_a_failed_warm_up_is_logged_not_raised(monkeypatch: pytest.MonkeyPatch,
                                               caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> FileScan:
        raise RuntimeError("no Hyperscan here")

    monkeypatch.setattr(upload, "warm_up", broken)
    with caplog.at_level(logging.WARNING, logger=upload.__name__):
        thread = upload.warm_up_in_background()
        thread.join(timeout=60)
    assert "warming the log scanner up failed" in caplog.text


def test_serve_starts_the_warm_up(renkei_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[str] = []
    served: list[Any] = []

    def warm() -> None:
        started.append("warm-up")

    def run(target: Any, **_options: Any) -> None:
        served.append(target)

    monkeypatch.setattr(upload, "warm_up_in_background", warm)
    monkeypatch.setattr(uvicorn, "run", run)
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 0, result.output
    assert started == ["warm-up"]
    assert len(served) == 1


def _unwritable(tmp_path: Path) -> Path:
    """A folder no one can make: its parent is a file (root ignores permission bits)."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    return blocker / "package"


def test_the_cache_goes_to_renkei_home_only_when_the_package_is_read_only(
        tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert jit.cache_dir(tmp_path / "package", str(home)) is None  # numba's own choice
    assert jit.cache_dir(_unwritable(tmp_path), str(home)) == home / "cache" / "numba"
    assert (home / "cache" / "numba").is_dir()
    assert jit.cache_dir(_unwritable(tmp_path), None) is None
    assert jit.cache_dir(_unwritable(tmp_path), str(_unwritable(tmp_path))) is None


def test_numba_is_pointed_at_renkei_home_unless_told_otherwise(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(numba.config, "CACHE_DIR", "")
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("RENKEI_HOME", str(tmp_path / "home"))
    jit.use_renkei_home(tmp_path / "writable")
    assert numba.config.CACHE_DIR == ""  # type: ignore[attr-defined]
    jit.use_renkei_home(_unwritable(tmp_path))
    chosen = numba.config.CACHE_DIR  # type: ignore[attr-defined]
    assert chosen == str(tmp_path / "home" / "cache" / "numba")

    monkeypatch.setattr(numba.config, "CACHE_DIR", "")
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "mine"))
    jit.use_renkei_home(_unwritable(tmp_path))
    assert numba.config.CACHE_DIR == ""  # type: ignore[attr-defined]


def test_a_kernel_with_nowhere_to_be_kept_is_compiled_anyway() -> None:
    namespace: dict[str, Any] = {}
    exec("def twice(x):\n    return 2 * x\n", namespace)  # no source file: nowhere to cache
    with pytest.raises(RuntimeError):
        numba.njit(cache=True)(namespace["twice"])
    assert jit.kernel(nogil=True)(namespace["twice"])(21) == 42


@pytest.fixture
def ran(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The warm-ups run from here on, with none started before (the real one not run)."""
    runs: list[str] = []
    monkeypatch.setattr(upload, "warm_up", lambda: runs.append("warm-up"))
    monkeypatch.setattr(upload, "_warm_ups", {})
    return runs


def test_a_process_warms_up_once(ran: list[str]) -> None:
    first = upload.warm_up_in_this_process()
    assert upload.warm_up_in_this_process() is first
    first.join(timeout=60)
    assert upload.warm_up_in_this_process() is first  # done is done
    assert ran == ["warm-up"]


def test_serving_after_serve_warmed_up_starts_no_second_warm_up(ran: list[str]) -> None:
    by_serve = upload.warm_up_in_background()
    assert upload.warm_up_in_this_process() is by_serve
    by_serve.join(timeout=60)
    assert ran == ["warm-up"]


@pytest.mark.parametrize(("options", "warms"), [
    ({}, True),  # as `renkei serve` and each of its --workers build it
    ({"validation_workers": 1}, False),  # as the tests build theirs, many of them
    ({"validation_workers": 1, "warm_up": True}, True),
    ({"warm_up": False}, False),
])
def test_each_served_app_warms_its_process_up(
        renkei_home: Path, monkeypatch: pytest.MonkeyPatch, options: dict[str, Any],
        warms: bool) -> None:
    started: list[str] = []
    monkeypatch.setattr(upload, "warm_up_in_this_process", lambda: started.append("warm-up"))
    monkeypatch.setattr(stix, "start_workers", lambda count=None: 1)  # no process pool here
    built = create_app(load_config(), **options)
    assert started == []  # building is not starting
    with TestClient(built) as client:
        assert started == (["warm-up"] if warms else [])
        assert client.get("/api/v1/no/such/page").status_code == 404  # served meanwhile
