"""Members' access logs, a file a day each, written to the demo folder and scanned."""

from __future__ import annotations

from functools import cache

from renkei.core.time import FixedClock
from renkei.demo.data.logs import DAYS, AccessLog, day_logs
from renkei.demo.seed.context import Context
from renkei.logs.scan import LogScanner
from renkei.logs.service import scan_logs


@cache
def scanner() -> LogScanner:
    """One scanner (its rules compiled once) for the seed and every living step."""
    return LogScanner()


def scan(ctx: Context, log: AccessLog, *, keep: bool = True) -> int:
    """Write ``log``, scan it for its member when it ends; returns the new alerts. The file
    is removed afterwards unless ``keep`` (the store remembers it by its first line)."""
    path = ctx.folder("logs") / log.name
    path.write_text(log.text, encoding="utf-8")
    try:
        result = scan_logs([path], scanner(), FixedClock(min(log.ends, ctx.now)),
                           database=ctx.database, organisation=log.member.name,
                           show_progress=False)
    finally:
        if not keep:
            path.unlink(missing_ok=True)
    return result.stored


def seed_logs(ctx: Context) -> int:
    """A month of logs; returns the alerts stored."""
    return sum(scan(ctx, log) for day in range(DAYS) for log in day_logs(ctx.now, day))
