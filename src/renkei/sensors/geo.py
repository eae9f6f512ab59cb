"""Which country and which network (autonomous system) an address belongs to, offline.

A report names where scanners and DoS victims are; the lookup must work on a machine with
no Internet access and must not send the addresses anywhere, so every source is a file.

- Country by default comes from the Regional Internet Registries' delegation statistics,
  which the ``iptocc`` package embeds (refreshed with each of its releases). It names the
  country an address block was *delegated* to, which for a scanner is what matters: whose
  CSIRT to tell. No package on PyPI ships address-to-AS data under terms that allow it to be
  bundled and kept stale (``geoip2fast`` ships a GeoLite2 snapshot, whose licence requires
  deleting old copies within 30 days), so the AS comes only from a file the user supplies:
- a MaxMind DB (``.mmdb``): GeoLite2/GeoIP2 Country, City and ASN, and the free files of
  other vendors in the same format (DB-IP Lite, IPinfo Lite), whose field names differ;
- iptoasn.com's ``ip2asn-combined.tsv`` (optionally gzipped), public domain (PDDL).

Lookups are batched and cached per distinct address, since a report asks for the same
few thousand scanners again and again.
"""

from __future__ import annotations

import bisect
import csv
import gzip
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

import iptocc
import maxminddb
import numpy as np

from renkei.core.errors import UserError

CACHE_LIMIT = 1_000_000  # distinct addresses kept; past it the cache starts afresh


@dataclass(frozen=True, slots=True)
class GeoInfo:
    """What is known of one address; ``None`` where no source knows."""

    country: str | None = None      # ISO 3166-1 alpha-2, upper case
    asn: int | None = None
    as_name: str | None = None

    def to_json(self) -> dict[str, object]:
        return {"country": self.country, "asn": self.asn, "as_name": self.as_name}


UNKNOWN = GeoInfo()


class GeoDataError(UserError):
    """A geo data file is missing or not in a format renkei reads."""


class GeoSource(Protocol):
    """One data source; ``attribution`` is printed in reports, as the data licences ask."""

    attribution: str

    def lookup(self, addresses: Sequence[str]) -> list[GeoInfo]:
        """One answer per address, in order; ``UNKNOWN`` for what the source does not know."""
        ...


class RirCountries:
    """Country of delegation from the RIR statistics embedded in ``iptocc``."""

    attribution = ("Country: delegation statistics of AFRINIC, APNIC, ARIN, LACNIC and "
                   "RIPE NCC (iptocc package)")

    def lookup(self, addresses: Sequence[str]) -> list[GeoInfo]:
        codes = iptocc.country_code(list(addresses))
        return [GeoInfo(country=code) if code else UNKNOWN for code in codes]


def _country(record: dict[str, Any]) -> str | None:
    for key in ("country", "registered_country"):       # MaxMind, DB-IP
        value = record.get(key)
        if isinstance(value, dict) and isinstance(value.get("iso_code"), str):
            return str(value["iso_code"]).upper()
    code = record.get("country_code")                   # IPinfo Lite
    return code.upper() if isinstance(code, str) and code else None


def _asn(record: dict[str, Any]) -> tuple[int | None, str | None]:
    number = record.get("autonomous_system_number", record.get("asn"))
    if isinstance(number, str):                         # IPinfo writes "AS15169"
        digits = number.upper().removeprefix("AS")
        number = int(digits) if digits.isascii() and digits.isdigit() and len(digits) <= 10 else None
    name = record.get("autonomous_system_organization", record.get("as_name"))
    return (number if isinstance(number, int) else None,
            name if isinstance(name, str) and name else None)


class MmdbSource:
    """A MaxMind DB file read with ``maxminddb`` (its C extension where installed)."""

    def __init__(self, path: Path | str, *, country: bool = True, asn: bool = True) -> None:
        self.path = Path(path)
        self.want_country, self.want_asn = country, asn
        try:
            self._reader = maxminddb.open_database(str(self.path))
        except FileNotFoundError as exc:
            raise GeoDataError("no such geo data file: {path}", path=str(self.path)) from exc
        except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:
            raise GeoDataError("{path} is not a MaxMind DB file ({reason})",
                               path=str(self.path), reason=str(exc)) from exc
        kind = self._reader.metadata().database_type
        self.attribution = f"{kind} ({self.path.name})"

    def _info(self, address: str) -> GeoInfo:
        try:
            record = self._reader.get(address)
        except (ValueError, TypeError):    # not an address, or IPv6 in an IPv4-only file
            return UNKNOWN
        if not isinstance(record, dict):
            return UNKNOWN
        country = _country(record) if self.want_country else None
        asn, name = _asn(record) if self.want_asn else (None, None)
        return GeoInfo(country, asn, name)

    def lookup(self, addresses: Sequence[str]) -> list[GeoInfo]:
        return [self._info(address) for address in addresses]

    def close(self) -> None:
        self._reader.close()


def _open_text(path: Path) -> IO[str]:
    with path.open("rb") as fh:
        gzipped = fh.read(2) == b"\x1f\x8b"
    if gzipped:
        return gzip.open(path, "rt", encoding="utf-8", errors="replace", newline="")
    return path.open(encoding="utf-8", errors="replace", newline="")


class Ip2asnTable:
    """iptoasn.com's ranges (start, end, AS, country, AS name), searched by bisection.

    IPv4 ranges go to numpy arrays and a batch is one ``searchsorted``; IPv6 ranges, fewer
    and 128 bits wide, stay Python integers searched with ``bisect``.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.attribution = f"AS: iptoasn.com, public domain (PDDL) ({self.path.name})"
        v4: list[tuple[int, int, int]] = []
        v6: list[tuple[int, int, int]] = []
        self._infos: list[GeoInfo] = []
        known: dict[GeoInfo, int] = {}
        try:
            with _open_text(self.path) as fh:
                for row in csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
                    parsed = _range(row)
                    if parsed is None:
                        continue
                    first, last, info = parsed
                    index = known.setdefault(info, len(self._infos))
                    if index == len(self._infos):
                        self._infos.append(info)
                    (v4 if first.version == 4 else v6).append((int(first), int(last), index))
        except FileNotFoundError as exc:
            raise GeoDataError("no such geo data file: {path}", path=str(self.path)) from exc
        if not v4 and not v6:
            raise GeoDataError("{path} has no address ranges in ip2asn format",
                               path=str(self.path))
        v4.sort()
        v6.sort()
        self._v4_start = np.array([r[0] for r in v4], dtype=np.int64)
        self._v4_end = np.array([r[1] for r in v4], dtype=np.int64)
        self._v4_info = np.array([r[2] for r in v4], dtype=np.int64)
        self._v6 = v6
        self._v6_start = [r[0] for r in v6]

    def _v6_info(self, value: int) -> GeoInfo:
        at = bisect.bisect_right(self._v6_start, value) - 1
        if at >= 0 and value <= self._v6[at][1]:
            return self._infos[self._v6[at][2]]
        return UNKNOWN

    def lookup(self, addresses: Sequence[str]) -> list[GeoInfo]:
        out = [UNKNOWN] * len(addresses)
        v4_at: list[int] = []
        v4_value: list[int] = []
        for i, text in enumerate(addresses):
            try:
                address = ipaddress.ip_address(text)
            except ValueError:
                continue
            if address.version == 4:
                v4_at.append(i)
                v4_value.append(int(address))
            else:
                out[i] = self._v6_info(int(address))
        if v4_at and len(self._v4_start):
            values = np.array(v4_value, dtype=np.int64)
            at = np.searchsorted(self._v4_start, values, side="right") - 1
            hit = (at >= 0) & (values <= self._v4_end[np.maximum(at, 0)])
            for i, found, index in zip(v4_at, hit.tolist(), at.tolist(), strict=True):
                if found:
                    out[i] = self._infos[int(self._v4_info[index])]
        return out


def _range(row: list[str]) -> tuple[Any, Any, GeoInfo] | None:
    """One ip2asn line; AS 0 ("Not routed") and malformed lines are left out."""
    if len(row) < 3:
        return None
    try:
        first, last = ipaddress.ip_address(row[0]), ipaddress.ip_address(row[1])
        number = int(row[2])
    except ValueError:
        return None
    if number <= 0 or first.version != last.version or int(last) < int(first):
        return None
    country = row[3].strip().upper() if len(row) > 3 else ""
    name = row[4].strip() if len(row) > 4 else ""
    valid_country = len(country) == 2 and country.isalpha() and country != "ZZ"
    return first, last, GeoInfo(country if valid_country else None, number, name or None)


def _merge(first: GeoInfo, second: GeoInfo) -> GeoInfo:
    """Each field from the first source that knows it."""
    if first.country is not None and first.asn is not None:
        return first
    return GeoInfo(first.country if first.country is not None else second.country,
                   first.asn if first.asn is not None else second.asn,
                   first.as_name if first.asn is not None else second.as_name)


class Geo:
    """Country and AS per address from one or more sources, the first that knows winning."""

    def __init__(self, sources: Iterable[GeoSource], *, cache_limit: int = CACHE_LIMIT) -> None:
        self.sources = list(sources)
        self._cache: dict[str, GeoInfo] = {}
        self._cache_limit = cache_limit

    @classmethod
    def default(cls) -> Geo:
        """Countries from the shipped RIR data; no AS (see the module text)."""
        return cls([RirCountries()])

    @classmethod
    def from_mmdb(cls, country: Path | str | None = None,
                  asn: Path | str | None = None) -> Geo:
        """MaxMind DB files; without a country file, countries come from the shipped data."""
        sources: list[GeoSource] = []
        if asn is not None:
            sources.append(MmdbSource(asn, country=False, asn=True))
        sources.append(MmdbSource(country, country=True, asn=False) if country is not None
                       else RirCountries())
        return cls(sources)

    @classmethod
    def from_files(cls, country: Path | str | None = None,
                   asn: Path | str | None = None) -> Geo:
        """What a setting names: ``.mmdb`` files, or an ip2asn ``.tsv``/``.tsv.gz`` for AS.

        The ip2asn table's own country codes are not used: they are one per AS, not per
        block, so the country file or the shipped RIR data answers that.
        """
        sources: list[GeoSource] = []
        if asn is not None:
            asn_path = Path(asn)
            if asn_path.suffix.lower() == ".mmdb":
                sources.append(MmdbSource(asn_path, country=False, asn=True))
            else:
                sources.append(_AsnOnly(Ip2asnTable(asn_path)))
        sources.append(MmdbSource(country, country=True, asn=False) if country is not None
                       else RirCountries())
        return cls(sources)

    @property
    def attributions(self) -> list[str]:
        return [source.attribution for source in self.sources]

    def lookup_many(self, addresses: Sequence[str]) -> list[GeoInfo]:
        """One answer per address, in order; each distinct address is looked up once."""
        missing = [a for a in dict.fromkeys(addresses) if a not in self._cache]
        if missing:
            if len(self._cache) + len(missing) > self._cache_limit:
                self._cache.clear()
            answers = [UNKNOWN] * len(missing)
            for source in self.sources:
                unsure = [i for i, info in enumerate(answers)
                          if info.country is None or info.asn is None]
                if not unsure:
                    break
                found = source.lookup([missing[i] for i in unsure])
                for i, info in zip(unsure, found, strict=True):
                    answers[i] = _merge(answers[i], info)
            self._cache.update(zip(missing, answers, strict=True))
        return [self._cache[a] for a in addresses]

    def lookup(self, address: str) -> GeoInfo:
        return self.lookup_many([address])[0]


class _AsnOnly:
    """A source's AS answers alone (see ``Geo.from_files``)."""

    def __init__(self, inner: GeoSource) -> None:
        self.inner = inner
        self.attribution = inner.attribution

    def lookup(self, addresses: Sequence[str]) -> list[GeoInfo]:
        return [GeoInfo(None, info.asn, info.as_name) for info in self.inner.lookup(addresses)]
