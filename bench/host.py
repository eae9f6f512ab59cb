"""What every benchmark prints first: which machine, and how fast it runs plain Python."""

from __future__ import annotations

import contextlib
import os
import platform
import sqlite3
import time
from pathlib import Path


def machine() -> str:
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 1024 ** 2:.0f} GiB"
    return (f"{model}, {os.cpu_count()} CPUs{memory}, {platform.machine()}; Python "
            f"{platform.python_version()} ({platform.python_implementation()}); SQLite "
            f"{sqlite3.sqlite_version}")


def yardstick() -> float:
    """Millions of pure-Python loop steps per second on one core, best of three: which
    machine the figures came from (hosts of the same kind have differed twofold)."""
    best = 0.0
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for step in range(2_000_000):
            total += step
        best = max(best, 2.0 / (time.perf_counter() - started))
    return best
