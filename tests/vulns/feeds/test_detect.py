"""Format detection and ``read_path``: folders, zips, gzip, and hostile files."""

from __future__ import annotations

import gzip
import io
import struct
import tempfile
import zipfile
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from renkei.vulns import feeds
from renkei.vulns.feeds import detect, read_path
from renkei.vulns.model import Advisory, FeedProblem

from .test_cve5 import record as cve5_record
from .test_nvd import cve, feed
from .test_osv import RECORD, YAML

OSV = orjson.dumps(RECORD)
CVE5 = orjson.dumps(cve5_record())
NVD = feed(cve(1), cve(2))


def test_detect_each_format() -> None:
    assert detect(OSV, "GHSA-abcd-1234-wxyz.json") == "osv"
    assert detect(YAML, "PYSEC-2024-77.yaml") == "osv"
    assert detect(CVE5, "CVE-2024-33333.json") == "cve5"
    assert detect(NVD, "nvdcve-2.0-2024.json") == "nvd"
    assert detect(NVD[:100], "cut.json") == "nvd"  # a head cut mid-record
    assert detect(b"hello world", "README.md") is None
    assert detect(b"\xef\xbb\xbf" + OSV, "bom.json") == "osv"


def test_folder_walk_sorted_skipping_hidden(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "x.json").write_bytes(OSV)
    (tmp_path / "b" / "PYSEC-2024-77.yaml").write_bytes(YAML)
    (tmp_path / "a.json").write_bytes(OSV)
    (tmp_path / ".hidden.json").write_bytes(OSV)
    (tmp_path / "README.md").write_text("# not a feed\n")
    (tmp_path / "empty.json").write_bytes(b"")
    out = list(read_path(tmp_path))
    assert [(type(o).__name__, getattr(o, "id", None) or o.location.rsplit("/", 1)[-1]) for o in out] == [  # type: ignore[union-attr]
        ("FeedProblem", "README.md"),
        ("Advisory", "GHSA-abcd-1234-wxyz"),
        ("Advisory", "PYSEC-2024-77"),
        ("FeedProblem", "empty.json"),
    ]
    assert "empty" in out[3].message  # type: ignore[union-attr]


def test_hostile_files(tmp_path: Path) -> None:
    cases = {
        "truncated.json": OSV[: len(OSV) // 2],
        "latin1.json": OSV.replace(b"Path traversal", "Pfad\u00fcberschreitung".encode("latin-1")),
        "utf16.json": OSV.decode().encode("utf-16"),
        "deep.json": b'{"id": "X-1", "modified": "2024-01-01T00:00:00Z", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        "bad.gz": b"\x1f\x8b\x08\x00garbage",
        "cut.json.gz": gzip.compress(NVD)[:-20],
        "missing.json": None,
    }
    for name, data in cases.items():
        if data is not None:
            (tmp_path / name).write_bytes(data)
        out = list(read_path(tmp_path / name))
        assert len(out) == 1, (name, out)
        assert isinstance(out[0], FeedProblem), (name, out)
        assert out[0].location == str(tmp_path / name)


def test_gzip_and_size_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "nvd.json.gz").write_bytes(gzip.compress(NVD))
    assert [o.id for o in read_path(tmp_path / "nvd.json.gz")] == ["CVE-2024-00001", "CVE-2024-00002"]  # type: ignore[union-attr]
    monkeypatch.setattr(feeds, "MAX_FILE_BYTES", 1000)
    (tmp_path / "big.json").write_bytes(NVD)
    for name in ("big.json", "nvd.json.gz"):
        [out] = read_path(tmp_path / name)
        assert isinstance(out, FeedProblem)
        assert "bigger" in out.message


def _declare_size(data: bytes, member: str, size: int) -> bytes:
    """A zip whose central directory claims ``size`` bytes for ``member``."""
    at = data.index(b"PK\x01\x02" + data[data.index(b"PK\x01\x02") + 4:][:0])
    while True:
        name_len = struct.unpack_from("<H", data, at + 28)[0]
        if data[at + 46: at + 46 + name_len].decode() == member:
            return data[: at + 24] + struct.pack("<I", size) + data[at + 28:]
        at = data.index(b"PK\x01\x02", at + 4)


def test_zip_members(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("PyPI/GHSA-abcd-1234-wxyz.json", OSV)
        archive.writestr("PyPI/bad.json", b'{"id": "GHSA-x", "modified": ')
        archive.writestr("PyPI/bomb.json", b"\x00" * (4 * 1024 * 1024))
        archive.writestr("PyPI/liar.json", OSV)
        archive.writestr("PyPI/nested.zip", b"PK\x05\x06" + b"\x00" * 18)
        archive.writestr("__MACOSX/._x.json", b"junk")
        archive.writestr("nvd/2024.json.gz", gzip.compress(NVD))
    data = _declare_size(buffer.getvalue(), "PyPI/liar.json", 600 * 1024 * 1024)
    (tmp_path / "all.zip").write_bytes(data)
    out = list(read_path(tmp_path / "all.zip"))
    where = {o.location.split("!")[1]: o for o in out if isinstance(o, FeedProblem)}
    assert set(where) == {"PyPI/bad.json", "PyPI/bomb.json", "PyPI/liar.json", "PyPI/nested.zip"}
    assert "bomb" in where["PyPI/bomb.json"].message
    assert "declares" in where["PyPI/liar.json"].message
    assert [o.id for o in out if isinstance(o, Advisory)] == ["GHSA-abcd-1234-wxyz", "CVE-2024-00001", "CVE-2024-00002"]
    (tmp_path / "broken.zip").write_bytes(data[: len(data) // 2])
    out = list(read_path(tmp_path / "broken.zip"))
    assert out
    assert all(isinstance(o, FeedProblem) for o in out)


SEEDS = [OSV, CVE5, NVD, YAML, b"", b"{}", b"[]"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.sampled_from(SEEDS),
    cut=st.integers(min_value=0, max_value=4000),
    flips=st.lists(st.tuples(st.integers(min_value=0, max_value=4000), st.integers(0, 255)), max_size=8),
    noise=st.binary(max_size=200),
    name=st.sampled_from(["x.json", "x.yaml", "x.json.gz", "x.xml", "x.csv"]),
)
def test_read_path_never_raises(seed: bytes, cut: int, flips: list[tuple[int, int]], noise: bytes, name: str) -> None:
    data = bytearray(seed[: max(cut, 1)] if cut < len(seed) else seed)
    for at, value in flips:
        if data:
            data[at % len(data)] = value
    data += noise
    payload = gzip.compress(bytes(data)) if name.endswith(".gz") else bytes(data)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(payload)
        for rec in read_path(path):
            assert isinstance(rec, (Advisory, FeedProblem)) or type(rec).__name__ in ("KevEntry", "EpssScore")


@settings(max_examples=60, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
                    max_leaves=30),
       st.sampled_from(["osv", "cve5", "nvd"]))
def test_random_json_in_known_shapes(value: object, fmt: str) -> None:
    from renkei.vulns.feeds.detect import module

    shells: dict[str, object] = {
        "osv": {"id": "X-1", "modified": "2024-01-01T00:00:00Z", "affected": value, "severity": value},
        "cve5": {"cveMetadata": {"cveId": "CVE-1"}, "containers": {"cna": {"affected": value, "metrics": value}}},
        "nvd": {"format": "NVD_CVE", "vulnerabilities": [{"cve": {"id": "CVE-1", "configurations": value, "metrics": value}}]},
    }
    data = orjson.dumps(shells[fmt], option=orjson.OPT_NON_STR_KEYS)
    for rec in module(fmt).read(data, "x.json"):
        assert isinstance(rec, (Advisory, FeedProblem))
