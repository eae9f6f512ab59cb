"""Country and AS lookups: the shipped RIR data, MaxMind DB files, ip2asn tables, the cache.

The .mmdb files are written here by a small writer made from the MaxMind DB format
specification (2.0), so no writer library is needed and the reader is tested against
bytes it did not produce itself.
"""

from __future__ import annotations

import gzip
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from renkei.sensors.geo import (
    UNKNOWN,
    Geo,
    GeoDataError,
    GeoInfo,
    Ip2asnTable,
    MmdbSource,
    RirCountries,
)

# ---------------------------------------------------------------- a MaxMind DB writer

MARKER = b"\xab\xcd\xefMaxMind.com"
UTF8, UINT16, UINT32, MAP, UINT64, ARRAY = 2, 5, 6, 7, 9, 11


@dataclass(frozen=True)
class Typed:
    """A number written as a given type: the metadata's fields have fixed types."""

    kind: int
    value: int


def _control(kind: int, size: int) -> bytes:
    if size < 29:
        low, extra = size, b""
    elif size < 285:
        low, extra = 29, bytes([size - 29])
    else:
        low, extra = 30, (size - 285).to_bytes(2, "big")
    if kind <= 7:
        return bytes([kind << 5 | low]) + extra
    return bytes([low, kind - 7]) + extra  # extended type: the second byte is type - 7


def encode(value: object) -> bytes:
    if isinstance(value, Typed):
        raw = value.value.to_bytes((value.value.bit_length() + 7) // 8, "big")
        return _control(value.kind, len(raw)) + raw
    if isinstance(value, dict):
        return _control(MAP, len(value)) + b"".join(encode(str(k)) + encode(v)
                                                    for k, v in value.items())
    if isinstance(value, list):
        return _control(ARRAY, len(value)) + b"".join(encode(v) for v in value)
    if isinstance(value, str):
        raw = value.encode()
        return _control(UTF8, len(raw)) + raw
    if isinstance(value, int):
        return encode(Typed(UINT32 if value < 2**32 else UINT64, value))
    raise TypeError(type(value))


def _bits(network: str) -> list[int]:
    """The prefix's bits in an IPv6 tree; an IPv4 network sits under ::/96."""
    net = ipaddress.ip_network(network)
    value = int(net.network_address)
    length = net.prefixlen + (96 if net.version == 4 else 0)
    return [(value >> (127 - i)) & 1 for i in range(length)]


def write_mmdb(path: Path, records: dict[str, dict[str, object]],
               database_type: str = "Test-DB") -> Path:
    """``records`` maps networks (``"8.8.8.0/24"``, ``"2001:db8::/32"``) to their data."""
    nodes: list[list[int | tuple[str, int] | None]] = [[None, None]]
    data = b""
    for network, record in records.items():
        offset, data = len(data), data + encode(record)
        bits, node = _bits(network), 0
        for bit in bits[:-1]:
            child = nodes[node][bit]
            if not isinstance(child, int):
                nodes.append([None, None])
                child = nodes[node][bit] = len(nodes) - 1
            node = child
        nodes[node][bits[-1]] = ("data", offset)
    count = len(nodes)

    def number(record: int | tuple[str, int] | None) -> int:
        if record is None:
            return count                       # "no data"
        if isinstance(record, tuple):
            return count + 16 + record[1]      # data section offset, past the 16-byte gap
        return record

    tree = b"".join(number(left).to_bytes(3, "big") + number(right).to_bytes(3, "big")
                    for left, right in nodes)
    metadata = {
        "node_count": Typed(UINT32, count), "record_size": Typed(UINT16, 24),
        "ip_version": Typed(UINT16, 6), "database_type": database_type, "languages": ["en"],
        "binary_format_major_version": Typed(UINT16, 2),
        "binary_format_minor_version": Typed(UINT16, 0),
        "build_epoch": Typed(UINT64, 1_700_000_000), "description": {"en": "renkei test"},
    }
    path.write_bytes(tree + bytes(16) + data + MARKER + encode(metadata))
    return path


@pytest.fixture
def country_mmdb(tmp_path: Path) -> Path:
    return write_mmdb(tmp_path / "country.mmdb", {
        "192.0.2.0/24": {"country": {"iso_code": "JP", "names": {"en": "Japan"}}},
        "198.51.100.0/25": {"registered_country": {"iso_code": "de"}},
        "2001:db8::/32": {"country": {"iso_code": "NL"}},
    }, "GeoLite2-Country")


@pytest.fixture
def asn_mmdb(tmp_path: Path) -> Path:
    return write_mmdb(tmp_path / "asn.mmdb", {
        "192.0.2.0/24": {"autonomous_system_number": 64500,
                         "autonomous_system_organization": "Example Net"},
        "203.0.113.0/24": {"autonomous_system_number": 64501},
        "2001:db8:1::/48": {"autonomous_system_number": 4_200_000_000,
                            "autonomous_system_organization": "Big ASN"},
    }, "GeoLite2-ASN")


# ---------------------------------------------------------------- the shipped data


def test_shipped_countries_know_well_known_addresses() -> None:
    answers = Geo.default().lookup_many(["8.8.8.8", "1.0.16.1", "2001:4860:4860::8888"])
    assert [a.country for a in answers] == ["US", "JP", "US"]
    assert all(a.asn is None for a in answers)  # no AS data is shipped (see geo's docstring)


@pytest.mark.parametrize("address", ["10.0.0.1", "192.168.1.1", "127.0.0.1", "fe80::1",
                                     "not an address", "", "999.1.1.1"])
def test_private_and_bad_addresses_are_unknown(address: str) -> None:
    assert Geo.default().lookup(address) == UNKNOWN


def test_rir_source_answers_a_batch_in_order() -> None:
    found = RirCountries().lookup(["1.0.16.1", "10.1.1.1", "8.8.4.4"])
    assert [f.country for f in found] == ["JP", None, "US"]


# ---------------------------------------------------------------- MaxMind DB


def test_country_and_asn_from_mmdb(country_mmdb: Path, asn_mmdb: Path) -> None:
    geo = Geo.from_mmdb(country=country_mmdb, asn=asn_mmdb)
    assert geo.lookup_many(["192.0.2.7", "198.51.100.1", "198.51.100.200", "203.0.113.9",
                            "2001:db8:1::5", "2001:db9::1"]) == [
        GeoInfo("JP", 64500, "Example Net"),
        GeoInfo("DE", None, None),        # registered_country, upper-cased
        GeoInfo(None, None, None),        # outside every network
        GeoInfo(None, 64501, None),
        GeoInfo("NL", 4_200_000_000, "Big ASN"),
        UNKNOWN,
    ]
    assert geo.attributions == ["GeoLite2-ASN (asn.mmdb)", "GeoLite2-Country (country.mmdb)"]


def test_asn_file_alone_keeps_the_shipped_countries(asn_mmdb: Path) -> None:
    geo = Geo.from_mmdb(asn=asn_mmdb)
    assert geo.lookup("203.0.113.9") == GeoInfo(None, 64501, None)  # TEST-NET: no RIR country
    assert geo.lookup("8.8.8.8") == GeoInfo("US", None, None)
    assert "iptocc" in geo.attributions[-1]


def test_ipinfo_style_fields(tmp_path: Path) -> None:
    path = write_mmdb(tmp_path / "ipinfo_lite.mmdb", {
        "192.0.2.0/24": {"asn": "AS15169", "as_name": "Google LLC", "country_code": "us"},
        "198.51.100.0/24": {"asn": "ASxyz"},
    }, "ipinfo lite.mmdb")
    source = MmdbSource(path)
    assert source.lookup(["192.0.2.1", "198.51.100.1"]) == [
        GeoInfo("US", 15169, "Google LLC"), UNKNOWN]


def test_a_bad_address_or_family_is_unknown_not_an_error(asn_mmdb: Path) -> None:
    assert MmdbSource(asn_mmdb).lookup(["nonsense", "", "::ffff:192.0.2.1"])[:2] == [
        UNKNOWN, UNKNOWN]


def test_missing_or_broken_mmdb_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(GeoDataError, match="no such geo data file"):
        Geo.from_mmdb(country=tmp_path / "absent.mmdb")
    junk = tmp_path / "junk.mmdb"
    junk.write_bytes(b"not a database at all")
    with pytest.raises(GeoDataError, match="is not a MaxMind DB file") as caught:
        Geo.from_mmdb(asn=junk)
    assert caught.value.template == "{path} is not a MaxMind DB file ({reason})"


# ---------------------------------------------------------------- ip2asn


IP2ASN = "\n".join([
    "1.0.0.0\t1.0.0.255\t13335\tUS\tCLOUDFLARENET",
    "1.0.1.0\t1.0.3.255\t0\tNone\tNot routed",
    "192.0.2.0\t192.0.2.127\t64500\tJP\tEXAMPLE-JP",
    "192.0.2.128\t192.0.2.255\t64501\tZZ\t",
    "2001:db8::\t2001:db8:ffff:ffff:ffff:ffff:ffff:ffff\t64502\tNL\tEXAMPLE-NL",
    "garbage line",
    "10.0.0.5\t10.0.0.1\t1\tUS\tbackwards",
]) + "\n"


@pytest.mark.parametrize("gzipped", [False, True])
def test_ip2asn_table(tmp_path: Path, gzipped: bool) -> None:
    path = tmp_path / ("ip2asn.tsv.gz" if gzipped else "ip2asn.tsv")
    path.write_bytes(gzip.compress(IP2ASN.encode()) if gzipped else IP2ASN.encode())
    table = Ip2asnTable(path)
    assert table.lookup(["1.0.0.1", "1.0.2.1", "192.0.2.5", "192.0.2.200", "2001:db8::1",
                         "2001:db9::1", "0.0.0.1", "255.255.255.255", "x", "10.0.0.3"]) == [
        GeoInfo("US", 13335, "CLOUDFLARENET"),
        UNKNOWN,                                  # AS 0: not routed
        GeoInfo("JP", 64500, "EXAMPLE-JP"),
        GeoInfo(None, 64501, None),               # ZZ and an empty name
        GeoInfo("NL", 64502, "EXAMPLE-NL"),
        UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN,
    ]


def test_settings_pick_the_reader_by_suffix(tmp_path: Path, country_mmdb: Path) -> None:
    table = tmp_path / "ip2asn-combined.tsv"
    table.write_text(IP2ASN)
    geo = Geo.from_files(country=country_mmdb, asn=table)
    # AS from the table, country from the country file: the table's one-per-AS country
    # is not used.
    assert geo.lookup("192.0.2.5") == GeoInfo("JP", 64500, "EXAMPLE-JP")
    assert geo.lookup("1.0.0.1") == GeoInfo(None, 13335, "CLOUDFLARENET")
    assert "PDDL" in geo.attributions[0]


def test_an_empty_ip2asn_file_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.tsv"
    empty.write_text("nothing\there\n")
    with pytest.raises(GeoDataError, match="no address ranges"):
        Ip2asnTable(empty)
    with pytest.raises(GeoDataError, match="no such geo data file"):
        Ip2asnTable(tmp_path / "absent.tsv")


# ---------------------------------------------------------------- merging and caching


class Counting:
    """A stub source that records what it was asked."""

    def __init__(self, answers: dict[str, GeoInfo], attribution: str = "stub") -> None:
        self.answers = answers
        self.attribution = attribution
        self.asked: list[list[str]] = []

    def lookup(self, addresses: Sequence[str]) -> list[GeoInfo]:
        self.asked.append(list(addresses))
        return [self.answers.get(a, UNKNOWN) for a in addresses]


def test_first_source_that_knows_wins_field_by_field() -> None:
    asn = Counting({"a": GeoInfo(None, 1, "One"), "b": GeoInfo("FR", 2, None)})
    country = Counting({"a": GeoInfo("JP", 9, "ignored"), "b": GeoInfo("DE", None, None),
                        "c": GeoInfo("US", None, None)})
    geo = Geo([asn, country])
    assert geo.lookup_many(["a", "b", "c"]) == [
        GeoInfo("JP", 1, "One"), GeoInfo("FR", 2, None), GeoInfo("US", None, None)]
    assert country.asked == [["a", "c"]]  # "b" was fully known after the first source


def test_each_distinct_address_is_looked_up_once() -> None:
    stub = Counting({"a": GeoInfo("JP", 1, None)})
    geo = Geo([stub])
    jp = GeoInfo("JP", 1, None)
    assert geo.lookup_many(["a", "b", "a", "a"]) == [jp, UNKNOWN, jp, jp]
    geo.lookup_many(["b", "a", "c"])
    assert stub.asked == [["a", "b"], ["c"]]


def test_cache_is_bounded() -> None:
    stub = Counting({})
    geo = Geo([stub], cache_limit=3)
    geo.lookup_many(["a", "b", "c"])
    geo.lookup_many(["d"])                  # over the limit: starts afresh
    geo.lookup_many(["a"])
    assert stub.asked == [["a", "b", "c"], ["d"], ["a"]]


def test_thousands_of_addresses_in_one_batch() -> None:
    addresses = [f"1.{i // 256 % 256}.{i % 256}.1" for i in range(5000)]
    answers = Geo.default().lookup_many(addresses)
    assert len(answers) == 5000
    assert sum(a.country is not None for a in answers) > 4000


def test_geoinfo_json() -> None:
    assert GeoInfo("JP", 1, "x").to_json() == {"country": "JP", "asn": 1, "as_name": "x"}
