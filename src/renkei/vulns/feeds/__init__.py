"""Advisory feed readers: one module per publisher format, and ``read_path`` for a file,
a folder, a ``.zip`` (OSV's ``all.zip``) or a ``.gz``.

Nothing here raises on bad input: a file that cannot be read (unknown format, not UTF-8,
truncated, too big, a zip bomb) becomes one ``FeedProblem`` naming it, and the rest of
the feed goes on.
"""

from __future__ import annotations

import gzip
import io
import os
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from renkei.vulns.feeds.detect import BOM, HEAD_BYTES, detect, module
from renkei.vulns.model import FeedProblem, Record

__all__ = ["MAX_FILE_BYTES", "detect", "read_bytes", "read_path"]

MAX_FILE_BYTES = 512 * 1024 * 1024  # one file, decompressed
MAX_RATIO = 1_000  # a zip member inflating more than this (past 1 MiB) is taken for a bomb
_RATIO_FLOOR = 1024 * 1024
_CHUNK = 1024 * 1024
_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
_GZIP = b"\x1f\x8b"


class _TooBigError(Exception):
    pass


def read_path(path: Path | str) -> Iterator[Record]:
    """Every record under ``path``: a file, or a folder walked in name order (hidden
    files and folders skipped, symlinked folders not followed)."""
    path = Path(path)
    if not path.is_dir():
        yield from _read_file(path)
        return
    try:
        entries = sorted(os.scandir(path), key=lambda e: e.name)
    except OSError as exc:
        yield FeedProblem(str(path), None, f"cannot list folder: {exc}")
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir(follow_symlinks=False):
            yield from read_path(Path(entry.path))
        elif entry.is_file():  # regular files (or links to them): never a FIFO
            yield from _read_file(Path(entry.path))


def _read_file(path: Path) -> Iterator[Record]:
    location = str(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES and not _is_archive(path):
            yield FeedProblem(location, None, f"file bigger than {MAX_FILE_BYTES} bytes: not read")
            return
        with path.open("rb") as fh:
            magic = fh.read(4)
        if magic in _ZIP:
            yield from _read_zip(path)
            return
        data = _bounded(path.open("rb"), None) if magic[:2] != _GZIP else _gunzip(path.read_bytes())
    except _TooBigError:
        yield FeedProblem(location, None, f"bigger than {MAX_FILE_BYTES} bytes decompressed: not read")
        return
    except (OSError, EOFError, zlib.error) as exc:
        yield FeedProblem(location, None, f"cannot read: {exc}")
        return
    yield from read_bytes(data, path.name.removesuffix(".gz"), location)


def _is_archive(path: Path) -> bool:
    with path.open("rb") as fh:
        magic = fh.read(4)
    return magic in _ZIP or magic[:2] == _GZIP


def read_bytes(data: bytes, name: str, location: str) -> Iterator[Record]:
    """The records of one (decompressed) file, by its detected format."""
    if not data.strip():
        yield FeedProblem(location, None, "empty file")
        return
    fmt = detect(data[:HEAD_BYTES], name)
    if fmt is None:
        yield FeedProblem(location, None, _unknown(data[:HEAD_BYTES]))
        return
    try:
        yield from module(fmt).read(data, location)
    except Exception as exc:  # a reader's bug must not end the whole feed
        yield FeedProblem(location, None, f"{fmt} reader failed: {type(exc).__name__}: {exc}"[:500])


def _unknown(head: bytes) -> str:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head:
        return "not UTF-8 text (UTF-16 or binary?): format not recognised"
    try:
        head.removeprefix(BOM).decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut by the head's end
            return "not UTF-8 text: format not recognised"
    return "format not recognised (OSV, CVE 5, NVD 2.0, CSAF, JVN, KEV or EPSS expected)"


def _bounded(fh: IO[bytes] | gzip.GzipFile, compressed: int | None) -> bytes:
    """Read at most ``MAX_FILE_BYTES``; for an archive member, also stop at a compression
    ratio no text feed has (declared sizes can lie, so the bytes are counted)."""
    chunks = []
    total = 0
    with fh:
        while chunk := fh.read(_CHUNK):
            total += len(chunk)
            if total > MAX_FILE_BYTES:
                raise _TooBigError
            if compressed is not None and total > _RATIO_FLOOR and total > MAX_RATIO * max(compressed, 1):
                raise _TooBigError
            chunks.append(chunk)
    return b"".join(chunks)


def _gunzip(raw: bytes) -> bytes:
    return _bounded(gzip.GzipFile(fileobj=io.BytesIO(raw)), len(raw))


def _read_zip(path: Path) -> Iterator[Record]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        yield FeedProblem(str(path), None, f"not a readable zip: {exc}")
        return
    with archive:
        members = sorted(archive.infolist(), key=lambda i: i.filename)
        for info in members:
            name = info.filename
            if info.is_dir() or any(p.startswith(".") or p == "__MACOSX" for p in name.split("/")):
                continue
            location = f"{path}!{name}"
            if info.file_size > MAX_FILE_BYTES:
                yield FeedProblem(location, None, f"declares {info.file_size} bytes, over {MAX_FILE_BYTES}: not read")
                continue
            if info.file_size > _RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                yield FeedProblem(location, None, "compression ratio of a zip bomb: not read")
                continue
            try:
                data = _bounded(archive.open(info), info.compress_size)
                if data[:2] == _GZIP:
                    data = _gunzip(data)
            except _TooBigError:
                yield FeedProblem(location, None, "inflates past the size or ratio bound: not read")
                continue
            except Exception as exc:  # BadZipFile, zlib.error, encrypted, unsupported method …
                yield FeedProblem(location, None, f"cannot read zip member: {type(exc).__name__}: {exc}")
                continue
            if data[:4] in _ZIP:
                yield FeedProblem(location, None, "a zip inside a zip is not read")
                continue
            yield from read_bytes(data, name.rsplit("/", 1)[-1].removesuffix(".gz"), location)
