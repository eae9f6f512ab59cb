"""Members' assets, suppressions and subscriptions, and the alerts raised for them (icat).

An alert is one (member, asset or subscription, vulnerability): raised when a new or
changed vulnerability matches an asset's components (or a newly registered asset matches
a held vulnerability), or when an advisory names a product, vendor or keyword a member
subscribed to. Raising again updates the alert; it never makes a second one. An alert
belongs to its member: only that member and the hub's staff read it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from renkei.core import audit, orgs
from renkei.core.errors import UserError
from renkei.core.members import Principal
from renkei.core.time import Clock
from renkei.sharing.policy import Viewer
from renkei.vulns.ingest import product_key
from renkei.vulns.model import Component
from renkei.vulns.service import Finding, candidate_records, findings_for
from renkei.vulns.store import (
    ID_LENGTH,
    AffectedProduct,
    Alert,
    Asset,
    AssetComponent,
    Subscription,
    Suppression,
    VulnAlias,
    Vulnerability,
    VulnLink,
    VulnRecord,
)

MAX_COMPONENTS_PER_ASSET = 200_000
SUPPRESSION_KINDS = ("false_positive", "accepted_risk")
SUBSCRIPTION_KINDS = ("product", "vendor", "keyword")


class VulnsError(UserError):
    pass


class NoSuchMemberError(UserError):
    status = 404


class NoSuchSuppressionError(UserError):
    status = 404


def whose(session: Session, principal: Principal, org: str | None) -> int | None:
    """Whose assets and alerts a caller reads: its own organisation's; the hub's staff may
    name a member, or none for every member's. A member naming another is answered as if
    that member did not exist."""
    if Viewer.of(principal).is_hub_staff:
        return orgs.require(session, org).id if org else None
    if org and org != principal.organisation_name:
        raise NoSuchMemberError("no organisation {name}", name=org[:100])
    return principal.organisation_id


# --- assets ------------------------------------------------------------------------------


def register_asset(session: Session, clock: Clock, organisation_id: int, name: str,
                   components: Sequence[Component], fmt: str, *, actor: str,
                   source: str = "cli") -> tuple[Asset, int]:
    """Register (or replace) a member's inventory under ``name``; then alert on what the
    held vulnerabilities say of it. Returns the asset and the number of new alerts."""
    name = name.strip()[:200]
    if not name:
        raise VulnsError("an asset needs a name")
    if len(components) > MAX_COMPONENTS_PER_ASSET:
        raise VulnsError("an asset holds at most {limit} components",
                         limit=MAX_COMPONENTS_PER_ASSET)
    now = clock.now()
    asset = session.scalar(select(Asset).where(Asset.organisation_id == organisation_id,
                                               Asset.name == name))
    if asset is None:
        asset = Asset(organisation_id=organisation_id, name=name, format=fmt, created_at=now,
                      updated_at=now)
        session.add(asset)
        session.flush()
    else:
        asset.format, asset.updated_at = fmt, now
        session.execute(delete(AssetComponent).where(AssetComponent.asset_id == asset.id))
    if components:
        session.execute(insert(AssetComponent), [
            {"asset_id": asset.id, "given": c.given[:2000], "version": c.version and c.version[:ID_LENGTH],
             "purl": c.purl, "cpe": c.cpe, "ecosystem": c.ecosystem, "name": c.name,
             "location": c.location[:500]} for c in components])
    audit.record(session, clock, action="vulns.asset.register", actor=actor, source=source,
                 target=f"asset:{asset.id}", organisation_id=organisation_id,
                 details={"name": name, "components": len(components), "format": fmt})
    raised = raise_alerts(session, clock, asset_ids=[asset.id])
    return asset, raised


def assets_of(session: Session, organisation_id: int | None) -> list[tuple[Asset, int]]:
    """Assets with their number of components; all members' when ``organisation_id`` is None."""
    stmt = (select(Asset, func.count(AssetComponent.id))
            .outerjoin(AssetComponent, AssetComponent.asset_id == Asset.id)
            .group_by(Asset.id).order_by(Asset.organisation_id, Asset.name))
    if organisation_id is not None:
        stmt = stmt.where(Asset.organisation_id == organisation_id)
    return [(asset, count) for asset, count in session.execute(stmt)]


def _components(session: Session, asset_ids: Sequence[int] | None
                ) -> dict[Component, set[tuple[int, int]]]:
    """Each component and the (organisation, asset) pairs holding it."""
    stmt = select(AssetComponent, Asset.organisation_id).join(
        Asset, Asset.id == AssetComponent.asset_id)
    if asset_ids is not None:
        stmt = stmt.where(AssetComponent.asset_id.in_(asset_ids))
    held: dict[Component, set[tuple[int, int]]] = defaultdict(set)
    for row, organisation_id in session.execute(stmt):
        component = Component(given=row.given, version=row.version, purl=row.purl, cpe=row.cpe,
                              ecosystem=row.ecosystem, name=row.name, location=row.location)
        held[component].add((organisation_id, row.asset_id))
    return held


# --- suppressions and subscriptions ------------------------------------------------------


def suppress(session: Session, clock: Clock, organisation_id: int, vulnerability: str,
             component: str, kind: str, reason: str, expires_at: datetime, *,
             actor: str, source: str = "cli") -> Suppression:
    """Hide a vulnerability for a component ("*": every component) until ``expires_at``."""
    if kind not in SUPPRESSION_KINDS:
        raise VulnsError("a suppression is one of {kinds}", kinds=", ".join(SUPPRESSION_KINDS))
    if not vulnerability.strip() or not component.strip():
        raise VulnsError("a suppression names a vulnerability and a component (* for all)")
    if not reason.strip():
        raise VulnsError("a suppression needs a reason")
    now = clock.now()
    if expires_at <= now:
        raise VulnsError("a suppression must expire in the future")
    row = session.scalar(select(Suppression).where(
        Suppression.organisation_id == organisation_id,
        Suppression.vulnerability == vulnerability, Suppression.component == component))
    if row is None:
        row = Suppression(organisation_id=organisation_id, vulnerability=vulnerability[:ID_LENGTH],
                          component=component[:2000], kind=kind, reason=reason[:2000],
                          expires_at=expires_at, created_by=actor[:200], created_at=now)
        session.add(row)
    else:
        row.kind, row.reason, row.expires_at = kind, reason[:2000], expires_at
        row.created_by, row.created_at = actor[:200], now
    audit.record(session, clock, action="vulns.suppress", actor=actor, source=source,
                 target=f"{vulnerability}:{component}"[:500], organisation_id=organisation_id,
                 details={"kind": kind, "reason": reason[:500],
                          "expires_at": expires_at.isoformat()})
    session.flush()
    return row


def unsuppress(session: Session, clock: Clock, organisation_id: int, suppression_id: int, *,
               actor: str, source: str = "cli") -> tuple[Suppression, int]:
    """Remove one of the member's suppressions, and raise at once the alerts it hid that
    the member's assets still match (those its other suppressions do not hide); returns it
    and the number of new alerts. Another member's is answered as if it did not exist."""
    row = session.scalar(select(Suppression).where(
        Suppression.id == suppression_id, Suppression.organisation_id == organisation_id))
    if row is None:
        raise NoSuchSuppressionError("no suppression {id}", id=suppression_id)
    session.delete(row)
    session.flush()
    named = _vulnerabilities_named(session, row.vulnerability)
    assets = list(session.scalars(select(Asset.id).where(
        Asset.organisation_id == organisation_id)))
    raised = raise_alerts(session, clock, vulnerability_ids=named,
                          asset_ids=assets) if named and assets else 0
    audit.record(session, clock, action="vulns.unsuppress", actor=actor, source=source,
                 target=f"{row.vulnerability}:{row.component}"[:500],
                 organisation_id=organisation_id,
                 details={"kind": row.kind, "reason": row.reason[:500],
                          "expires_at": row.expires_at.isoformat(), "new_alerts": raised})
    session.flush()
    return row, raised


def _vulnerabilities_named(session: Session, name: str) -> list[int]:
    """The vulnerabilities a suppression's name stands for: the one keyed by it, and those
    of the records that go by it (an alias such as a GHSA id)."""
    by_key = select(Vulnerability.id).where(Vulnerability.key == name)
    by_alias = (select(VulnLink.vulnerability_id)
                .join(VulnAlias, VulnAlias.record_id == VulnLink.record_id)
                .where(VulnAlias.alias == name))
    return sorted(set(session.scalars(by_key)) | set(session.scalars(by_alias)))


def _suppressed(session: Session, now: datetime) -> set[tuple[int, str, str]]:
    return {(r.organisation_id, r.vulnerability, r.component) for r in session.scalars(
        select(Suppression).where(Suppression.expires_at > now))}


def subscribe(session: Session, clock: Clock, organisation_id: int, kind: str, value: str, *,
              actor: str, source: str = "cli") -> tuple[Subscription, int]:
    """Follow a product, vendor or keyword; alerts at once on what is held about it."""
    if kind not in SUBSCRIPTION_KINDS:
        raise VulnsError("a subscription is one of {kinds}", kinds=", ".join(SUBSCRIPTION_KINDS))
    value = value.strip()[:200]
    if len(value) < 3:
        raise VulnsError("a subscription needs at least 3 characters")
    row = session.scalar(select(Subscription).where(
        Subscription.organisation_id == organisation_id, Subscription.kind == kind,
        Subscription.value == value))
    if row is None:
        row = Subscription(organisation_id=organisation_id, kind=kind, value=value,
                           created_at=clock.now())
        session.add(row)
        session.flush()
        audit.record(session, clock, action="vulns.subscribe", actor=actor, source=source,
                     target=f"subscription:{row.id}", organisation_id=organisation_id,
                     details={"kind": kind, "value": value})
    return row, _raise_for_subscriptions(session, clock, [row], None)


# --- raising -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Key:
    organisation_id: int
    asset_id: int
    subscription_id: int
    vulnerability_id: int


def raise_alerts(session: Session, clock: Clock, *, vulnerability_ids: Iterable[int] | None = None,
                 asset_ids: Sequence[int] | None = None) -> int:
    """Alerts for the assets (all, or ``asset_ids``) against the vulnerabilities (all held,
    or ``vulnerability_ids``: those an import added or changed) and for subscriptions;
    returns the number of new alerts."""
    wanted = None if vulnerability_ids is None else set(vulnerability_ids)
    if wanted is not None and not wanted:
        return 0
    held = _components(session, asset_ids)
    raised = 0
    if held:
        advisories = candidate_records(session, list(held))
        if wanted is not None:
            linked = _linked_record_keys(session, wanted)
            advisories = [a for a in advisories if (a.source.value, a.id) in linked]
        findings = findings_for(session, advisories, list(held))
        raised += _store(session, clock, _by_asset(session, findings, held, clock.now()))
    if asset_ids is None:
        subscriptions = list(session.scalars(select(Subscription)))
        raised += _raise_for_subscriptions(session, clock, subscriptions, wanted)
    return raised


def _linked_record_keys(session: Session, vulnerability_ids: set[int]) -> set[tuple[str, str]]:
    keys: set[tuple[str, str]] = set()
    ids = sorted(vulnerability_ids)
    for start in range(0, len(ids), 1_000):
        keys.update((source, record_id) for source, record_id in session.execute(
            select(VulnRecord.source, VulnRecord.record_id)
            .join(VulnLink, VulnLink.record_id == VulnRecord.id)
            .where(VulnLink.vulnerability_id.in_(ids[start:start + 1_000]))))
    return keys


def _by_asset(session: Session, findings: list[Finding],
              held: dict[Component, set[tuple[int, int]]],
              now: datetime) -> dict[_Key, list[Finding]]:
    suppressed = _suppressed(session, now)
    keys = sorted({f.vulnerability for f in findings})
    ids: dict[str, int] = {}
    for start in range(0, len(keys), 1_000):  # bounded: a query takes 65,535 parameters
        ids.update(session.execute(select(Vulnerability.key, Vulnerability.id).where(
            Vulnerability.key.in_(keys[start:start + 1_000]))).all())
    grouped: dict[_Key, list[Finding]] = defaultdict(list)
    for finding in findings:
        for organisation_id, asset_id in held.get(finding.component, ()):
            names = {finding.vulnerability, *finding.aliases}
            if any((organisation_id, name, c) in suppressed for name in names
                   for c in ("*", finding.component.given)):
                continue
            if finding.vulnerability in ids:
                grouped[_Key(organisation_id, asset_id, 0, ids[finding.vulnerability])].append(
                    finding)
    return grouped


def _store(session: Session, clock: Clock, grouped: dict[_Key, list[Finding]]) -> int:
    """Insert new alerts, update the ones already raised; the number of new ones."""
    if not grouped:
        return 0
    now = clock.now()
    rows = []
    for key, findings in grouped.items():
        top = max(findings, key=lambda f: f.priority)
        rows.append({
            "organisation_id": key.organisation_id, "asset_id": key.asset_id,
            "subscription_id": key.subscription_id, "vulnerability_id": key.vulnerability_id,
            "priority": top.priority, "cvss": top.cvss.best if top.cvss else None,
            "kev": top.kev, "epss": top.epss, "certain": all(f.certain for f in findings),
            "title": top.vulnerability, "why": sorted({w for f in findings for w in f.why})[:50],
            "components": sorted({f.component.given for f in findings})[:500],
            "created_at": now, "updated_at": now})
    before = session.scalar(select(func.count()).select_from(Alert)) or 0
    dialect = session.get_bind().dialect.name
    make = pg_insert if dialect == "postgresql" else sqlite_insert
    for start in range(0, len(rows), 1_000):
        stmt = make(Alert)
        changing = ("priority", "cvss", "kev", "epss", "certain", "why", "components", "title",
                    "updated_at")
        session.execute(stmt.on_conflict_do_update(
            index_elements=["organisation_id", "asset_id", "subscription_id", "vulnerability_id"],
            set_={c: getattr(stmt.excluded, c) for c in changing}), rows[start:start + 1_000])
    after = session.scalar(select(func.count()).select_from(Alert)) or 0
    return after - before


def _raise_for_subscriptions(session: Session, clock: Clock, subscriptions: list[Subscription],
                             wanted: set[int] | None) -> int:
    """Alerts for advisories naming a subscribed product or vendor, or holding a keyword in
    their title."""
    grouped: dict[_Key, list[Finding]] = {}
    for subscription in subscriptions:
        stmt = (select(VulnLink.vulnerability_id, Vulnerability.key)
                .join(Vulnerability, Vulnerability.id == VulnLink.vulnerability_id)
                .join(VulnRecord, VulnRecord.id == VulnLink.record_id)
                .where(VulnRecord.withdrawn.is_(None)))
        value = subscription.value
        if subscription.kind == "keyword":
            stmt = stmt.where(func.lower(VulnRecord.title).contains(value.lower(),
                                                                    autoescape=True))
        else:
            vendor, product = product_key(value, value)
            column = AffectedProduct.product if subscription.kind == "product" else \
                AffectedProduct.vendor
            stmt = stmt.join(AffectedProduct, AffectedProduct.record_id == VulnRecord.id).where(
                or_(column == product, column == vendor))
        for vulnerability_id, key in session.execute(stmt.distinct()):
            if wanted is not None and vulnerability_id not in wanted:
                continue
            finding = Finding(Component(given=f"{subscription.kind}:{value}", version=None), key,
                              why=[f"subscribed to {subscription.kind} {value!r}"])
            grouped[_Key(subscription.organisation_id, 0, subscription.id, vulnerability_id)] = [
                finding]
    return _store(session, clock, grouped)


def alerts_of(session: Session, organisation_id: int | None, *, limit: int = 500,
              since: datetime | None = None) -> list[tuple[Alert, str]]:
    """A member's alerts (every member's when None: the hub's view), most urgent first,
    each with its vulnerability's key."""
    stmt = (select(Alert, Vulnerability.key)
            .join(Vulnerability, Vulnerability.id == Alert.vulnerability_id)
            .order_by(Alert.priority.desc(), Alert.id).limit(limit))
    if organisation_id is not None:
        stmt = stmt.where(Alert.organisation_id == organisation_id)
    if since is not None:
        stmt = stmt.where(Alert.updated_at >= since)
    return [(alert, key) for alert, key in session.execute(stmt)]


def alert_by_id(session: Session, alert_id: int) -> tuple[Alert, str] | None:
    """The alert ``alert_id`` with its vulnerability's key (as ``alerts_of`` gives them), for
    other domains to read without the vulns tables; None if there is none. Whoever calls
    it decides who may see it (an alert is its member's and the hub's staff's)."""
    found = session.execute(select(Alert, Vulnerability.key)
                            .join(Vulnerability, Vulnerability.id == Alert.vulnerability_id)
                            .where(Alert.id == alert_id)).first()
    return (found[0], found[1]) if found is not None else None
