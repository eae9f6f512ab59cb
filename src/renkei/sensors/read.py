"""Reading sensor captures into PACKET arrays: pcap, pcapng, NetFlow/IPFIX, nfdump CSV.

Formats are told by their first bytes, never by the file name; gzip is undone as a stream.
A capture is read in chunks of whole records (the one a chunk cuts is carried into the
next), walked and decoded by the kernels in ``read_kernels`` and yielded as arrays of at
most ``BATCH`` rows, so memory stays bounded whatever the capture's size. Damage stops a
file, never a run: what came before it is kept and ``ReadStats.problems`` says where it
broke. Flow exports and nfdump CSV are decoded in ``flows``.
"""

from __future__ import annotations

import io
import os
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal

import numpy as np

from renkei.sensors import flows
from renkei.sensors import read_kernels as rk
from renkei.sensors.model import PACKET, CaptureFormat, ReadProblem, ReadStats

CHUNK_BYTES = 64 * 1024 * 1024
BATCH = 1 << 18             # frames per walk, so rows per yielded array (20 MB at most)
MAX_RECORD = 64 * 1024 * 1024
PCAP_MAX_SNAPLEN = 262144   # libpcap's largest snap length, used when a file states none
HEAD_BYTES = 4096

_PCAP_MAGIC = {  # first four bytes -> (little-endian, nanosecond)
    b"\xd4\xc3\xb2\xa1": (1, 0), b"\xa1\xb2\xc3\xd4": (0, 0),
    b"\x4d\x3c\xb2\xa1": (1, 1), b"\xa1\xb2\x3c\x4d": (0, 1),
}
_PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
_GZIP_MAGIC = b"\x1f\x8b"


class CaptureError(ValueError):
    """A file cannot be read at all (missing, empty, unknown format); names the file."""


def format_problem(problem: ReadProblem) -> str:
    return f"{problem.path}: record {problem.record} at byte {problem.offset}: {problem.reason}"


# -- byte streams ----------------------------------------------------------------------


class GunzipStream(io.RawIOBase):
    """Plain bytes of a gzip file (all members), decompressed a bounded step at a time.

    A truncated or broken stream ends the data instead of raising: ``error`` says why
    and ``produced`` how many plain bytes came before it."""

    STEP = 1 << 20

    def __init__(self, raw: io.BufferedReader) -> None:
        self._raw = raw
        self._inflate = zlib.decompressobj(wbits=31)
        self._pending = b""
        self._started = False   # the current member has had input
        self._done = False
        self.error = ""
        self.produced = 0

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._raw.close()
        super().close()

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        filled = 0
        while filled < len(view) and not self._done:
            if not self._pending:
                self._pending = self._raw.read(self.STEP)
                if not self._pending:
                    if self._started:
                        self.error = "compressed stream ends early"
                    self._done = True
                    break
            try:
                data = self._inflate.decompress(self._pending, len(view) - filled)
            except zlib.error as exc:
                self.error = f"compressed data broken ({exc})"
                self._done = True
                break
            self._started = True
            self._pending = self._inflate.unconsumed_tail
            view[filled : filled + len(data)] = data
            filled += len(data)
            self.produced += len(data)
            if self._inflate.eof:
                rest = self._inflate.unused_data + self._pending
                self._inflate = zlib.decompressobj(wbits=31)
                self._started = False
                self._pending = rest
                if rest and not rest.startswith(_GZIP_MAGIC):
                    if rest.strip(b"\0"):
                        self.error = "data after the end of the compressed stream ignored"
                    self._done = True
        return filled


def open_stream(path: Path) -> io.BufferedReader:
    """The file's plain bytes, decompressed when it starts with the gzip magic (then the
    reader's ``raw`` is the GunzipStream, which knows whether the data broke)."""
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise CaptureError(f"{path}: cannot open ({exc.strerror or exc})") from exc
    if raw.read(2) == _GZIP_MAGIC:
        raw.seek(0)
        return io.BufferedReader(GunzipStream(raw), buffer_size=1 << 20)
    raw.seek(0)
    return raw


def _gzip_error(stream: io.BufferedReader) -> tuple[str, int]:
    raw = stream.raw
    return (raw.error, raw.produced) if isinstance(raw, GunzipStream) else ("", 0)


def _read_head(path: Path) -> bytes:
    with open_stream(path) as stream:
        head = bytearray(HEAD_BYTES)
        view = memoryview(head)
        filled = 0
        while filled < HEAD_BYTES:
            got = stream.readinto(view[filled:])
            if not got:
                break
            filled += got
        return bytes(head[:filled])


def classify(head: bytes) -> CaptureFormat | None:
    """The format of a capture from its first plain bytes, or None."""
    if head[:4] in _PCAP_MAGIC:
        return CaptureFormat.PCAP
    if head[:4] == _PCAPNG_MAGIC:
        return CaptureFormat.PCAPNG
    version = int.from_bytes(head[:2], "big") if len(head) >= 4 else -1
    if version == 5 and len(head) >= 24 and int.from_bytes(head[2:4], "big") <= 30:
        return CaptureFormat.NETFLOW5
    if version == 9 and len(head) >= 20:
        return CaptureFormat.NETFLOW9
    if version == 10 and len(head) >= 16 and int.from_bytes(head[2:4], "big") >= 16:
        return CaptureFormat.IPFIX
    if flows.is_nfdump_header(head.split(b"\n", 1)[0]):
        return CaptureFormat.NFDUMP_CSV
    return None


def detect_format(path: str | Path) -> CaptureFormat:
    """Tell the format by magic bytes (through gzip); CaptureError when nothing fits."""
    path = Path(path)
    head = _read_head(path)
    found = classify(head)
    if found is None:
        what = f"first bytes {head[:8].hex(' ')}" if head else "no data"
        raise CaptureError(
            f"{path}: not a capture renkei reads ({what}); expected pcap, pcapng, NetFlow "
            "v5/v9, IPFIX or nfdump CSV, plain or gzip-compressed")
    return found


class _Window:
    """Whole chunks of a stream plus the unfinished record carried over from the last."""

    FIRST = 1 << 20     # a stream of unknown size starts with this much, doubling to a chunk

    def __init__(self, stream: io.BufferedReader, chunk_bytes: int) -> None:
        self.stream = stream
        self.chunk = max(chunk_bytes, 64)
        try:
            first = os.fstat(stream.fileno()).st_size + 1
        except (OSError, io.UnsupportedOperation):
            first = self.FIRST
        self.mem = np.empty(min(self.chunk, first), np.uint8)   # not zeroed: read over at once
        self.size = 0
        self.base = 0       # stream offset of mem[0]
        self.eof = False

    def refill(self, keep_from: int, need: int = 0) -> np.ndarray:
        """Drop the bytes before ``keep_from`` and read on; room for ``need`` bytes kept."""
        rest = self.size - keep_from
        want = len(self.mem)
        if self.size == len(self.mem) and want < self.chunk:
            want = min(self.chunk, want * 2)   # a stream bigger than first thought
        if max(need, rest) >= want:
            want = max(need, rest) + self.chunk
        if want != len(self.mem):
            grown = np.empty(want, np.uint8)
            grown[:rest] = self.mem[keep_from : self.size]
            self.mem = grown
        elif rest:
            self.mem[:rest] = self.mem[keep_from : self.size]
        self.base += keep_from
        self.size = rest
        view = memoryview(self.mem)  # type: ignore[arg-type]
        while self.size < len(self.mem) and not self.eof:
            got = self.stream.readinto(view[self.size :])
            if not got:
                self.eof = True
            else:
                self.size += got
        view.release()
        return self.mem[: self.size]


class _Frames:
    """Where the frames of one walk lie in the window (reused from walk to walk)."""

    def __init__(self, capacity: int) -> None:
        self.off = np.empty(capacity, np.int64)
        self.caplen = np.empty(capacity, np.int64)
        self.wirelen = np.empty(capacity, np.int64)
        self.link = np.empty(capacity, np.int64)
        self.ts = np.empty(capacity, np.int64)


# -- the packet stream ------------------------------------------------------------------


class PacketStream(Iterator[np.ndarray]):
    """Arrays of PACKET rows from one file; ``stats`` fills in as they are read."""

    def __init__(self, stats: ReadStats, rows: Iterator[np.ndarray]) -> None:
        self.stats = stats
        self._rows = rows

    def __next__(self) -> np.ndarray:
        return next(self._rows)

    def __iter__(self) -> PacketStream:
        return self


def _problem(stats: ReadStats, offset: int, record: int, reason: str,
             truncated: bool = False) -> None:
    stats.problems.append(ReadProblem(stats.path, offset, record, reason))
    stats.truncated = stats.truncated or truncated


def _count_links(stats: ReadStats, link: np.ndarray, off: np.ndarray, base: int,
                 first: int) -> None:
    """Frames per link type; an unsupported one is reported at its first frame."""
    first = int(link[0])
    if (link == first).all():
        seen = {first: (link.size, 0)}
    else:
        kinds, where, counts = np.unique(link, return_index=True, return_counts=True)
        seen = {int(k): (int(c), int(w)) for k, c, w in zip(kinds, counts, where, strict=True)}
    for kind, (count, at) in seen.items():
        _count_link(stats, kind, count, base + int(off[at]), first + at)


def _count_link(stats: ReadStats, kind: int, count: int, offset: int, record: int) -> None:
    """``count`` frames of one link type, the first at ``offset``, record ``record``."""
    if kind not in stats.link_types and kind not in rk.KNOWN_LINK_TYPES:
        _problem(stats, offset, record,
                 f"link type {kind} is not supported; its frames are skipped")
    stats.link_types[kind] = stats.link_types.get(kind, 0) + count


# (window bytes, frames, how many, stream offset of the window, index of the first frame)
FrameSink = Callable[[np.ndarray, _Frames, int, int, int], Iterator[np.ndarray]]


class _CaptureWalker:
    """Walks a pcap or pcapng file in chunks and hands each batch of frames to a sink."""

    def __init__(self, path: Path, fmt: CaptureFormat, stats: ReadStats,
                 chunk_bytes: int) -> None:
        self.path = path
        self.format = fmt
        self.stats = stats
        self.chunk_bytes = chunk_bytes
        self.records = 0   # pcap records / pcapng blocks walked
        self.frames = 0    # packets among them

    def run(self, sink: FrameSink) -> Iterator[np.ndarray]:
        with open_stream(self.path) as stream:
            win = _Window(stream, self.chunk_bytes)
            if self.format is CaptureFormat.PCAP:
                yield from self._pcap(win, sink)
            else:
                yield from self._pcapng(win, sink)
            error, produced = _gzip_error(stream)
            if error:
                _problem(self.stats, produced, self.records, error, True)

    def _ended(self, win: _Window, pos: int, need: int, what: str) -> None:
        have = win.size - pos
        _problem(self.stats, win.base + pos, self.records,
                 f"file ends inside the {what} ({have} of {need} bytes)", True)

    def _pcap(self, win: _Window, sink: FrameSink) -> Iterator[np.ndarray]:
        buf = win.refill(0)
        if buf.size < 24:
            self._ended(win, 0, 24, "file header")
            return
        little, nano = _PCAP_MAGIC[bytes(buf[:4])]
        order: Literal["little", "big"] = "little" if little else "big"
        snaplen = int.from_bytes(bytes(buf[16:20]), order)
        linktype = int.from_bytes(bytes(buf[20:24]), order) & 0xFFFF
        limit = min(snaplen if snaplen > 0 else PCAP_MAX_SNAPLEN, MAX_RECORD)
        decoder = sink if isinstance(sink, _Decoder) else None
        frames = _Frames(BATCH if decoder is None else 0)
        pos = 24
        while True:
            start = pos
            if decoder is not None:     # walked and decoded in one pass
                n, k, pos, status, detail = rk.read_pcap(buf, pos, little, nano, limit,
                                                         linktype, decoder.out)
                if n:
                    _count_link(self.stats, linktype, n, win.base + start + 16, self.frames)
                    yield from decoder.rows(n, k)
            else:
                n, pos, status, detail = rk.walk_pcap(
                    buf, pos, little, nano, limit, linktype,
                    frames.off, frames.caplen, frames.wirelen, frames.link, frames.ts)
                if n:
                    yield from sink(buf, frames, n, win.base, self.frames)
            if n:
                self.records += n
                self.frames += n
            if status == rk.FULL:
                continue
            if status == rk.BAD:
                reason = (f"captured length {detail} exceeds snap length {snaplen}"
                          if 0 < snaplen < detail else
                          f"captured length {detail} exceeds the {limit}-byte record limit")
                _problem(self.stats, win.base + pos, self.records, reason)
                return
            if win.eof:
                if pos < win.size:
                    self._ended(win, pos, detail, "record")
                return
            buf = win.refill(pos, detail)
            pos = 0

    def _pcapng(self, win: _Window, sink: FrameSink) -> Iterator[np.ndarray]:
        state = np.zeros(rk.STATE_SIZE, np.int64)
        if_link = np.zeros(rk.MAX_INTERFACES, np.int64)
        if_snap = np.zeros(rk.MAX_INTERFACES, np.int64)
        if_resol = np.zeros(rk.MAX_INTERFACES, np.int64)
        if_offset = np.zeros(rk.MAX_INTERFACES, np.int64)
        frames = _Frames(BATCH)
        buf = win.refill(0)
        pos = 0
        while True:
            n, pos, status, detail = rk.walk_pcapng(
                buf, pos, state, if_link, if_snap, if_resol, if_offset,
                frames.off, frames.caplen, frames.wirelen, frames.link, frames.ts)
            self.records = int(state[rk.ST_BLOCKS])
            if n:
                yield from sink(buf, frames, n, win.base, self.frames)
                self.frames += n
            if status == rk.FULL:
                continue
            if status == rk.BAD:
                _problem(self.stats, win.base + pos, self.records,
                         _pcapng_reason(buf, pos, detail, int(state[rk.ST_LITTLE])))
                break
            if win.eof:
                if pos < win.size:
                    self._ended(win, pos, detail, "block")
                break
            buf = win.refill(pos, detail)
            pos = 0
        if state[rk.ST_BAD_IF]:
            self.stats.skipped += int(state[rk.ST_BAD_IF])
            _problem(self.stats, int(state[rk.ST_BAD_IF_AT]), self.records,
                     f"{int(state[rk.ST_BAD_IF])} packets name an interface no block "
                     "described before them; they are skipped")


def _pcapng_reason(buf: np.ndarray, pos: int, code: int, little: int) -> str:
    order: Literal["little", "big"] = "little" if little else "big"

    def word(at: int) -> int:
        return int.from_bytes(bytes(buf[pos + at : pos + at + 4]), order)

    if code == rk.BAD_BYTE_ORDER:
        return f"section header with unknown byte-order magic {bytes(buf[pos + 8 : pos + 12]).hex()}"
    if code == rk.NOT_A_SECTION:
        return "block before any section header block"
    if code == rk.TOO_MANY_INTERFACES:
        return f"more than {rk.MAX_INTERFACES} interfaces in one section"
    blen = word(4)
    if code == rk.BLOCK_TOO_LONG:
        return f"block length {blen} exceeds the {rk.MAX_BLOCK}-byte limit"
    if code == rk.BLOCK_LEN_MISMATCH:
        return f"block length {blen} at the start and {word(blen - 4)} at the end disagree"
    if code == rk.CAPLEN_OVER_BLOCK:
        return f"captured length {word(20)} does not fit in a block of {blen} bytes"
    return f"block length {blen} is too short for block type {word(0):#x} or not a multiple of 4"


class _Decoder:
    """Frames to PACKET rows, decoded into an array of ``BATCH`` rows (never zeroed: the
    kernels write every field). Without ``reuse`` each batch is an array of its own (the
    array itself when mostly full, else a copy of its rows); with it, the same array
    every time, each batch written over the one before."""

    def __init__(self, stats: ReadStats, reuse: bool) -> None:
        self.stats = stats
        self.reuse = reuse
        self.out = np.empty(BATCH, PACKET)

    def rows(self, frames: int, rows: int) -> Iterator[np.ndarray]:
        """The ``rows`` rows decoded from ``frames`` frames (the others were not IP)."""
        self.stats.packets += rows
        self.stats.skipped += frames - rows
        if not rows:
            return
        if self.reuse:
            yield self.out[:rows]
        elif 2 * rows >= len(self.out):     # mostly full: hand the array over, make another
            handed, self.out = self.out[:rows], np.empty(len(self.out), PACKET)
            yield handed
        else:
            yield self.out[:rows].copy()

    def __call__(self, buf: np.ndarray, frames: _Frames, n: int, base: int,
                 first: int) -> Iterator[np.ndarray]:
        """The ``FrameSink`` of walked frames (pcapng)."""
        _count_links(self.stats, frames.link[:n], frames.off[:n], base, first)
        k = rk.decode_frames(buf, frames.off, frames.caplen, frames.wirelen, frames.link,
                             frames.ts, n, self.out)
        yield from self.rows(n, k)


# -- public API ---------------------------------------------------------------------------


def iter_packets(path: str | Path, chunk_bytes: int = CHUNK_BYTES, *,
                 reuse: bool = False) -> PacketStream:
    """PACKET arrays from any capture or flow file, read ``chunk_bytes`` at a time.

    With ``reuse``, a pcap or pcapng stream yields the same array each time, the next
    batch written over the last: for a caller that is done with a batch before it asks
    for the next (the pipeline), which saves a fresh 20 MB array a batch.
    Raises CaptureError at once when the format is not recognised; anything wrong later
    is reported in ``stream.stats`` (problems, truncated) after what came before it."""
    path = Path(path)
    fmt = detect_format(path)
    stats = ReadStats(str(path), fmt)
    if fmt in (CaptureFormat.PCAP, CaptureFormat.PCAPNG):
        walker = _CaptureWalker(path, fmt, stats, chunk_bytes)
        return PacketStream(stats, walker.run(_Decoder(stats, reuse)))
    return PacketStream(stats, _flow_file_rows(path, fmt, stats, chunk_bytes))


def read_packets(path: str | Path, chunk_bytes: int = CHUNK_BYTES) -> tuple[np.ndarray, ReadStats]:
    """The whole file as one PACKET array (for small captures and tests)."""
    stream = iter_packets(path, chunk_bytes)
    parts = list(stream)
    rows = np.concatenate(parts) if parts else np.zeros(0, PACKET)
    return rows, stream.stats


def iter_flows(path: str | Path, chunk_bytes: int = CHUNK_BYTES,
               ports: frozenset[int] = flows.FLOW_PORTS) -> PacketStream:
    """Flow rows (``count`` = packets) from a flow file, or from the NetFlow/IPFIX export
    datagrams in a pcap/pcapng: UDP to one of ``ports``, or any UDP payload that parses
    exactly as an export packet."""
    path = Path(path)
    fmt = detect_format(path)
    stats = ReadStats(str(path), fmt)
    if fmt in (CaptureFormat.PCAP, CaptureFormat.PCAPNG):
        walker = _CaptureWalker(path, fmt, stats, chunk_bytes)
        return PacketStream(stats, walker.run(_export_sink(stats, ports)))
    return PacketStream(stats, _flow_file_rows(path, fmt, stats, chunk_bytes))


def read_flows(path: str | Path, chunk_bytes: int = CHUNK_BYTES) -> tuple[np.ndarray, ReadStats]:
    stream = iter_flows(path, chunk_bytes)
    parts = list(stream)
    rows = np.concatenate(parts) if parts else np.zeros(0, PACKET)
    return rows, stream.stats


# -- flows ------------------------------------------------------------------------------


def _export_sink(stats: ReadStats, ports: frozenset[int]) -> FrameSink:
    decoder = flows.FlowDecoder()
    start = np.empty(BATCH, np.int64)
    length = np.empty(BATCH, np.int64)
    dport = np.empty(BATCH, np.int64)
    source = np.empty(BATCH, np.int64)
    index = np.empty(BATCH, np.int64)

    def extract(buf: np.ndarray, frames: _Frames, n: int, base: int,
                first: int) -> Iterator[np.ndarray]:
        _count_links(stats, frames.link[:n], frames.off[:n], base, first)
        k = rk.udp_payloads(buf, frames.off, frames.caplen, frames.link, n,
                            start, length, dport, source, index)
        version = np.zeros(k, np.int64)
        room = length[:k] >= 2
        version[room] = (buf[start[:k][room]].astype(np.int64) << 8) | buf[start[:k][room] + 1]
        candidate = np.isin(dport[:k], list(ports)) | np.isin(version, (5, 9, 10))
        exports = 0
        parts = []
        for i in np.flatnonzero(candidate):
            payload = buf[start[i] : start[i] + length[i]].tobytes()
            if flows.export_length(payload, 0, True) != len(payload):
                continue
            exports += 1
            try:
                parts.append(decoder.decode(payload, int(source[i])))
            except flows.FlowError as exc:
                _problem(stats, base + int(start[i]), first + int(index[i]), str(exc))
            for note in decoder.take_notes():
                _problem(stats, base + int(start[i]), first + int(index[i]), note)
        stats.skipped += n - exports
        rows = [p for p in parts if p.size]
        if rows:
            out = np.concatenate(rows)
            stats.packets += out.size
            yield out

    return extract


def _flow_file_rows(path: Path, fmt: CaptureFormat, stats: ReadStats,
                    chunk_bytes: int) -> Iterator[np.ndarray]:
    with open_stream(path) as stream:
        if fmt is CaptureFormat.NFDUMP_CSV:
            rows = flows.read_nfdump_csv(stream, stats)
        else:
            rows = _export_file_rows(stream, stats, chunk_bytes)
        for batch in rows:
            stats.packets += batch.size
            yield batch
        error, produced = _gzip_error(stream)
        if error:
            _problem(stats, produced, stats.packets + stats.skipped, error, True)


def _export_file_rows(stream: io.BufferedReader, stats: ReadStats,
                      chunk_bytes: int) -> Iterator[np.ndarray]:
    """Export packets dumped one after another: each one's length from its header."""
    decoder = flows.FlowDecoder()
    win = _Window(stream, chunk_bytes)
    buf = win.refill(0)
    data = buf.tobytes()
    pos = 0
    record = 0
    while True:
        size = flows.export_length(data, pos, win.eof)
        if size > 0:
            try:
                rows = decoder.decode(data[pos : pos + size], 0)
            except flows.FlowError as exc:
                _problem(stats, win.base + pos, record, str(exc))
                rows = np.zeros(0, PACKET)
            for note in decoder.take_notes():
                _problem(stats, win.base + pos, record, note)
            if rows.size:
                yield rows
            pos += size
            record += 1
            continue
        if size < 0:
            _problem(stats, win.base + pos, record,
                     f"not an export packet header (version word {data[pos : pos + 2].hex()})")
            return
        if win.eof:
            if pos < len(data):
                _problem(stats, win.base + pos, record,
                         f"file ends inside the export packet ({len(data) - pos} bytes left)",
                         True)
            return
        buf = win.refill(pos, len(data) - pos + flows.MAX_EXPORT + 4)
        data = buf.tobytes()
        pos = 0
