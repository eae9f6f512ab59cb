"""Members' web-server access logs: one day's file per member, from ``logs.synth``.

Attacks rise over the month (the last week is busier), so the alert chart has a trend.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from renkei.demo.cast import MEMBERS, Member
from renkei.logs import synth

DAYS = 30
LINES_PER_DAY = 240
LIVING_LINES = 40


@dataclass(frozen=True)
class AccessLog:
    """One log file to write and scan for ``member``."""

    member: Member
    name: str
    text: str
    ends: datetime  # the last line's time (at most): when the file can be scanned


def attack_ratio(day: int, days: int = DAYS) -> float:
    """Share of attack lines on ``day`` (0 is the oldest): rising, busier in the last week."""
    base = 0.02 + 0.04 * day / max(1, days - 1)
    return base + (0.05 if day >= days - 7 else 0.0)


def day_logs(now: datetime, day: int, days: int = DAYS) -> list[AccessLog]:
    """The logs of day ``day`` (0 is ``days - 1`` days before ``now``), one per member
    with a web site; each starts at a different hour of that day and never after ``now``."""
    out = []
    web = [m for m in MEMBERS if m.web_logs]
    for index, member in enumerate(web):
        midnight = (now - timedelta(days=days - 1 - day)).replace(hour=0, minute=0, second=0,
                                                                  microsecond=0)
        start = midnight + timedelta(hours=(3 + 4 * index + day) % 24)
        latest = now - timedelta(hours=1, minutes=10 * index)
        start = min(start, latest)
        lines = LINES_PER_DAY + 40 * ((day + index) % 4)
        text = "".join(synth.generate(lines, seed=day * 97 + index, start=start,
                                      attack_ratio=attack_ratio(day, days)))
        out.append(AccessLog(member, f"{member.slug}-{start:%Y%m%d-%H}.access.log", text,
                             start + timedelta(minutes=5)))
    return out


def living_log(now: datetime, step: int) -> AccessLog:
    """A few minutes of one member's traffic, just before ``now``, busy with attacks."""
    web = [m for m in MEMBERS if m.web_logs]
    member = web[step % len(web)]
    start = now - timedelta(minutes=2)
    text = "".join(synth.generate(LIVING_LINES, seed=10_000 + step, start=start,
                                  attack_ratio=0.25))
    return AccessLog(member, f"{member.slug}-live-{start:%Y%m%d-%H%M%S}-{step}.access.log",
                     text, now)
