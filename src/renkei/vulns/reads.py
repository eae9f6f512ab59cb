"""Reads the console's vulnerability pages need beyond the API's: search by id, keyword or
product, the affected ranges of each record, feed import history, a member's
subscriptions and suppressions, and alert counts by priority band.

Vulnerability records are public data (any signed-in user reads them). Alerts and
subscriptions belong to one member: callers pass the organisation ``alerts.whose`` gave
them (None: every member's, for the hub's staff), exactly as the API does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, case, func, or_, select
from sqlalchemy.orm import Session

from renkei.vulns.ingest import package_key, product_key
from renkei.vulns.model import Advisory, AffectedRange, CpeMatch, ProductVersions
from renkei.vulns.store import (
    AffectedName,
    AffectedProduct,
    Alert,
    EpssRow,
    FeedImport,
    FeedProblemRow,
    KevEntryRow,
    Subscription,
    Suppression,
    VulnAlias,
    Vulnerability,
    VulnLink,
    VulnRecord,
)

SEARCH_KINDS = ("any", "id", "keyword", "product")
MAX_QUERY_CHARS = 200
MIN_WORD_CHARS = 3
MAX_PAGE = 200
MAX_SUPPRESSIONS = 2_000  # shown on one page
#: the overview's bands, most urgent first: known exploited, then by CVSS
BANDS = ("kev", "critical", "high", "medium", "low", "unscored")


@dataclass(frozen=True)
class Found:
    """One vulnerability a search found: its key, a title from one of its records, KEV and
    EPSS by its key."""

    key: str
    title: str
    updated_at: datetime
    kev: bool
    epss: float | None


def _ids(text: str, kind: str) -> list[ColumnElement[bool]]:
    """Conditions on ``Vulnerability.id`` for the kinds of search asked for."""
    wanted: list[ColumnElement[bool]] = []
    if kind in ("any", "id"):
        by_alias = (select(VulnLink.vulnerability_id)
                    .join(VulnAlias, VulnAlias.record_id == VulnLink.record_id)
                    .where(func.upper(VulnAlias.alias).startswith(text.upper(), autoescape=True)))
        wanted.append(Vulnerability.id.in_(by_alias))
        wanted.append(func.upper(Vulnerability.key).startswith(text.upper(), autoescape=True))
    if len(text) < MIN_WORD_CHARS:
        return wanted
    if kind in ("any", "keyword"):
        by_title = (select(VulnLink.vulnerability_id)
                    .join(VulnRecord, VulnRecord.id == VulnLink.record_id)
                    .where(func.lower(VulnRecord.title).contains(text.lower(), autoescape=True)))
        wanted.append(Vulnerability.id.in_(by_title))
    if kind in ("any", "product"):
        _vendor, product = product_key(text, text)
        _eco, name = package_key("", text)
        by_product = (select(VulnLink.vulnerability_id)
                      .join(AffectedProduct, AffectedProduct.record_id == VulnLink.record_id)
                      .where(or_(AffectedProduct.product.contains(product, autoescape=True),
                                 AffectedProduct.vendor == product)))
        by_name = (select(VulnLink.vulnerability_id)
                   .join(AffectedName, AffectedName.record_id == VulnLink.record_id)
                   .where(AffectedName.name.contains(name, autoescape=True)))
        wanted.extend([Vulnerability.id.in_(by_product), Vulnerability.id.in_(by_name)])
    return wanted


def search(session: Session, text: str, kind: str = "any", *, limit: int = 50,
           offset: int = 0) -> list[Found]:
    """Vulnerabilities whose id or alias starts with ``text`` (CVE-2024-, GHSA-…), whose
    records' titles hold it, or that name it as a product or package; newest change first.
    ``kind`` narrows to one of those; words shorter than 3 characters match ids only."""
    text = text.strip()[:MAX_QUERY_CHARS]
    if not text or kind not in SEARCH_KINDS:
        return []
    wanted = _ids(text, kind)
    if not wanted:
        return []
    rows = list(session.execute(
        select(Vulnerability.id, Vulnerability.key, Vulnerability.updated_at)
        .where(or_(*wanted))
        .order_by(Vulnerability.updated_at.desc(), Vulnerability.key)
        .limit(max(1, min(limit, MAX_PAGE))).offset(max(0, offset))))
    if not rows:
        return []
    ids = [row[0] for row in rows]
    keys = [row[1] for row in rows]
    titles: dict[int, str] = {}
    for vulnerability_id, title in session.execute(
            select(VulnLink.vulnerability_id, VulnRecord.title)
            .join(VulnRecord, VulnRecord.id == VulnLink.record_id)
            .where(VulnLink.vulnerability_id.in_(ids), VulnRecord.title != "")
            .order_by(VulnRecord.source, VulnRecord.record_id)):
        titles.setdefault(vulnerability_id, title)
    kev = set(session.scalars(select(KevEntryRow.cve).where(KevEntryRow.cve.in_(keys))))
    epss: dict[str, float] = dict(session.execute(  # .all(): a Result has keys() itself
        select(EpssRow.cve, EpssRow.epss).where(EpssRow.cve.in_(keys))).all())
    return [Found(key, titles.get(vid, ""), updated, key in kev, epss.get(key))
            for vid, key, updated in rows]


# --- affected ranges -----------------------------------------------------------------------


@dataclass(frozen=True)
class Affected:
    """What one record says is affected, as text a person reads: ``what`` is a package
    (ecosystem/name), a CPE pattern or a vendor's product; ``ranges`` its versions."""

    record: str  # source:id
    what: str
    ranges: tuple[str, ...]


def _range_text(found: AffectedRange) -> str:
    events = ", ".join(f"{e.kind.value} {e.version}" for e in found.events)
    return f"{found.type}: {events}" + (f" ({found.repo})" if found.repo else "")


def _cpe_text(match: CpeMatch) -> str:
    bounds = [f">= {match.version_start_including}" if match.version_start_including else "",
              f"> {match.version_start_excluding}" if match.version_start_excluding else "",
              f"<= {match.version_end_including}" if match.version_end_including else "",
              f"< {match.version_end_excluding}" if match.version_end_excluding else ""]
    return " ".join(b for b in bounds if b) or "*"


def _product_text(product: ProductVersions) -> str:
    return product.text or ", ".join(product.exact) or "*"


def affected_of(records: list[Advisory], limit: int = 200) -> list[Affected]:
    """Every package range, CPE match and product version text of ``records`` (as
    ``publish.records_of`` gives them), at most ``limit`` lines."""
    found: list[Affected] = []
    for record in records:
        name = f"{record.source.value}:{record.id}"
        for package in record.packages:
            ranges = tuple(_range_text(r) for r in package.ranges)
            if package.versions:
                ranges += (", ".join(package.versions[:20])
                           + (" …" if len(package.versions) > 20 else ""),)
            found.append(Affected(name, f"{package.ecosystem}/{package.name}", ranges))
        for configuration in record.configurations:
            for node in configuration.nodes:
                for match in node.matches:
                    if match.vulnerable:
                        found.append(Affected(name, match.criteria, (_cpe_text(match),)))
        for product in record.products:
            found.append(Affected(name, f"{product.vendor} {product.product}".strip(),
                                  (_product_text(product),)))
    return found[:limit]


# --- feeds, subscriptions, alert bands -----------------------------------------------------


def feed_imports(session: Session, *, limit: int = 50, offset: int = 0) -> list[FeedImport]:
    """Import runs, newest first (the hub's staff's view of the feeds)."""
    return list(session.scalars(select(FeedImport).order_by(FeedImport.id.desc())
                                .limit(max(1, min(limit, MAX_PAGE))).offset(max(0, offset))))


def feed_problems(session: Session, import_id: int, *, limit: int = 100) -> list[FeedProblemRow]:
    """The records one import could not read (the first ``limit``)."""
    return list(session.scalars(select(FeedProblemRow)
                                .where(FeedProblemRow.import_id == import_id)
                                .order_by(FeedProblemRow.id).limit(max(1, min(limit, 1000)))))


def subscriptions_of(session: Session, organisation_id: int | None) -> list[Subscription]:
    """A member's subscriptions (every member's when None)."""
    stmt = select(Subscription).order_by(Subscription.organisation_id, Subscription.kind,
                                         Subscription.value)
    if organisation_id is not None:
        stmt = stmt.where(Subscription.organisation_id == organisation_id)
    return list(session.scalars(stmt))


def suppressions_of(session: Session, organisation_id: int | None) -> list[Suppression]:
    """A member's suppressions, the last to expire first, so expired ones come last
    (every member's when None)."""
    stmt = select(Suppression).order_by(Suppression.expires_at.desc(), Suppression.id)
    if organisation_id is not None:
        stmt = stmt.where(Suppression.organisation_id == organisation_id)
    return list(session.scalars(stmt.limit(MAX_SUPPRESSIONS)))


def alerts_page(session: Session, organisation_id: int | None, *, limit: int = 50,
                offset: int = 0) -> list[tuple[Alert, str]]:
    """``alerts.alerts_of`` one page at a time: most urgent first, with the key."""
    stmt = (select(Alert, Vulnerability.key)
            .join(Vulnerability, Vulnerability.id == Alert.vulnerability_id)
            .order_by(Alert.priority.desc(), Alert.id)
            .limit(max(1, min(limit, MAX_PAGE))).offset(max(0, offset)))
    if organisation_id is not None:
        stmt = stmt.where(Alert.organisation_id == organisation_id)
    return [(alert, key) for alert, key in session.execute(stmt)]


def band_of(kev: bool, cvss: float | None) -> str:
    """An alert's band: known exploited first, then CVSS v3 qualitative ratings."""
    if kev:
        return "kev"
    if cvss is None:
        return "unscored"
    return ("critical" if cvss >= 9.0 else "high" if cvss >= 7.0
            else "medium" if cvss >= 4.0 else "low")


def alert_bands(session: Session, organisation_id: int | None,
                since: datetime | None = None) -> dict[str, int]:
    """How many alerts (raised since ``since``) fall in each band, every band named."""
    band = case((Alert.kev.is_(True), "kev"), (Alert.cvss.is_(None), "unscored"),
                (Alert.cvss >= 9.0, "critical"), (Alert.cvss >= 7.0, "high"),
                (Alert.cvss >= 4.0, "medium"), else_="low")
    stmt = select(band, func.count()).group_by(band)
    if organisation_id is not None:
        stmt = stmt.where(Alert.organisation_id == organisation_id)
    if since is not None:
        stmt = stmt.where(Alert.created_at >= since)
    counted: dict[str, int] = dict(session.execute(stmt).all())
    return {name: int(counted.get(name, 0)) for name in BANDS}
