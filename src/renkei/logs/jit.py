"""Compiling the log kernels once per machine, not once per process.

numba keeps what it compiles next to the source (``__pycache__``), else in the user's cache
directory. A hub installed read-only and run by a user without a writable home has
neither, and ``cache=True`` then fails at import; so when the package's own directory is
not writable, the kernels are kept under ``$RENKEI_HOME/cache/numba`` (the hub's data
directory, which the hub writes anyway), and when no place at all can be written, they are
compiled in each process instead (about ten seconds at the first scan), silently.
``NUMBA_CACHE_DIR``, when set, is left to decide.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numba
from numba import njit

F = TypeVar("F", bound=Callable[..., Any])
PACKAGE = Path(__file__).parent  # where the kernels' sources are


def writable(folder: Path) -> bool:
    """Whether files can be made in ``folder`` (made if missing)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def cache_dir(package: Path, home: str | None) -> Path | None:
    """Where the kernels of ``package`` should be kept when numba's own first choice (the
    package's ``__pycache__``) cannot be written: ``home``'s ``cache/numba``; None to
    leave numba to its defaults."""
    if writable(package / "__pycache__") or not home:
        return None
    folder = Path(home).expanduser() / "cache" / "numba"
    return folder if writable(folder) else None


def use_renkei_home(package: Path = PACKAGE) -> None:
    """Point numba's cache at RENKEI_HOME when the package's folder is read-only (before
    the first kernel is defined; a ``NUMBA_CACHE_DIR`` of the user's own wins)."""
    if os.environ.get("NUMBA_CACHE_DIR") or numba.config.CACHE_DIR:  # type: ignore[attr-defined]
        return
    found = cache_dir(package, os.environ.get("RENKEI_HOME"))
    if found is not None:
        numba.config.CACHE_DIR = str(found)  # type: ignore[attr-defined]


def kernel(**options: Any) -> Callable[[F], F]:
    """``njit(cache=True, **options)``, or without the cache when numba has nowhere to keep
    it (it refuses at definition time): slower to start, the same results."""
    def compile_(function: F) -> F:
        try:
            return njit(cache=True, **options)(function)  # type: ignore[no-any-return]
        except RuntimeError:  # "cannot cache function …: no locator available"
            return njit(**options)(function)  # type: ignore[no-any-return]
    return compile_

