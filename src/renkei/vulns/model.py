"""The records every advisory feed is read into, and every matcher works on.

Readers (``vulns.feeds``) turn a publisher's format into these plain values; the store
keeps each source's record as its own row and merges records that name the same CVE into
one vulnerability; matchers (``vulns.match``) are pure functions over them. Nothing here
touches the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Source(StrEnum):
    """Who published a record: the store keeps one record per (source, id)."""

    OSV = "osv"
    CVE = "cve"  # CVE JSON 5.x, as the CVE Program publishes it
    NVD = "nvd"  # NVD API 2.0
    JVN = "jvn"  # JVN iPedia: VULDEF XML, JVNRSS / JVNDB RSS
    CSAF = "csaf"
    HUB = "hub"  # advisories this hub wrote


class EventKind(StrEnum):
    """An OSV range event."""

    INTRODUCED = "introduced"
    FIXED = "fixed"
    LAST_AFFECTED = "last_affected"
    LIMIT = "limit"


@dataclass(frozen=True)
class Severity:
    """A score as its publisher gave it: ``scheme`` is ``CVSS_V2``, ``CVSS_V3`` (3.0 and
    3.1: the vector says which), ``CVSS_V4``, or a publisher's own word (``Ubuntu``,
    ``JVN`` severity text …). ``score`` is the publisher's figure when it gave one."""

    scheme: str
    vector: str | None = None
    score: float | None = None
    publisher: str = ""  # e.g. "nvd@nist.gov" (primary) or a CNA's name


@dataclass(frozen=True)
class RangeEvent:
    kind: EventKind
    version: str


@dataclass(frozen=True)
class AffectedRange:
    """One OSV range: ``type`` is ECOSYSTEM, SEMVER or GIT; events as published, in order."""

    type: str
    events: tuple[RangeEvent, ...]
    repo: str | None = None  # GIT ranges only


@dataclass(frozen=True)
class AffectedPackage:
    """A package (OSV ``affected[]`` entry, or a CSAF/CVE product named by purl)."""

    ecosystem: str  # OSV's ecosystem name: "PyPI", "npm", "Debian:12", "Maven" …
    name: str
    purl: str | None = None
    ranges: tuple[AffectedRange, ...] = ()
    versions: tuple[str, ...] = ()  # the explicit list OSV records may carry


@dataclass(frozen=True)
class CpeMatch:
    """NVD's cpeMatch: a CPE 2.3 pattern and optional version bounds. ``vulnerable`` false
    marks a platform the flaw needs, not the flawed product."""

    criteria: str
    vulnerable: bool = True
    version_start_including: str | None = None
    version_start_excluding: str | None = None
    version_end_including: str | None = None
    version_end_excluding: str | None = None


@dataclass(frozen=True)
class CpeNode:
    operator: str  # "OR" | "AND"
    matches: tuple[CpeMatch, ...]
    negate: bool = False


@dataclass(frozen=True)
class CpeConfiguration:
    """One NVD configuration: its nodes combined by ``operator`` (absent in NVD means OR)."""

    nodes: tuple[CpeNode, ...]
    operator: str = "OR"
    negate: bool = False


@dataclass(frozen=True)
class VersionBound:
    """One side of a version range read from prose (JVN's 「2.4.1 より前」 …)."""

    version: str
    inclusive: bool


@dataclass(frozen=True)
class ProductVersions:
    """A product as JVN (or a CSAF product tree without purls) names it: vendor, product,
    the CPE if given, and the version text both as published and as parsed. ``parsed``
    false means the text could not be read as a range: the match is flagged, not guessed."""

    vendor: str
    product: str
    cpe: str | None = None
    text: str = ""
    lower: VersionBound | None = None
    upper: VersionBound | None = None
    exact: tuple[str, ...] = ()
    parsed: bool = True


@dataclass
class Advisory:
    """One source's record about one vulnerability."""

    source: Source
    id: str  # the record's own id: GHSA-…, PYSEC-…, CVE-…, JVNDB-2024-000123, a CSAF tracking id
    modified: datetime | None
    published: datetime | None = None
    withdrawn: datetime | None = None
    aliases: tuple[str, ...] = ()  # other ids for the same flaw (CVE ids above all)
    title: str = ""
    summary: str = ""
    details: str = ""
    severities: tuple[Severity, ...] = ()
    packages: tuple[AffectedPackage, ...] = ()
    configurations: tuple[CpeConfiguration, ...] = ()
    products: tuple[ProductVersions, ...] = ()
    cwes: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    language: str = "en"  # JVN iPedia's records are Japanese
    raw: dict[str, Any] = field(default_factory=dict)  # the source's own record, as read

    @property
    def cves(self) -> tuple[str, ...]:
        """The CVE ids this record is about (its own id when it is one)."""
        ids = (self.id, *self.aliases)
        return tuple(dict.fromkeys(i for i in ids if i.startswith("CVE-")))


@dataclass(frozen=True)
class KevEntry:
    """CISA's Known Exploited Vulnerabilities catalogue: one entry."""

    cve: str
    vendor: str
    product: str
    name: str
    date_added: datetime
    due_date: datetime | None = None
    ransomware: bool = False  # knownRansomwareCampaignUse == "Known"
    action: str = ""
    notes: str = ""


@dataclass(frozen=True)
class EpssScore:
    """FIRST's EPSS: probability of exploitation in the next 30 days, and its percentile."""

    cve: str
    epss: float
    percentile: float
    date: datetime | None = None  # the score's date, from the CSV's header comment


@dataclass(frozen=True)
class FeedProblem:
    """A record that could not be read: where it was and why; the rest of the feed goes on."""

    location: str  # file (and member of a zip), with line or index when known
    record_id: str | None
    message: str


Record = Advisory | KevEntry | EpssScore | FeedProblem


@dataclass(frozen=True)
class Component:
    """Something a member runs: a package named by purl, or a product named by CPE 2.3.

    ``given`` is the identifier exactly as the inventory gave it (the match output's
    ``component``); ``version`` is the version to match (the purl's or CPE's own, or one the
    inventory format states beside the name). A CPE is never guessed from a package name."""

    given: str
    version: str | None
    purl: str | None = None
    cpe: str | None = None
    ecosystem: str | None = None  # OSV ecosystem name for a purl ("PyPI", "npm", "Debian" …)
    name: str = ""
    location: str = ""  # file:line (or JSON path) it was read from


@dataclass(frozen=True)
class Hit:
    """A component a record says is affected. ``certain`` false: the version could not be
    parsed in the ecosystem's order (or the range's text could not be read), so the hit is
    flagged for a person, not decided; ``why`` says which range or CPE matched."""

    component: Component
    advisory: str  # (source, id) of the record, as "osv:GHSA-…", "nvd:CVE-…"
    why: str
    certain: bool = True
