"""Scanning one log file end to end, streaming: read → parse → detect → judge.

No database here: ``service.py`` stores what this returns.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from renkei.core.memory import paused_gc
from renkei.core.progress import ByteProgress
from renkei.logs import kernels
from renkei.logs.aggregate import BruteForce, PathSizes, SourceErrors, Thresholds
from renkei.logs.detect import ParsedBlock, RuleEngine, make_finding, match_signatures, parse_block
from renkei.logs.judge import judge
from renkei.logs.model import (
    ISSUE_SAMPLE_LIMIT,
    Category,
    FileSummary,
    Finding,
    LogFormat,
    ParseIssue,
    Severity,
)
from renkei.logs.read import (
    BLOCK_BYTES,
    PARSE_ERRORS,
    BlockReader,
    IISTranslator,
    LogReadError,
    detect_format,
    fingerprint,
    open_decompressed,
    peek,
    sample,
    translate_block,
)
from renkei.logs.rules import Rule, load_rules

if TYPE_CHECKING:
    from renkei.logs.sigma import SigmaRuleSet

DEFAULT_MAX_LINE = 256 * 1024
FIRST_HOUR, LAST_HOUR = -62135596800 // 3600 + 24, 253402300799 // 3600 - 24  # years 1..9999
MAX_HOURS = 200_000
SIGMA_LEVELS = {"informational": Severity.INFO, "low": Severity.LOW, "medium": Severity.MEDIUM,
                "high": Severity.HIGH, "critical": Severity.CRITICAL}


@dataclass
class FileScan:
    summary: FileSummary
    fingerprint: str
    findings: list[Finding] = field(default_factory=list)
    issues: list[ParseIssue] = field(default_factory=list)  # the first ISSUE_SAMPLE_LIMIT
    issue_counts: Counter[str] = field(default_factory=Counter)
    requests_per_hour: Counter[int] = field(default_factory=Counter)

    def count_requests(self, epoch: np.ndarray) -> None:
        """Requests per hour, for the report's chart; hours a datetime cannot hold, and new
        hours past a bound (a hostile file can date every line differently), are left out."""
        hours, counts = np.unique(epoch // 3600, return_counts=True)
        keep = (hours > FIRST_HOUR) & (hours < LAST_HOUR)
        for hour, count in zip(hours[keep].tolist(), counts[keep].tolist(), strict=True):
            if hour in self.requests_per_hour or len(self.requests_per_hour) < MAX_HOURS:
                self.requests_per_hour[hour] += count

    def add_issue(self, issue: ParseIssue) -> None:
        """Count every problem line; keep a bounded sample of them, whatever the file."""
        self.issue_counts[issue.reason] += 1
        if issue.skipped:
            self.summary.skipped += 1
        if len(self.issues) < ISSUE_SAMPLE_LIMIT:
            self.issues.append(issue)


class LogScanner:
    """Holds the compiled rules; scan as many files as needed with one instance."""

    def __init__(self, rules: list[Rule] | None = None, *, sigma: SigmaRuleSet | None = None,
                 thresholds: Thresholds | None = None, max_line: int = DEFAULT_MAX_LINE,
                 use_hyperscan: bool = True, block_bytes: int = BLOCK_BYTES) -> None:
        self.rules = load_rules() if rules is None else rules
        self.engine = RuleEngine(self.rules, use_hyperscan=use_hyperscan)
        self.sigma = sigma
        self.thresholds = thresholds or Thresholds()
        self.max_line = max_line
        self.block_bytes = block_bytes

    def scan_file(self, path: Path, fmt: LogFormat | None = None,
                  progress: ByteProgress | None = None, name: str | None = None) -> FileScan:
        with paused_gc():
            return self._scan_file(path, fmt, progress, name)

    def _scan_file(self, path: Path, fmt: LogFormat | None,
                   progress: ByteProgress | None, name: str | None) -> FileScan:
        label = name or str(path)
        if not path.is_file():
            raise LogReadError(f"{label}: no such file")
        source, _compression, raw = open_decompressed(path)
        with raw:
            size = max(65536, self.max_line + 1)
            head, stream = peek(source, size)
            if len(head) >= size:  # the last line of the head may be cut: leave it out
                head = head[: head.rfind(b"\n") + 1]
            cr_only = b"\n" not in head and b"\r" in head
            if cr_only:
                head = head.replace(b"\r", b"\n")
            fmt = fmt or detect_format(head, self.max_line)
            if fmt is None:
                first = sample(head.split(b"\n", 1)[0])
                raise LogReadError(
                    f"{label}: not a recognised access-log format (combined, common, IIS W3C, "
                    f"JSON lines); first line: {first!r}")
            result = FileScan(FileSummary(label, str(fmt)), fingerprint(head))
            if progress is not None:
                progress.start(Path(label).name, path.stat().st_size)
            self._scan_stream(stream, fmt, label, result, progress, raw, cr_only)
            broken = getattr(source, "error", "")
            if broken:
                result.summary.error = broken.replace(str(path), label)
        return result

    def _scan_stream(self, stream: object, fmt: LogFormat, label: str, result: FileScan,
                     progress: ByteProgress | None, raw: object, cr_only: bool) -> None:
        reader = BlockReader(label, stream, self.max_line, result.add_issue,  # type: ignore[arg-type]
                             block_bytes=self.block_bytes, cr_only=cr_only)
        iis = IISTranslator() if fmt is LogFormat.IIS else None
        errors, sizes = SourceErrors(), PathSizes()
        brute = BruteForce(self.thresholds, label)
        pending: list[tuple[Finding, int]] = []
        position = 0
        for source_block in reader:
            block = source_block
            if fmt in (LogFormat.IIS, LogFormat.JSON):  # sets source_block.count
                block = translate_block(source_block, fmt, label, iis, result.add_issue)
            parsed = parse_block(block.data, block.first_line, self.max_line, block.lines)
            if source_block.count is None:
                source_block.count = len(parsed)
            result.summary.lines += source_block.count
            self._report_bad_lines(parsed, label, block.data, result)
            usable = parsed.error == 0
            hits = match_signatures(parsed, self.engine, label)
            with_finding = np.zeros(len(parsed), dtype=bool)
            for index, finding in hits.findings:
                with_finding[index] = True
                pending.append((finding, int(parsed.path_hash[index])))
            if self.sigma is not None:
                for index, finding in self._sigma_findings(parsed, usable, label):
                    with_finding[index] = True
                    pending.append((finding, int(parsed.path_hash[index])))
            errors.update(parsed, usable)
            sizes.update(parsed, usable & ~with_finding)
            brute.update(parsed, hits.login_lines, usable)
            result.count_requests(parsed.epoch[usable])
            result.summary.parsed += int(usable.sum())
            if progress is not None:
                now = raw.tell()  # type: ignore[attr-defined]
                progress.advance(now - position)
                position = now
        result.summary.error = reader.error
        result.summary.bytes_read = reader.bytes_read
        result.summary.lines += reader.skipped_lines
        hashes = np.fromiter((h for _f, h in pending), dtype=np.uint64, count=len(pending))
        for (finding, _hash), baseline in zip(pending, sizes.baselines(hashes), strict=True):
            finding.succeeded, finding.reason, finding.reason_args = judge(finding, baseline)
            result.findings.append(finding)
        result.findings.extend(brute.found)
        result.findings.extend(errors.findings(label, self.thresholds))
        result.findings.sort(key=lambda f: (f.line, f.rule))
        if progress is not None:
            progress.finish()

    @staticmethod
    def _report_bad_lines(parsed: ParsedBlock, label: str, data: bytes, result: FileScan) -> None:
        for index in np.flatnonzero(parsed.error > kernels.BLANK).tolist():
            result.add_issue(ParseIssue(label, int(parsed.line_numbers[index]),
                                        PARSE_ERRORS[int(parsed.error[index])],
                                        sample(parsed.raw_line(index))))
        if data.isascii():
            return
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            bad = kernels.invalid_utf8_lines(parsed.buf, parsed.line_start, parsed.line_end)
            for index in np.flatnonzero(bad & (parsed.error == 0)).tolist():
                result.add_issue(ParseIssue(
                    label, int(parsed.line_numbers[index]),
                    "invalid UTF-8 (analysed with the bytes escaped)",
                    sample(parsed.raw_line(index)), skipped=False))

    def _sigma_findings(self, parsed: ParsedBlock, usable: np.ndarray,
                        label: str) -> list[tuple[int, Finding]]:
        assert self.sigma is not None
        index = np.flatnonzero(usable)
        if not len(index):
            return []
        rows = index.tolist()
        targets = parsed.column(index, kernels.TARGET)
        sizes = parsed.size[index]
        frame = pl.DataFrame({
            "src": parsed.column(index, kernels.SRC),
            "method": parsed.column(index, kernels.METHOD),
            "target": targets,
            "path": [t.split("?", 1)[0] for t in targets],
            "query": [t.split("?", 1)[1] if "?" in t else "" for t in targets],
            "protocol": parsed.column(index, kernels.PROTO),
            "status": pl.Series(parsed.status[index].astype(np.int64), dtype=pl.Int64),
            "size": pl.Series(np.where(sizes >= 0, sizes, 0), dtype=pl.Int64)
            .set(pl.Series(sizes < 0), None),
            "referer": parsed.column(index, kernels.REFERER),
            "user_agent": parsed.column(index, kernels.UA),
            "host": [""] * len(rows),
        })
        out = []
        for match in self.sigma.evaluate(frame):
            line = rows[match.row]
            rule = Rule(id=f"sigma:{match.rule_id}", category=Category(match.category),
                        severity=SIGMA_LEVELS.get(match.level, Severity.MEDIUM), fields=("target",),
                        pattern="sigma", title_en=match.title, title_ja="", source="sigma")
            out.append((line, make_finding(parsed, line, rule, match.field, match.fragment,
                                           label, engine="sigma")))
        return out
