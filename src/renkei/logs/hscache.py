"""Keeping compiled Hyperscan databases on disk, so that a new process (each worker of
``renkei serve --workers N``, each ``renkei logs scan``) loads the rules in milliseconds
instead of compiling them for seconds.

A file under ``$RENKEI_HOME/cache/hyperscan`` is named by a hash of all that shapes the
compiled database: the patterns, their ids and flags, the mode, the Hyperscan version and
the CPU it compiles for; so another rule set, version or machine (a home shared over the
network) looks for another file. The file repeats that key and carries a SHA-256 of the
database: a truncated, garbage or foreign file is a miss, compiled and written again, never
an error, and bytes that fail the digest never reach Hyperscan's loader, which is not safe
against malformed input. A folder that cannot be written only means compiling each time.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import platform
import tempfile
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import hyperscan

from renkei.core.config import ConfigError, load_config

MAGIC = b"renkei hyperscan database 1\n"
MODE = hyperscan.HS_MODE_BLOCK
MAX_BYTES = 256 * 1024 * 1024  # far above any rule set's database; a larger file is not ours
_HEAD = len(MAGIC) + 2 * hashlib.sha256().digest_size
#: CPU features that decide which of its code paths Hyperscan compiles a database for
_CPU_FEATURES = frozenset({"sse3", "ssse3", "sse4_1", "sse4_2", "popcnt", "avx", "avx2",
                           "bmi", "bmi1", "bmi2", "avx512f", "avx512bw", "avx512vl",
                           "avx512vbmi", "avx512_vbmi", "avx512vbmi2", "avx512_vbmi2", "neon",
                           "asimd", "sve", "sve2"})


def folder() -> Path | None:
    """``cache/hyperscan`` in the data directory, as the configuration resolves it; None
    when the configuration cannot be read (the scan then compiles, as it would anyway)."""
    try:
        return load_config().home / "cache" / "hyperscan"
    except (ConfigError, OSError):
        return None


def _cpu_features() -> list[str]:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            for line in fh:
                name, _, value = line.partition(":")
                if name.strip() in ("flags", "Features"):
                    return sorted(_CPU_FEATURES.intersection(value.split()))
    except OSError:
        pass
    return [platform.processor()]


@cache
def platform_key() -> bytes:
    """What a database compiled here depends on besides its rules: the bindings' and the
    library's versions, the features Hyperscan says it compiled a probe for, the machine
    type and its CPU features (the probe alone names only some)."""
    probe = hyperscan.Database(mode=MODE)
    probe.compile(expressions=[b"renkei"], ids=[0], flags=[0])
    return repr((getattr(hyperscan, "__version__", ""), probe.info(), platform.machine(),
                 _cpu_features())).encode()


def key(expressions: Sequence[bytes], ids: Sequence[int], flags: Sequence[int]) -> bytes:
    """The SHA-256 that names the database of these patterns compiled on this platform."""
    digest = hashlib.sha256(MAGIC + platform_key())
    digest.update(repr((MODE, list(ids), list(flags), len(expressions))).encode())
    for expression in expressions:  # length-prefixed: no two lists hash alike by joining
        digest.update(len(expression).to_bytes(8, "little") + expression)
    return digest.digest()


def load(path: Path, wanted: bytes) -> Any | None:
    """The database kept at ``path`` under the key ``wanted``, ready to scan; None for a
    missing, unreadable, truncated, altered or foreign file."""
    try:
        with path.open("rb") as fh:
            if os.fstat(fh.fileno()).st_size > _HEAD + MAX_BYTES:
                return None
            head = fh.read(_HEAD)
            payload = fh.read()
    except OSError:
        return None
    if (len(head) < _HEAD or not head.startswith(MAGIC)
            or head[len(MAGIC):len(MAGIC) + len(wanted)] != wanted
            or hashlib.sha256(payload).digest() != head[len(MAGIC) + len(wanted):]):
        return None
    try:
        db = hyperscan.loadb(payload, MODE)
        db.scratch = hyperscan.Scratch(db)  # loadb leaves none, and a scan needs one
    except (hyperscan.error, TypeError, ValueError):
        return None
    return db


def store(path: Path, wanted: bytes, db: Any) -> bool:
    """Keep ``db`` at ``path`` under the key ``wanted``: written to a temporary file beside
    it, then renamed over it, so that a reader sees the old file or the whole new one.
    False, and nothing left behind, where the folder cannot be written."""
    try:
        payload = hyperscan.dumpb(db)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    except (OSError, hyperscan.error):
        return False
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(MAGIC + wanted + hashlib.sha256(payload).digest() + payload)
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        return False
    return True


def _compile(expressions: Sequence[bytes], ids: Sequence[int], flags: Sequence[int]) -> Any:
    db = hyperscan.Database(mode=MODE)
    db.compile(expressions=list(expressions), ids=list(ids), flags=list(flags))
    return db


def compiled(expressions: Sequence[bytes], ids: Sequence[int], flags: Sequence[int],
             where: Path | None) -> tuple[Any, bool]:
    """The block-mode database of these patterns, and whether it came from the cache in
    ``where`` (None: no cache); compiled, and kept there, when it did not. Raises
    ``hyperscan.error`` as compiling does."""
    if where is None:
        return _compile(expressions, ids, flags), False
    wanted = key(expressions, ids, flags)
    path = where / f"{wanted.hex()}.hsdb"
    db = load(path, wanted)
    if db is not None:
        return db, True
    db = _compile(expressions, ids, flags)
    store(path, wanted, db)
    return db, False
