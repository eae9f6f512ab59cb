"""Signature detection over one parsed block: pure functions, no I/O, no database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from functools import cache

import numpy as np

from renkei.logs import kernels
from renkei.logs.match import FieldMatcher
from renkei.logs.model import Category, Finding, Severity
from renkei.logs.rules import FIELDS, Rule

FIELD_SPAN = {"target": kernels.TARGET, "referer": kernels.REFERER, "ua": kernels.UA}

# Internal markers share the target scan; they raise no finding but feed aggregates.
LOGIN_PATH = Rule(
    id="marker.login", category=Category.BRUTE_FORCE, severity=Severity.INFO,
    fields=("target",), title_en="login path", title_ja="ログインパス", source="built-in",
    pattern=r"^[^?]*(?:log_?in|sign_?in|auth(?:enticate)?|session|wp-login\.php|xmlrpc\.php"
            r"|j_security_check|/admin/?$|/user/?$)",
)


@dataclass
class ParsedBlock:
    """Columns of one block of access-log lines (see kernels.parse_access_lines)."""

    data: bytes
    buf: np.ndarray
    line_numbers: np.ndarray
    line_start: np.ndarray
    line_end: np.ndarray
    spans: np.ndarray
    status: np.ndarray
    size: np.ndarray
    epoch: np.ndarray
    error: np.ndarray
    src_hash: np.ndarray
    src_inverse: np.ndarray  # distinct-source id of each line (see kernels.dedupe_spans)
    src_first: np.ndarray
    path_hash: np.ndarray
    path_inverse: np.ndarray
    path_first: np.ndarray

    def __len__(self) -> int:
        return len(self.line_start)

    def text(self, line: int, column: int) -> str:
        s, e = self.spans[line, column].tolist()
        if s < 0:
            return ""
        return self.data[s:e].decode("utf-8", "backslashreplace")

    def column(self, lines: np.ndarray, column: int) -> list[str]:
        """One field of many lines, decoded in one go (per line if a NUL gets in the way)."""
        spans = np.ascontiguousarray(self.spans[lines, column, :])
        joined = kernels.gather_spans(self.buf, spans, 0).tobytes()
        values = joined.decode("utf-8", "backslashreplace").split("\x00")
        if len(values) != len(lines):
            return [self.text(int(line), column) for line in lines.tolist()]
        return values

    def raw_line(self, line: int) -> bytes:
        return self.data[int(self.line_start[line]) : int(self.line_end[line])]

    def time(self, line: int) -> datetime | None:
        return self.times(np.asarray([line], dtype=np.int64))[0]

    def utc_offsets(self, lines: np.ndarray) -> np.ndarray:
        """Seconds east of UTC that each line's ``[… +0900]`` wrote (0 when absent)."""
        spans = np.ascontiguousarray(self.spans[lines, kernels.TIME, :])
        return kernels.utc_offsets(self.buf, spans)

    def times(self, lines: np.ndarray) -> list[datetime | None]:
        """Each line's time in the UTC offset the log wrote, so a JST log reads as JST."""
        epoch = self.epoch[lines]
        offsets = self.utc_offsets(lines)
        local_epoch = epoch + offsets
        valid = ((epoch != kernels.MISSING_TIME) & (local_epoch >= _FIRST_SECOND)
                 & (local_epoch <= _LAST_SECOND))
        local = np.where(valid, local_epoch, 0).astype("datetime64[s]").tolist()
        out: list[datetime | None] = []
        for moment, offset, ok in zip(local, offsets.tolist(), valid.tolist(), strict=True):
            out.append(moment.replace(tzinfo=_zone(offset)) if ok else None)
        return out


_FIRST_SECOND = -62135596800 + 86400  # 0001-01-02, so any zone stays within datetime's range
_LAST_SECOND = 253402300799 - 86400  # 9999-12-30


@cache
def _zone(offset: int) -> timezone:
    return UTC if offset == 0 else timezone(timedelta(seconds=offset))


def parse_block(data: bytes, first_line: int, max_line: int,
                line_numbers: np.ndarray | None = None) -> ParsedBlock:
    buf = np.frombuffer(data, dtype=np.uint8)
    start, end, spans, status, size, epoch, error = kernels.parse_access_lines(buf, max_line)
    if line_numbers is None or len(line_numbers) != len(start):
        line_numbers = np.arange(first_line, first_line + len(start), dtype=np.int64)
    src = kernels.dedupe_spans(buf, np.ascontiguousarray(spans[:, kernels.SRC, :]), -1)
    path = kernels.dedupe_spans(buf, np.ascontiguousarray(spans[:, kernels.TARGET, :]), 63)
    return ParsedBlock(data, buf, line_numbers, start, end, spans, status, size, epoch, error,
                       src[0], src[2], src[1], path[0], path[2], path[1])


class RuleEngine:
    """One matcher per field, compiled once per scan."""

    def __init__(self, rules: list[Rule], *, use_hyperscan: bool = True) -> None:
        self.rules = rules
        self.matchers: dict[str, FieldMatcher] = {}
        self.markers = [LOGIN_PATH]
        index = {rule.id: i for i, rule in enumerate(rules)}
        self.global_index: dict[str, np.ndarray] = {}
        for name in FIELDS:
            chosen = [r for r in rules if name in r.fields]
            if name == "target":
                chosen += self.markers
            self.matchers[name] = FieldMatcher(chosen, use_hyperscan=use_hyperscan)
            self.global_index[name] = np.asarray([index.get(r.id, -1) for r in chosen],
                                                 dtype=np.int64)
        categories = list(Category)
        by_id = sorted(range(len(rules)), key=lambda i: rules[i].id)
        self.category_code = np.asarray([categories.index(r.category) for r in rules], dtype=np.int64)
        self.severity_rank = np.asarray([r.severity.rank for r in rules], dtype=np.int64)
        self.id_order = np.empty(len(rules), dtype=np.int64)
        self.id_order[by_id] = np.arange(len(rules))

    @property
    def engine(self) -> str:
        return self.matchers["target"].engine


@dataclass
class SignatureHits:
    findings: list[tuple[int, Finding]]  # (line index in block, finding)
    login_lines: np.ndarray  # indices of lines whose path looks like a login


class _LinesOfValue:
    """Lines holding a given distinct value: a scan per value when few values hit."""

    def __init__(self, inverse: np.ndarray, wanted: int) -> None:
        self.inverse = inverse
        self.grouped = wanted > 32
        if self.grouped:
            self.order = np.argsort(inverse, kind="stable")
            self.bounds = np.searchsorted(inverse[self.order], np.arange(inverse.max() + 2))

    def __call__(self, value: int) -> np.ndarray:
        if self.grouped:
            return self.order[self.bounds[value] : self.bounds[value + 1]]
        return np.flatnonzero(self.inverse == value)


def match_signatures(block: ParsedBlock, engine: RuleEngine, path: str) -> SignatureHits:
    """Normalise and scan each distinct field value once, then fan hits out to its lines.

    Access logs repeat themselves (the same user agents, referers and popular pages), so
    working on distinct values saves most of the decoding and scanning. A line gets one
    finding per category: the most severe rule leads and the others are listed with it.
    """
    usable = block.error == 0
    hit_lines: list[np.ndarray] = []
    hit_meta: list[tuple[int, int, int]] = []  # (rule, field, fragment) of each hit
    fragments: list[str] = []
    login: list[np.ndarray] = []
    fields = list(engine.matchers)
    for field_no, (name, matcher) in enumerate(engine.matchers.items()):
        spans = np.ascontiguousarray(block.spans[:, FIELD_SPAN[name], :])
        _hashes, first, inverse = kernels.dedupe_spans(block.buf, spans, -1)
        text, starts = kernels.normalise_fields(block.buf, np.ascontiguousarray(spans[first]),
                                                name != "target")
        hits = matcher.scan(text, starts)
        lines_of = _LinesOfValue(inverse, len({h.line for h in hits}))
        to_global = engine.global_index[name]
        for hit in hits:
            lines = lines_of(hit.line)
            lines = lines[usable[lines]]
            if not len(lines):
                continue
            if to_global[hit.rule] < 0:  # a marker, not a rule
                login.append(lines)
                continue
            methods = engine.rules[to_global[hit.rule]].methods
            if methods:
                lines = lines[[m.upper() in methods for m in block.column(lines, kernels.METHOD)]]
                if not len(lines):
                    continue
            base = int(starts[hit.line])
            fragments.append(bytes(text[base + hit.start : base + hit.end]).decode("utf-8", "replace"))
            hit_lines.append(lines)
            hit_meta.append((int(to_global[hit.rule]), field_no, len(fragments) - 1))
    marked = np.unique(np.concatenate(login)) if login else np.zeros(0, dtype=np.int64)
    if not hit_lines:
        return SignatureHits([], marked)
    return SignatureHits(_one_per_category(block, engine, path, hit_lines, hit_meta, fields,
                                           fragments), marked)


def _one_per_category(block: ParsedBlock, engine: RuleEngine, path: str,
                      hit_lines: list[np.ndarray], hit_meta: list[tuple[int, int, int]],
                      fields: list[str], fragments: list[str]) -> list[tuple[int, Finding]]:
    """Sort all hits by line, category, severity and rule id; the first of each group leads."""
    line = np.concatenate(hit_lines)
    meta = np.repeat(np.asarray(hit_meta, dtype=np.int64), [len(x) for x in hit_lines], axis=0)
    rule, field, fragment = meta[:, 0], meta[:, 1], meta[:, 2]
    category = engine.category_code[rule]
    order = np.lexsort((field, engine.id_order[rule], -engine.severity_rank[rule], category, line))
    line, category, rule, field, fragment = (a[order] for a in (line, category, rule, field, fragment))
    leads = np.ones(len(line), dtype=bool)
    leads[1:] = (line[1:] != line[:-1]) | (category[1:] != category[:-1])
    group = (np.cumsum(leads) - 1).tolist()
    facts = bulk_line_facts(block, np.unique(line[leads]))
    found: list[tuple[int, Finding]] = []
    firsts = np.flatnonzero(leads)
    for at, rule_no, field_no, fragment_no in zip(
            line[firsts].tolist(), rule[firsts].tolist(), field[firsts].tolist(),
            fragment[firsts].tolist(), strict=True):
        found.append((at, make_finding(block, at, engine.rules[rule_no], fields[field_no],
                                       fragments[fragment_no], path, facts=facts[at])))
    others = np.flatnonzero(~leads)
    for group_no, rule_no in zip(np.asarray(group)[others].tolist(), rule[others].tolist(),
                                 strict=True):
        finding = found[group_no][1]
        other = engine.rules[rule_no].id
        if other != finding.rule and other not in finding.related_rules:
            finding.related_rules.append(other)
    for _line, finding in found:
        finding.related_rules.sort()
    return found


@dataclass(frozen=True, slots=True)
class LineFacts:
    """What every finding on one line shares, decoded once however many rules hit it."""

    line: int
    src: str
    time: datetime | None
    method: str
    target: str
    status: int | None
    size: int | None
    user_agent: str


def bulk_line_facts(block: ParsedBlock, lines: np.ndarray) -> dict[int, LineFacts]:
    """LineFacts of many lines, each field decoded for all of them at once."""
    src = block.column(lines, kernels.SRC)
    method = block.column(lines, kernels.METHOD)
    target = block.column(lines, kernels.TARGET)
    agent = block.column(lines, kernels.UA)
    status = block.status[lines].tolist()
    size = block.size[lines].tolist()
    numbers = block.line_numbers[lines].tolist()
    times = block.times(lines)
    return {
        line: LineFacts(numbers[i], src[i], times[i], method[i], target[i][:2048],
                        status[i] if status[i] >= 0 else None, size[i] if size[i] >= 0 else None,
                        agent[i][:512])
        for i, line in enumerate(lines.tolist())
    }


def make_finding(block: ParsedBlock, line: int, rule: Rule, field: str, fragment: str,
                 path: str, *, engine: str = "renkei", facts: LineFacts | None = None) -> Finding:
    facts = facts or bulk_line_facts(block, np.asarray([line], dtype=np.int64))[line]
    return Finding(
        file=path, line=facts.line, category=rule.category, rule=rule.id,
        severity=rule.severity, src=facts.src, time=facts.time, method=facts.method,
        target=facts.target, status=facts.status, size=facts.size,
        user_agent=facts.user_agent, field=field, fragment=fragment[:512],
        rule_title=rule.title_en, engine=engine,
    )
