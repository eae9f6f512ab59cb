"""What the hub hands out: each member's alert feed (Atom, RSS, JSON Feed) and advisories in
machine-readable form (OSV, CSAF 2.0).

A feed holds only the alerts of the member that asks for it; an advisory is built from the
public records the hub holds about one vulnerability, with the hub as its publisher.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from feedgen.feed import FeedGenerator
from sqlalchemy import select
from sqlalchemy.orm import Session

from renkei.core.errors import UserError
from renkei.vulns.ingest import load_advisory
from renkei.vulns.model import Advisory
from renkei.vulns.scoring import highest_cvss
from renkei.vulns.store import Alert, VulnAlias, Vulnerability, VulnLink, VulnRecord

FEED_FORMATS = ("atom", "rss", "json")


class NotFoundError(UserError):
    status = 404


def alert_feed(alerts: list[tuple[Alert, str]], *, organisation: str, base_url: str,
               fmt: str, now: datetime, language: str = "en") -> tuple[bytes, str]:
    """A member's alerts as a feed: (body, media type)."""
    if fmt == "json":
        return _json_feed(alerts, organisation, base_url), "application/feed+json"
    feed = FeedGenerator()
    feed.id(f"{base_url}/api/v1/vulns/feed")
    feed.title(f"renkei: vulnerability alerts for {organisation}")
    feed.link(href=f"{base_url}/api/v1/vulns/feed.{fmt}", rel="self")
    feed.description(f"Vulnerabilities that concern {organisation}'s registered assets and "
                     "subscriptions, most urgent first.")
    feed.language(language)
    feed.updated(max((a.updated_at for a, _ in alerts), default=now))
    for alert, key in reversed(alerts):  # feedgen prepends: keep the most urgent on top
        entry = feed.add_entry()
        entry.id(f"{base_url}/api/v1/vulns/alerts/{alert.id}")
        entry.title(_headline(alert, key))
        entry.link(href=f"{base_url}/api/v1/vulns/{key}")
        entry.updated(alert.updated_at)
        entry.published(alert.created_at)
        entry.content(_summary(alert), type="text")
    body = feed.rss_str(pretty=True) if fmt == "rss" else feed.atom_str(pretty=True)
    return body, "application/rss+xml" if fmt == "rss" else "application/atom+xml"


def _headline(alert: Alert, key: str) -> str:
    marks = [f"CVSS {alert.cvss:.1f}" if alert.cvss is not None else "",
             "KEV" if alert.kev else "",
             f"EPSS {alert.epss:.2f}" if alert.epss is not None else ""]
    return f"{key}: {', '.join(alert.components[:3])} " + " ".join(m for m in marks if m)


def _summary(alert: Alert) -> str:
    return "; ".join(alert.why[:10]) + ("" if alert.certain else " (to be checked by hand)")


def _json_feed(alerts: list[tuple[Alert, str]], organisation: str, base_url: str) -> bytes:
    import orjson

    return orjson.dumps({
        "version": "https://jsonfeed.org/version/1.1",
        "title": f"renkei: vulnerability alerts for {organisation}",
        "feed_url": f"{base_url}/api/v1/vulns/feed.json",
        "items": [{
            "id": str(alert.id), "url": f"{base_url}/api/v1/vulns/{key}",
            "title": _headline(alert, key), "content_text": _summary(alert),
            "date_published": alert.created_at.isoformat(),
            "date_modified": alert.updated_at.isoformat(),
            "_renkei": {"vulnerability": key, "components": alert.components,
                        "cvss": alert.cvss, "kev": alert.kev, "epss": alert.epss,
                        "certain": alert.certain, "priority": alert.priority}}
            for alert, key in alerts]})


# --- advisories --------------------------------------------------------------------------


def records_of(session: Session, key: str) -> tuple[str, list[Advisory]]:
    """The vulnerability's key and the held records linked to it, found by its key (CVE
    id) or by any id of its records."""
    vulnerability = session.scalar(select(Vulnerability).where(Vulnerability.key == key))
    if vulnerability is None:  # a record's id or alias (GHSA-…, JVNDB-…) finds it too
        vulnerability = session.scalar(
            select(Vulnerability).join(VulnLink, VulnLink.vulnerability_id == Vulnerability.id)
            .join(VulnAlias, VulnAlias.record_id == VulnLink.record_id)
            .where(VulnAlias.alias == key).order_by(Vulnerability.key).limit(1))
    if vulnerability is None:
        raise NotFoundError("no vulnerability {id}", id=key[:200])
    texts = session.scalars(select(VulnRecord.data)
                            .join(VulnLink, VulnLink.record_id == VulnRecord.id)
                            .where(VulnLink.vulnerability_id == vulnerability.id)
                            .order_by(VulnRecord.source, VulnRecord.record_id))
    return vulnerability.key, [load_advisory(text) for text in texts]


def _stamp(value: datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


def osv_advisory(key: str, records: list[Advisory], hub: str) -> dict[str, Any]:
    """One OSV 1.6 record for the vulnerability: every package range the records give,
    their aliases, severities and references."""
    modified = max((r.modified for r in records if r.modified), default=None)
    published = min((r.published for r in records if r.published), default=None)
    aliases = sorted({a for r in records for a in (r.id, *r.aliases)} - {key})
    summary = next((r.summary for r in records if r.summary and r.language == "en"), "")
    affected = []
    for record in records:
        for package in record.packages:
            entry: dict[str, Any] = {"package": {"ecosystem": package.ecosystem,
                                                 "name": package.name}}
            if package.purl:
                entry["package"]["purl"] = package.purl
            if package.ranges:
                entry["ranges"] = [{"type": r.type, **({"repo": r.repo} if r.repo else {}),
                                    "events": [{e.kind.value: e.version} for e in r.events]}
                                   for r in package.ranges]
            if package.versions:
                entry["versions"] = list(package.versions)
            affected.append(entry)
    severities = {(s.scheme, s.vector) for r in records for s in r.severities
                  if s.vector and s.scheme in ("CVSS_V2", "CVSS_V3", "CVSS_V4")}
    return {
        "schema_version": "1.6.0", "id": key, "modified": _stamp(modified),
        **({"published": _stamp(published)} if published else {}),
        "aliases": aliases, "summary": summary[:200],
        "details": next((r.details or r.summary for r in records if r.language == "en"), ""),
        "severity": [{"type": scheme, "score": vector} for scheme, vector in sorted(severities)],
        "affected": affected,
        "references": [{"type": "WEB", "url": url}
                       for url in sorted({u for r in records for u in r.references})[:200]],
        "database_specific": {"publisher": hub, "sources": sorted(f"{r.source.value}:{r.id}"
                                                                  for r in records)},
    }


def csaf_advisory(key: str, records: list[Advisory], hub: str, now: datetime) -> dict[str, Any]:
    """A CSAF 2.0 security advisory (profile ``csaf_security_advisory``) for the vulnerability:
    products from the records' packages (by purl) and products (by CPE), CVSS v3 scores."""
    products: list[dict[str, Any]] = []
    ids: list[str] = []
    for record in records:
        for package in record.packages:
            pid = f"CSAFPID-{len(products) + 1:04d}"
            helper = {"purl": package.purl} if package.purl else {}
            products.append({"name": f"{package.ecosystem} {package.name}", "product_id": pid,
                             **({"product_identification_helper": helper} if helper else {})})
            ids.append(pid)
        for product in record.products:
            pid = f"CSAFPID-{len(products) + 1:04d}"
            helper = {"cpe": product.cpe} if product.cpe else {}
            products.append({"name": f"{product.vendor} {product.product} {product.text}".strip(),
                             "product_id": pid,
                             **({"product_identification_helper": helper} if helper else {})})
            ids.append(pid)
    cvss = highest_cvss([s for r in records for s in r.severities])
    vulnerability: dict[str, Any] = {
        "notes": [{"category": "description", "text": next(
            (r.summary or r.details for r in records if r.summary or r.details), key)}],
    }
    references = sorted({u for r in records for u in r.references})[:100]
    if references:  # CSAF refuses an empty list
        vulnerability["references"] = [{"url": u, "summary": "reference"} for u in references]
    if key.startswith("CVE-"):
        vulnerability["cve"] = key
    else:
        vulnerability["ids"] = [{"system_name": "renkei", "text": key}]
    if ids:
        vulnerability["product_status"] = {"known_affected": ids}
        if cvss is not None and cvss.version in ("3.0", "3.1") and cvss.computed is not None:
            vulnerability["scores"] = [{"products": ids, "cvss_v3": {
                "version": cvss.version, "vectorString": cvss.vector,
                "baseScore": cvss.computed, "baseSeverity": _severity(cvss.computed)}}]
    stamp = _stamp(now)
    return {
        "document": {
            "category": "csaf_security_advisory", "csaf_version": "2.0",
            "title": next((r.title or r.summary for r in records if r.title or r.summary),
                          key)[:500],
            "lang": "en",
            "publisher": {"category": "coordinator", "name": hub,
                          "namespace": "https://renkei.example/hub"},
            "distribution": {"tlp": {"label": "WHITE"}},
            "notes": [{"category": "summary", "text": f"Advisory of {hub} about {key}."}],
            "references": [{"category": "self", "summary": "this advisory",
                            "url": f"https://renkei.example/hub/advisories/{key}"}],
            "tracking": {"id": key, "status": "final", "version": "1",
                         "initial_release_date": stamp, "current_release_date": stamp,
                         "revision_history": [{"number": "1", "date": stamp,
                                               "summary": "Initial version."}]},
        },
        **({"product_tree": {"full_product_names": products}} if products else {}),
        "vulnerabilities": [vulnerability],
    }


def _severity(score: float) -> str:
    if score == 0:
        return "NONE"
    if score < 4:
        return "LOW"
    if score < 7:
        return "MEDIUM"
    return "HIGH" if score < 9 else "CRITICAL"


ADVISORY_FORMATS = ("osv", "csaf")


def advisory(session: Session, key: str, fmt: str, now: datetime) -> dict[str, Any]:
    """The hub's advisory of a vulnerability (found by any of its ids) as OSV or CSAF 2.0,
    with the hub organisation as its publisher."""
    from renkei.core import orgs

    found, records = records_of(session, key)
    hub = orgs.hub(session)
    name = hub.name if hub else "renkei hub"
    if fmt == "csaf":
        return csaf_advisory(found, records, name, now)
    return osv_advisory(found, records, name)
