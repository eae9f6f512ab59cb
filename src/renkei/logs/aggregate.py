"""Detectors over many lines: brute force, error-rate anomalies, per-path size baselines.

State is kept per source address or per path, updated one block at a time with numpy,
so memory grows with the number of distinct sources and paths, never with lines.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from renkei.core.i18n import gettext_noop
from renkei.logs import kernels
from renkei.logs.detect import ParsedBlock
from renkei.logs.judge import SizeBaseline
from renkei.logs.model import Category, Finding, Severity

MAX_TRACKED = 500_000

# A burst's evidence, kept in English with the alert; pages show it translated
# (``logs.pages.evidence_text``).
BURST_EVIDENCE = gettext_noop("{count} login attempts, the first {first} within {window} s")
BURST_RULE = "RK-AGG-BRUTE-FORCE"


@dataclass
class Thresholds:
    """Defaults follow common SOC practice; all are per source address."""

    login_attempts: int = 10
    login_window_s: int = 300
    error_min_requests: int = 30
    error_min_errors: int = 20
    error_ratio: float = 0.5


NO_LINE = np.iinfo(np.int64).max


@dataclass
class SourceErrors:
    """Requests and 4xx/5xx answers per source, for the error-rate anomaly.

    Per-block counts are appended as arrays and merged now and then; only sources that
    answered errors get their address text kept.
    """

    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)
    names: dict[int, str] = field(default_factory=dict)
    rows: int = 0

    def update(self, block: ParsedBlock, usable: np.ndarray) -> None:
        index = np.flatnonzero(usable)
        if not len(index):
            return
        inverse = block.src_inverse[index]
        distinct = len(block.src_first)
        is_error = block.status[index] >= 400
        totals = np.bincount(inverse, minlength=distinct)
        errors = np.bincount(inverse, weights=is_error, minlength=distinct).astype(np.int64)
        first_error = np.full(distinct, NO_LINE, dtype=np.int64)
        error_pos = np.flatnonzero(is_error)
        np.minimum.at(first_error, inverse[error_pos], block.line_numbers[index[error_pos]])
        seen = totals > 0
        keys = block.src_hash[block.src_first][seen]
        totals, errors, first_error = totals[seen].astype(np.int64), errors[seen], first_error[seen]
        for pos in np.flatnonzero(seen & (np.bincount(inverse, weights=is_error, minlength=distinct) > 0)).tolist():
            key = int(block.src_hash[block.src_first[pos]])
            if key not in self.names and len(self.names) < MAX_TRACKED:
                self.names[key] = block.text(int(block.src_first[pos]), kernels.SRC)
        self.parts.append((keys, totals, errors, first_error))
        self.rows += len(keys)
        if self.rows > 4 * MAX_TRACKED:
            self._compact()

    def _compact(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        if not self.parts:
            empty = np.zeros(0, dtype=np.int64)
            return empty.astype(np.uint64), empty, empty, empty
        keys = np.concatenate([p[0] for p in self.parts])
        unique, inverse = np.unique(keys, return_inverse=True)
        totals = np.bincount(inverse, weights=np.concatenate([p[1] for p in self.parts]),
                             minlength=len(unique)).astype(np.int64)
        errors = np.bincount(inverse, weights=np.concatenate([p[2] for p in self.parts]),
                             minlength=len(unique)).astype(np.int64)
        first = np.full(len(unique), NO_LINE, dtype=np.int64)
        np.minimum.at(first, inverse, np.concatenate([p[3] for p in self.parts]))
        if len(unique) > MAX_TRACKED:  # keep the noisiest sources when memory is at stake
            keep = np.sort(np.argsort(-errors, kind="stable")[:MAX_TRACKED])
            unique, totals, errors, first = unique[keep], totals[keep], errors[keep], first[keep]
        merged = (unique, totals, errors, first)
        self.parts = [merged]
        self.rows = len(unique)
        return merged

    def findings(self, path: str, thresholds: Thresholds) -> list[Finding]:
        keys, totals, errors, first = self._compact()
        overall = errors.sum() / totals.sum() if totals.sum() else 0.0
        ratio = np.divide(errors, totals, out=np.zeros(len(totals)), where=totals > 0)
        # compare each source with everybody else, so a source that is most of the traffic
        # does not raise the bar it is measured against
        other_total = totals.sum() - totals
        others = np.divide(errors.sum() - errors, other_total, out=np.zeros(len(totals)),
                           where=other_total > 0)
        flagged = np.flatnonzero(
            (totals >= thresholds.error_min_requests) & (errors >= thresholds.error_min_errors)
            & (ratio >= thresholds.error_ratio) & (ratio >= 3 * others))
        out = []
        for k in flagged.tolist():
            out.append(Finding(
                file=path, line=int(first[k]), category=Category.ERROR_ANOMALY,
                rule="RK-AGG-ERROR-RATE", severity=Severity.MEDIUM,
                src=self.names.get(int(keys[k]), "?"), time=None, method="", target="",
                status=None, size=None, user_agent="", field="",
                fragment=f"{errors[k]} of {totals[k]} requests answered 4xx/5xx "
                         f"({ratio[k]:.0%}; all sources {overall:.0%})",
                rule_title="Error-rate anomaly from one source", succeeded=None,
                count=int(errors[k]),
            ))
        return out


@dataclass
class PathSizes:
    """Mean and deviation of response sizes per path (2xx answers without a finding).

    Per-block sums are appended as arrays and merged when they pile up.
    """

    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)
    rows: int = 0

    def update(self, block: ParsedBlock, usable: np.ndarray) -> None:
        mask = usable & (block.status >= 200) & (block.status < 300) & (block.size >= 0)
        if not mask.any():
            return
        inverse = block.path_inverse[mask]
        distinct = len(block.path_first)
        sizes = block.size[mask].astype(np.float64)
        counts = np.bincount(inverse, minlength=distinct).astype(np.float64)
        seen = counts > 0
        self.parts.append((
            block.path_hash[block.path_first][seen],
            counts[seen],
            np.bincount(inverse, weights=sizes, minlength=distinct)[seen],
            np.bincount(inverse, weights=sizes * sizes, minlength=distinct)[seen],
        ))
        self.rows += int(seen.sum())
        if self.rows > 4 * MAX_TRACKED:
            self._compact()

    def _compact(self) -> None:
        if not self.parts:
            return
        keys = np.concatenate([p[0] for p in self.parts])
        unique, inverse = np.unique(keys, return_inverse=True)
        sums = [np.bincount(inverse, weights=np.concatenate([p[i] for p in self.parts]),
                            minlength=len(unique)) for i in (1, 2, 3)]
        if len(unique) > MAX_TRACKED:  # keep the most visited paths when memory is at stake
            keep = np.sort(np.argsort(-sums[0], kind="stable")[:MAX_TRACKED])
            unique, sums = unique[keep], [s[keep] for s in sums]
        self.parts = [(unique, sums[0], sums[1], sums[2])]
        self.rows = len(unique)

    def baselines(self, path_hashes: np.ndarray) -> list[SizeBaseline | None]:
        """The usual size of each given path, looked up all at once."""
        self._compact()
        if not self.parts or not len(path_hashes):
            return [None] * len(path_hashes)
        keys, count, total, squares = self.parts[0]
        wanted, inverse = np.unique(path_hashes, return_inverse=True)
        pos = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
        found = keys[pos] == wanted
        n = np.maximum(count[pos], 1)
        mean = total[pos] / n
        std = np.sqrt(np.maximum(squares[pos] / n - mean * mean, 0.0))
        distinct = [SizeBaseline(int(c), float(m), float(d)) if ok else None
                    for c, m, d, ok in zip(count[pos].tolist(), mean.tolist(), std.tolist(),
                                           found.tolist(), strict=True)]
        return [distinct[i] for i in inverse.tolist()]


def is_post(block: ParsedBlock, lines: np.ndarray) -> np.ndarray:
    """Whether each line's method is POST, without decoding the lines."""
    start = block.spans[lines, kernels.METHOD, 0]
    length = block.spans[lines, kernels.METHOD, 1] - start
    ok = (length == 4) & (start >= 0)
    result = np.zeros(len(lines), dtype=bool)
    if ok.any():
        s = start[ok]
        word = np.stack([block.buf[s + i] | 32 for i in range(4)], axis=1)
        result[ok] = (word == np.frombuffer(b"post", dtype=np.uint8)).all(axis=1)
    return result


@dataclass
class _Attempts:
    """One source's recent login attempts and, once it is a burst, running counts."""

    times: deque[tuple[int, int, int]]  # (epoch, line number, status) of the last attempts
    burst_start: int = -1
    burst: Finding | None = None
    refusals: int = 0
    codes: Counter[int] = field(default_factory=Counter)
    succeeded: bool = False


@dataclass
class BruteForce:
    """Many login attempts (POSTs to a login path, or 401/403 answers) in a window.

    A burst becomes one finding at its first attempt's line; later attempts within twice
    the window add to its count. State per source is constant-size, whatever the burst."""

    thresholds: Thresholds
    path: str
    sources: dict[int, _Attempts] = field(default_factory=dict)
    found: list[Finding] = field(default_factory=list)

    def update(self, block: ParsedBlock, login_lines: np.ndarray, usable: np.ndarray) -> None:
        status = block.status
        denied = usable & ((status == 401) | (status == 403))
        posted = np.zeros(len(status), dtype=bool)
        if len(login_lines):
            posted[login_lines] = is_post(block, login_lines)
        attempts = np.flatnonzero((denied | posted) & usable
                                  & (block.epoch != kernels.MISSING_TIME))
        for line in attempts.tolist():
            self._attempt(block, line, int(block.epoch[line]), int(status[line]))

    def _attempt(self, block: ParsedBlock, line: int, when: int, code: int) -> None:
        key = int(block.src_hash[line])
        state = self.sources.get(key)
        if state is None:
            if len(self.sources) >= MAX_TRACKED:
                return
            state = self.sources[key] = _Attempts(deque(maxlen=self.thresholds.login_attempts))
        window = self.thresholds.login_window_s
        state.times.append((when, int(block.line_numbers[line]), code))
        if state.burst is not None and when - state.burst_start <= window * 2:
            self._add(state, code)
            return
        state.burst = None
        first_when, first_line, _code = state.times[0]
        if len(state.times) >= self.thresholds.login_attempts and first_when >= when - window:
            moment = block.time(line)
            start = (datetime.fromtimestamp(first_when, moment.tzinfo)
                     if moment is not None and moment.tzinfo is not None else moment)
            finding = Finding(
                file=self.path, line=first_line, category=Category.BRUTE_FORCE,
                rule=BURST_RULE, severity=Severity.HIGH,
                src=block.text(line, kernels.SRC), time=start,
                method=block.text(line, kernels.METHOD), target=block.text(line, kernels.TARGET)[:2048],
                status=code, size=None, user_agent=block.text(line, kernels.UA)[:512],
                field="target", fragment="", rule_title="Brute force / credential stuffing",
                count=len(state.times) - 1,
            )
            state.burst, state.burst_start = finding, first_when
            earlier = [c for _w, _l, c in state.times][:-1]
            state.codes, state.succeeded = Counter(earlier), False
            state.refusals = sum(1 for c in earlier if c in (401, 403))
            self.found.append(finding)
            self._add(state, code)

    def _add(self, state: _Attempts, code: int) -> None:
        """Count one more attempt of the burst and judge it again, in constant time."""
        burst = state.burst
        assert burst is not None
        burst.count += 1
        burst.fragment = BURST_EVIDENCE.format(count=burst.count,
                                               first=self.thresholds.login_attempts,
                                               window=self.thresholds.login_window_s)
        state.codes[code] += 1
        if code in (401, 403):
            state.refusals += 1
        if state.succeeded:
            return
        attempts = sum(state.codes.values())
        if state.refusals and code < 400:
            state.succeeded = True
            burst.succeeded, burst.reason = True, gettext_noop("answered {status} after {refusals} refusals")
            burst.reason_args = {"status": code, "refusals": state.refusals}
        elif attempts >= 3 and code in (301, 302, 303) and state.codes[code] == 1:
            state.succeeded = True
            burst.succeeded, burst.reason = True, gettext_noop("a redirect after repeated failed logins")
            burst.reason_args = {}
        elif state.refusals and code >= 400:
            burst.succeeded, burst.reason = False, gettext_noop("answered {status}")
            burst.reason_args = {"status": code}
        else:
            burst.succeeded, burst.reason, burst.reason_args = None, "", {}
