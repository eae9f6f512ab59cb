"""Types of the logs domain: findings, parse issues and the result of a scan."""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Category(StrEnum):
    """Attack categories; the values are the public ``category`` of ``logs scan --json``."""

    SQLI = "sqli"
    XSS = "xss"
    CMDI = "cmdi"
    TRAVERSAL = "traversal"
    RFI = "rfi"
    CODE_INJECTION = "code-injection"
    JAVA = "java"
    SHELLSHOCK = "shellshock"
    SSTI = "ssti"
    SCANNER = "scanner"
    SENSITIVE_FILE = "sensitive-file"
    BRUTE_FORCE = "brute-force"
    ERROR_ANOMALY = "error-anomaly"


class Severity(StrEnum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {severity: rank for rank, severity in enumerate(Severity)}


class LogFormat(StrEnum):
    COMBINED = "combined"
    COMMON = "common"
    IIS = "iis"
    JSON = "json"


@dataclass(slots=True)
class Finding:
    """One attack sign on one log line (or, for aggregates, the first line of a burst)."""

    file: str
    line: int
    category: Category
    rule: str
    severity: Severity
    src: str
    time: datetime | None
    method: str
    target: str
    status: int | None
    size: int | None
    user_agent: str
    field: str
    fragment: str
    rule_title: str = ""
    engine: str = "renkei"
    succeeded: bool | None = None
    reason: str = ""  # an English template, translated by reports (see reason_text)
    reason_args: dict[str, str | int] = dataclasses.field(default_factory=dict)
    count: int = 1
    related_rules: list[str] = dataclasses.field(default_factory=list)  # same line, same category

    @property
    def reason_text(self) -> str:
        try:
            return self.reason.format(**self.reason_args)
        except (KeyError, IndexError, ValueError):
            return self.reason

    def to_json(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "category": str(self.category),
            "rule": self.rule,
            "severity": str(self.severity),
            "src": self.src,
            "succeeded": self.succeeded,
            "time": self.time.isoformat() if self.time else None,
            "method": self.method,
            "target": self.target,
            "status": self.status,
            "size": self.size,
            "user_agent": self.user_agent,
            "field": self.field,
            "fragment": self.fragment,
            "rule_title": self.rule_title,
            "engine": self.engine,
            "reason": self.reason_text,
            "count": self.count,
            "related_rules": self.related_rules,
        }


@dataclass(slots=True)
class ParseIssue:
    """A line that could not be used (or was used with repairs), and where it was."""

    file: str
    line: int
    reason: str
    sample: str
    skipped: bool = True


@dataclass
class FileSummary:
    file: str
    format: str
    lines: int = 0
    parsed: int = 0
    skipped: int = 0
    bytes_read: int = 0
    error: str = ""


def file_name(path: str) -> str:
    """The last part of a path, POSIX or Windows: what a log file is called, without where
    it was (a server's or a client's folders are no reader's business)."""
    return path.replace("\\", "/").rsplit("/", 1)[-1]


ISSUE_SAMPLE_LIMIT = 1000


@dataclass
class ScanResult:
    """Everything a report needs; built by ``logs.service`` and read by ``logs.report``."""

    files: list[FileSummary] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    issues: list[ParseIssue] = field(default_factory=list)
    issue_counts: Counter[str] = field(default_factory=Counter)
    requests_per_hour: Counter[int] = field(default_factory=Counter)
    started: datetime | None = None
    finished: datetime | None = None
    stored: int = 0

    def add_issue(self, issue: ParseIssue) -> None:
        self.issue_counts[issue.reason] += 1
        if len(self.issues) < ISSUE_SAMPLE_LIMIT:
            self.issues.append(issue)

    def merge_issues(self, samples: list[ParseIssue], counts: Counter[str]) -> None:
        """A file's issues: its counts in full, its samples while there is room."""
        self.issue_counts.update(counts)
        self.issues.extend(samples[: max(ISSUE_SAMPLE_LIMIT - len(self.issues), 0)])

    @property
    def lines(self) -> int:
        return sum(f.lines for f in self.files)

    @property
    def seconds(self) -> float:
        if self.started is None or self.finished is None:
            return 0.0
        return (self.finished - self.started).total_seconds()
