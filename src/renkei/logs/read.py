"""Reading access logs: decompression, format detection and blocks of whole lines.

Readers stream with bounded memory: a file is read in blocks of whole lines; a line
longer than the limit is reported and skipped without ever being held in full.
IIS W3C and JSON-lines records are translated into the combined layout, the one layout
the vectorised parser (``kernels.parse_access_lines``) knows, keeping their line numbers.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import numpy as np
import orjson
import zstandard

from renkei.logs import kernels
from renkei.logs.model import LogFormat, ParseIssue

BLOCK_BYTES = 8 * 1024 * 1024
DECOMPRESSION_ERRORS = (EOFError, OSError, zlib.error, zstandard.ZstdError)
SAMPLE_CHARS = 120

PARSE_ERRORS = {
    kernels.TOO_LONG: "line too long",
    kernels.NO_TIME: "no [timestamp] field",
    kernels.BAD_TIME: "unreadable timestamp",
    kernels.NO_REQUEST: "no quoted request field",
    kernels.BAD_STATUS: "no 3-digit status code",
    kernels.BAD_SIZE: "unreadable response size",
    kernels.NO_SOURCE: "no client address",
}


class LogReadError(ValueError):
    """A file cannot be read at all (missing, unknown format); names the file."""


def sample(raw: bytes) -> str:
    text = raw[:SAMPLE_CHARS].decode("utf-8", "backslashreplace")
    return text + ("…" if len(raw) > SAMPLE_CHARS else "")


class _Prepend:
    """A stream that first yields bytes already peeked from it (reads may come back short)."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head = head
        self._rest = rest

    def read(self, size: int = -1) -> bytes:
        if self._head:
            out, self._head = self._head, b""
            return out
        return self._rest.read(size)


class SalvagingReader(io.RawIOBase):
    """Reads a decompressor in small steps, so a broken or truncated stream loses only
    the last step; the error is kept for the report instead of raised."""

    STEP = 8 * 1024

    def __init__(self, inner: BinaryIO, name: str) -> None:
        self._inner = inner
        self.name_ = name
        self.error = ""
        self.produced = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        filled = 0
        while filled < len(view) and not self.error:
            try:
                data = self._inner.read(min(len(view) - filled, self.STEP))
            except DECOMPRESSION_ERRORS as exc:
                self.error = (f"{self.name_}: compressed data broken after {self.produced} "
                              f"bytes ({exc}); the lines before were read")
                break
            if not data:
                break
            view[filled : filled + len(data)] = data
            filled += len(data)
            self.produced += len(data)
        return filled


def open_decompressed(path: Path) -> tuple[BinaryIO, str, BinaryIO]:
    """(stream of plain bytes, compression name, raw file handle for progress)."""
    raw = path.open("rb")
    magic = raw.read(4)
    raw.seek(0)
    inner: BinaryIO
    if magic[:2] == b"\x1f\x8b":
        inner, kind = gzip.GzipFile(fileobj=raw, mode="rb"), "gzip"  # type: ignore[assignment]
    elif magic[:3] == b"BZh":
        inner, kind = bz2.BZ2File(raw, mode="rb"), "bzip2"  # type: ignore[assignment]
    elif magic == b"\x28\xb5\x2f\xfd":
        reader = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
        inner, kind = reader, "zstd"
    else:
        return raw, "", raw
    return SalvagingReader(inner, str(path)), kind, raw  # type: ignore[return-value]



_CLF = re.compile(rb'^\S+ \S+ .*?\[[^\]]+\] "[^"]*(?:\\"[^"]*)*" \d{3} (?:\d+|-)')
_COMBINED = re.compile(rb'^\S+ \S+ .*?\[[^\]]+\] "[^"]*(?:\\"[^"]*)*" \d{3} (?:\d+|-) "')


def detect_format(head: bytes, max_line: int = 1 << 30) -> LogFormat | None:
    """Guess the format from the first lines that fit the limit; None when nothing fits."""
    lines = [ln.strip(b"\r") for ln in head.split(b"\n")
             if ln.strip() and len(ln) <= max_line][:50]
    if not lines:
        return None
    first = lines[0].lstrip(b"\xef\xbb\xbf")
    if first.startswith(b"#") and any(ln.startswith(b"#Fields:") for ln in lines[:10]):
        return LogFormat.IIS
    if first.startswith(b"{"):
        return LogFormat.JSON
    combined = sum(1 for ln in lines if _COMBINED.match(ln))
    common = sum(1 for ln in lines if _CLF.match(ln))
    if combined and combined * 2 >= common:
        return LogFormat.COMBINED
    if common:
        return LogFormat.COMMON
    return None


@dataclass
class Block:
    """Whole lines of one file: ``data`` starts at line ``first_line`` (1-based)."""

    data: bytes
    first_line: int
    count: int | None = None  # lines in data; the consumer may fill it in to save a pass
    lines: np.ndarray | None = None  # real line number of each line, when not contiguous


@dataclass
class BlockReader:
    """Cuts a plain byte stream into blocks of whole lines, reporting overlong lines."""

    path: str
    stream: BinaryIO
    max_line: int
    report: Callable[[ParseIssue], None]
    block_bytes: int = BLOCK_BYTES
    error: str = ""
    bytes_read: int = 0

    cr_only: bool = False  # old Mac line ends: a lone CR ends a line
    skipped_lines: int = 0  # overlong lines dropped here, counted in the file's total

    def __iter__(self) -> Iterator[Block]:
        parts: list[bytes] = []  # the unfinished line, kept in pieces to avoid copying
        pending = 0
        line_no = 1
        skipping = False
        while True:
            try:
                chunk = self.stream.read(max(self.block_bytes, self.max_line + 1))
            except DECOMPRESSION_ERRORS as exc:
                self.error = (f"{self.path}: compressed data broken after {self.bytes_read} "
                              f"bytes ({exc}); the lines before were read")
                break
            if not chunk:
                break
            self.bytes_read += len(chunk)
            if self.bytes_read == len(chunk) and chunk.startswith(b"\xef\xbb\xbf"):
                chunk = chunk[3:]  # a UTF-8 byte-order mark, as Windows tools write
            if self.cr_only:
                chunk = chunk.replace(b"\r", b"\n")
            if skipping:
                nl = chunk.find(b"\n")
                if nl < 0:
                    continue
                chunk = chunk[nl + 1 :]
                skipping = False
                line_no += 1
                self.skipped_lines += 1
            cut = chunk.rfind(b"\n")
            if cut < 0:
                parts.append(chunk)
                pending += len(chunk)
            else:
                data = b"".join([*parts, chunk[: cut + 1]]) if parts else chunk[: cut + 1]
                block = Block(data, line_no)
                yield block
                line_no += block.count if block.count is not None else block.data.count(b"\n")
                rest = chunk[cut + 1 :]
                parts, pending = ([rest], len(rest)) if rest else ([], 0)
            if pending > self.max_line:
                self.report(ParseIssue(self.path, line_no, PARSE_ERRORS[kernels.TOO_LONG],
                                       sample(parts[0])))
                parts, pending = [], 0
                skipping = True
        if skipping:
            self.skipped_lines += 1
        elif parts:
            yield Block(b"".join(parts), line_no, 1)


def fingerprint(head: bytes) -> str:
    """A log is known by its first record: appending keeps it, rotation changes it.

    Directives (IIS ``#Software`` …) and blank lines are passed over, since every file of
    a server starts with the same ones."""
    for line in head.split(b"\n")[:-1] or [head]:
        record = line.strip()
        if record and not record.startswith(b"#"):
            return hashlib.sha256(record).hexdigest()
    return hashlib.sha256(head[:4096]).hexdigest()


# IIS W3C extended and JSON lines -> combined layout --------------------------------

_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def clf_time(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    offset = moment.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset else 0
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return (f"{moment.day:02d}/{_MONTH_NAMES[moment.month - 1]}/{moment.year:04d}:"
            f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d} "
            f"{sign}{minutes // 60:02d}{minutes % 60:02d}")


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")


_UNQUOTED_UNSAFE = re.compile(r'[\s\[\]"\\\x00-\x1f\x7f]')


def _token(value: str) -> str:
    """An unquoted field (address, user) with nothing that could end it or fake another:
    whitespace, brackets, quotes, backslashes and controls are percent-encoded."""
    return _UNQUOTED_UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()),
                                value) or "-"


def combined_line(*, src: str, user: str, when: datetime, method: str, target: str,
                  protocol: str, status: int, size: int | None, referer: str, agent: str) -> str:
    request = " ".join(p for p in (method, target, protocol) if p)
    return (f'{_token(src)} - {_token(user)} [{clf_time(when)}] "{_quote(request)}" {status} '
            f'{size if size is not None else "-"} "{_quote(referer or "-")}" "{_quote(agent or "-")}"')


class RecordError(ValueError):
    """One IIS or JSON record is unusable: a fixed reason (counted) and the detail."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


def _int_or_none(value: object) -> int | None:
    if value is None or value in ("", "-"):
        return None
    try:
        return int(str(value))
    except ValueError as exc:
        raise RecordError("not a number", str(value)[:40]) from exc


class IISTranslator:
    """IIS W3C extended lines, driven by the latest ``#Fields:`` directive."""

    def __init__(self) -> None:
        self.fields: list[str] = []

    def translate(self, line: str) -> str | None:
        if line.startswith("#"):
            if line.startswith("#Fields:"):
                self.fields = line[len("#Fields:"):].split()
            return None
        if not self.fields:
            raise RecordError("record before any #Fields: directive")
        values = line.split(" ")
        if len(values) != len(self.fields):
            raise RecordError("wrong number of values for #Fields",
                              f"{len(values)} values for {len(self.fields)} fields")
        rec = dict(zip(self.fields, values, strict=True))
        try:
            when = datetime.strptime(f"{rec['date']} {rec['time']}", "%Y-%m-%d %H:%M:%S")
        except (KeyError, ValueError) as exc:
            raise RecordError("no usable date and time") from exc
        status = _int_or_none(rec.get("sc-status"))
        if status is None or not 100 <= status <= 999:
            raise RecordError("no sc-status")
        query = rec.get("cs-uri-query", "-")
        stem = rec.get("cs-uri-stem", "-")
        target = stem + (f"?{query}" if query not in ("-", "") else "")
        return combined_line(
            src=rec.get("c-ip", "-"), user=rec.get("cs-username", "-"), when=when.replace(tzinfo=UTC),
            method=rec.get("cs-method", "-"), target=target, protocol=rec.get("cs-version", ""),
            status=status, size=_int_or_none(rec.get("sc-bytes")),
            referer=rec.get("cs(Referer)", "-"), agent=rec.get("cs(User-Agent)", "-"),
        )


def _lookup(record: dict[str, object], *names: str) -> object:
    """First present key, accepting both dotted ECS keys and nested objects."""
    for name in names:
        if name in record:
            return record[name]
        node: object = record
        for part in name.split("."):
            if not isinstance(node, dict) or part not in node:
                break
            node = node[part]
        else:
            return node
    return None


_EPOCH = re.compile(r"^\d{9,11}(?:\.\d+)?$")


def _json_time(value: object) -> datetime:
    if isinstance(value, str) and _EPOCH.match(value.strip()):  # nginx writes "$msec" quoted
        value = float(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(float(value), UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise RecordError("timestamp out of range") from exc
    if isinstance(value, str):
        text = value.strip()
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            pass
        try:
            return datetime.strptime(text, "%d/%b/%Y:%H:%M:%S %z")
        except ValueError:
            pass
    raise RecordError("no usable timestamp")


def translate_json(line: bytes) -> str:
    """One nginx-JSON or ECS-style record as a combined line."""
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise RecordError("invalid JSON", str(exc)[:80]) from exc
    if not isinstance(record, dict):
        raise RecordError("record is not a JSON object")
    when = _json_time(_lookup(record, "@timestamp", "timestamp", "time_iso8601", "time_local",
                              "time", "msec"))
    request = _lookup(record, "request")
    method = _lookup(record, "request_method", "http.request.method", "method")
    target = _lookup(record, "request_uri", "url.original", "uri", "url", "path")
    if target is None:
        path = _lookup(record, "url.path")
        query = _lookup(record, "url.query", "args", "query_string")
        if path is not None:
            target = f"{path}?{query}" if query else path
    protocol = _lookup(record, "server_protocol", "protocol", "http.version")
    if request is not None and (method is None or target is None):
        parts = str(request).split(" ")
        if len(parts) >= 3:
            method, target, protocol = parts[0], " ".join(parts[1:-1]), parts[-1]
        else:
            target = str(request)
    if target is None:
        raise RecordError("no request, request_uri or url field")
    status = _int_or_none(_lookup(record, "status", "http.response.status_code", "status_code"))
    if status is None or not 100 <= status <= 999:
        raise RecordError("no status")
    if protocol and str(protocol)[:1].isdigit():
        protocol = f"HTTP/{protocol}"
    return combined_line(
        src=str(_lookup(record, "remote_addr", "source.ip", "client.ip", "client_ip", "ip") or "-"),
        user=str(_lookup(record, "remote_user", "user.name") or "-"),
        when=when, method=str(method or "-"), target=str(target),
        protocol=str(protocol or ""), status=status,
        size=_int_or_none(_lookup(record, "body_bytes_sent", "bytes_sent",
                                  "http.response.body.bytes", "http.response.bytes", "size")),
        referer=str(_lookup(record, "http_referer", "http.request.referrer", "referer") or "-"),
        agent=str(_lookup(record, "http_user_agent", "user_agent.original", "user_agent",
                          "agent") or "-"),
    )


def translate_block(block: Block, fmt: LogFormat, path: str, iis: IISTranslator | None,
                    report: Callable[[ParseIssue], None]) -> Block:
    """Turn a block of IIS or JSON lines into combined lines, keeping real line numbers."""
    out: list[bytes] = []
    numbers: list[int] = []
    raw_lines = block.data.split(b"\n")
    block.count = len(raw_lines) - (1 if block.data.endswith(b"\n") else 0)
    for offset, raw in enumerate(raw_lines):
        line_no = block.first_line + offset
        raw = raw.rstrip(b"\r")
        if not raw.strip():
            continue
        try:
            if fmt is LogFormat.JSON:
                text: str | None = translate_json(raw)
            else:
                assert iis is not None
                text = iis.translate(raw.decode("utf-8", "backslashreplace"))
        except RecordError as exc:
            detail = f"[{exc.detail}] " if exc.detail else ""
            report(ParseIssue(path, line_no, exc.reason, detail + sample(raw)))
            continue
        if text is not None:
            out.append(text.encode("utf-8", "surrogateescape"))
            numbers.append(line_no)
    data = b"\n".join(out) + (b"\n" if out else b"")
    return Block(data, block.first_line, block.count, np.asarray(numbers, dtype=np.int64))


def peek(stream: BinaryIO, size: int = 65536) -> tuple[bytes, BinaryIO]:
    """Read the head of a stream for detection and give back an equivalent stream."""
    if stream.seekable():  # a plain file: read the head, then start again from byte 0
        head = stream.read(size)
        stream.seek(0)
        return head, stream
    parts: list[bytes] = []
    got = 0
    while got < size:
        try:
            part = stream.read(size - got)
        except DECOMPRESSION_ERRORS:
            break
        if not part:
            break
        parts.append(part)
        got += len(part)
    head = b"".join(parts)
    return head, _Prepend(head, stream)  # type: ignore[return-value]
