"""CVSS as published and as computed here, and the priority of a match.

Publishers' scores disagree with their own vectors now and then (a typo, an old
calculator); the hub keeps the publisher's figure and computes its own from the vector with
the ``cvss`` library, and shows both when they differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from cvss import CVSS2, CVSS3, CVSS4
from cvss.exceptions import CVSSError

from renkei.vulns.model import Severity


@dataclass(frozen=True)
class Cvss:
    version: str  # "2.0", "3.0", "3.1", "4.0"
    vector: str
    score: float | None  # the publisher's
    computed: float | None  # ours, from the vector
    publisher: str

    @property
    def best(self) -> float | None:
        return self.score if self.score is not None else self.computed

    @property
    def differs(self) -> bool:
        return None not in (self.score, self.computed) and self.score != self.computed

    def as_json(self) -> dict[str, object]:
        return {"version": self.version, "vector": self.vector, "score": self.best,
                "published_score": self.score, "computed_score": self.computed,
                "differs": self.differs, "publisher": self.publisher}


@lru_cache(maxsize=1 << 16)  # the same vectors recur across thousands of records
def read_cvss(severity: Severity) -> Cvss | None:
    """The severity as CVSS, its score computed from the vector; None when it is not CVSS
    or its vector cannot be read (the publisher's score alone is not a CVSS figure)."""
    vector = (severity.vector or "").strip()
    if not vector:
        return None
    try:
        if vector.startswith("CVSS:4.0/"):
            return Cvss("4.0", vector, severity.score, float(CVSS4(vector).base_score),
                        severity.publisher)
        if vector.startswith(("CVSS:3.0/", "CVSS:3.1/")):
            return Cvss(vector[5:8], vector, severity.score, float(CVSS3(vector).scores()[0]),
                        severity.publisher)
        if severity.scheme == "CVSS_V2" or vector.startswith(("AV:", "(AV:")):
            return Cvss("2.0", vector, severity.score,
                        float(CVSS2(vector.strip("()")).scores()[0]), severity.publisher)
    except (CVSSError, ValueError, KeyError, IndexError):
        return None
    return None


_VERSION_RANK = {"4.0": 3, "3.1": 2, "3.0": 2, "2.0": 1}


def highest_cvss(severities: list[Severity]) -> Cvss | None:
    """The figure a match is prioritised by: the highest score, a newer CVSS version first
    among equal scores."""
    figures = [c for s in severities if (c := read_cvss(s)) is not None and c.best is not None]
    if not figures:
        return None
    return max(figures, key=cvss_rank)


def cvss_rank(figure: Cvss) -> tuple[float, int]:
    """Higher is more urgent: the score, then the newer CVSS version."""
    return (figure.best or 0.0, _VERSION_RANK.get(figure.version, 0))


def priority(cvss: float | None, kev: bool, epss: float | None) -> float:
    """Order of alerts: known exploitation first, then likely exploitation, then severity.
    A number to sort by, not a score to show."""
    return (100.0 if kev else 0.0) + 50.0 * (epss or 0.0) + (cvss or 0.0)
