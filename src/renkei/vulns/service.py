"""What the CLI and API ask of the vulns domain: import feeds, match inventories."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from renkei.core import audit
from renkei.core.memory import paused_gc
from renkei.core.time import Clock
from renkei.vulns.ingest import (
    ImportResult,
    cpe_vendor_product,
    import_records,
    load_advisory,
    package_key,
    pairs_in,
    product_key,
)
from renkei.vulns.model import Advisory, Component, Hit, Record, Severity
from renkei.vulns.scoring import Cvss, highest_cvss, priority
from renkei.vulns.store import (
    AffectedName,
    AffectedProduct,
    EpssRow,
    KevEntryRow,
    VulnAlias,
    Vulnerability,
    VulnLink,
    VulnRecord,
)

LOOKUP_CHUNK = 1_000
T = TypeVar("T")


def import_paths(session: Session, clock: Clock, paths: Sequence[Path], *,
                 actor: str = "cli", source: str = "cli",
                 on_records: Callable[[int], None] | None = None,
                 on_file: Callable[[str], None] | None = None) -> ImportResult:
    """Read every feed file under ``paths`` (format detected per file) into the store."""
    from renkei.vulns.feeds import read_path  # the readers import their parsers lazily

    def records() -> Iterator[Record]:
        for path in paths:
            if on_file is not None:
                on_file(str(path))
            yield from read_path(path)

    from renkei.vulns.alerts import raise_alerts

    with paused_gc():
        result = import_records(session, clock, records(), paths=[str(p) for p in paths],
                                on_batch=on_records)
    result.alerts = raise_alerts(session, clock, vulnerability_ids=result.touched)
    audit.record(session, clock, action="vulns.import", actor=actor, source=source,
                 target=",".join(str(p) for p in paths)[:500], details=result.counts())
    return result


@dataclass
class Finding:
    """One (component, vulnerability): every record's hit on it merged into one line."""

    component: Component
    vulnerability: str
    aliases: list[str] = field(default_factory=list)
    cvss: Cvss | None = None
    kev: bool = False
    epss: float | None = None
    certain: bool = True
    why: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    @property
    def priority(self) -> float:
        return priority(self.cvss.best if self.cvss else None, self.kev, self.epss)

    def as_json(self) -> dict[str, object]:
        return {"component": self.component.given, "version": self.component.version,
                "vulnerability": self.vulnerability, "aliases": self.aliases,
                "cvss": self.cvss.as_json() if self.cvss else None, "kev": self.kev,
                "epss": self.epss, "certain": self.certain, "why": self.why,
                "sources": self.sources, "location": self.component.location}


def _chunks(items: Iterable[T], size: int = LOOKUP_CHUNK) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def candidate_records(session: Session, components: Iterable[Component]) -> list[Advisory]:
    """The records that name a package or product of ``components`` (by the loose lookup
    keys); the matcher then decides exactly."""
    packages: set[tuple[str, str]] = set()
    products: set[tuple[str, str]] = set()
    for component in components:
        if component.ecosystem and component.name:
            packages.add(package_key(component.ecosystem, component.name))
        if component.cpe and (pair := cpe_vendor_product(component.cpe)):
            products.add(product_key(*pair))
    ids: set[int] = set()
    for chunk in _chunks(sorted(packages)):
        ids.update(session.scalars(select(AffectedName.record_id).where(
            pairs_in(AffectedName.ecosystem, AffectedName.name, chunk))))
    for chunk in _chunks(sorted(products)):
        ids.update(session.scalars(select(AffectedProduct.record_id).where(
            pairs_in(AffectedProduct.vendor, AffectedProduct.product, chunk))))
    advisories: list[Advisory] = []
    for chunk_ids in _chunks(sorted(ids)):
        rows = session.scalars(select(VulnRecord.data).where(
            VulnRecord.id.in_(chunk_ids),
            VulnRecord.withdrawn.is_(None)))
        advisories.extend(load_advisory(text) for text in rows)
    return advisories


def match_components(session: Session, components: Sequence[Component]) -> list[Finding]:
    """Every (component, vulnerability) the stored records say is affected, most urgent
    first; hits from several records about one vulnerability become one finding."""
    return findings_for(session, candidate_records(session, components), components)


def findings_for(session: Session, advisories: list[Advisory],
                 components: Sequence[Component]) -> list[Finding]:
    """The findings of ``advisories`` (held records) on ``components``."""
    from renkei.vulns.match import Matcher

    hits = Matcher(advisories).match(components)
    if not hits:
        return []
    by_key = {f"{a.source.value}:{a.id}": a for a in advisories}
    hit_records = sorted({(source, ident) for hit in hits
                          for source, _, ident in [hit.advisory.partition(":")]})
    keys_of: dict[str, list[str]] = defaultdict(list)
    for chunk in _chunks(hit_records):  # bounded: PostgreSQL takes 65,535 parameters at most
        for source, record_id, key in session.execute(
                select(VulnRecord.source, VulnRecord.record_id, Vulnerability.key)
                .join(VulnLink, VulnLink.record_id == VulnRecord.id)
                .join(Vulnerability, Vulnerability.id == VulnLink.vulnerability_id)
                .where(pairs_in(VulnRecord.source, VulnRecord.record_id, chunk))):
            keys_of[f"{source}:{record_id}"].append(key)
    findings: dict[tuple[str, str, str], Finding] = {}
    severities: dict[tuple[str, str, str], list[Severity]] = defaultdict(list)
    for hit in hits:
        advisory = by_key[hit.advisory]
        for key in keys_of.get(hit.advisory, [advisory.id]):
            ident = (hit.component.given, hit.component.location, key)
            finding = findings.setdefault(ident, Finding(hit.component, key))
            _merge(finding, hit, advisory)
            severities[ident].extend(advisory.severities)
    _annotate(session, findings, severities)
    return sorted(findings.values(), key=lambda f: (-f.priority, f.component.given,
                                                    f.vulnerability))


def _merge(finding: Finding, hit: Hit, advisory: Advisory) -> None:
    finding.certain = finding.certain and hit.certain
    if hit.why not in finding.why:
        finding.why.append(hit.why)
    if hit.advisory not in finding.sources:
        finding.sources.append(hit.advisory)
    for alias in (advisory.id, *advisory.aliases):
        if alias != finding.vulnerability and alias not in finding.aliases:
            finding.aliases.append(alias)


def _annotate(session: Session, findings: dict[tuple[str, str, str], Finding],
              severities: dict[tuple[str, str, str], list[Severity]]) -> None:
    """Every id of each finding's vulnerability, its CVSS, KEV and EPSS."""
    keys = sorted({f.vulnerability for f in findings.values()})
    known: dict[str, set[str]] = defaultdict(set)
    for chunk in _chunks(keys):
        for key, alias in session.execute(
                select(Vulnerability.key, VulnAlias.alias)
                .join(VulnLink, VulnLink.vulnerability_id == Vulnerability.id)
                .join(VulnAlias, VulnAlias.record_id == VulnLink.record_id)
                .where(Vulnerability.key.in_(chunk))):
            known[key].add(alias)
    for finding in findings.values():
        finding.aliases.extend(sorted(known[finding.vulnerability] - {finding.vulnerability}
                                      - set(finding.aliases)))
    cves = sorted({f.vulnerability for f in findings.values()} |
                  {a for f in findings.values() for a in f.aliases if a.startswith("CVE-")})
    kev: set[str] = set()
    epss: dict[str, float] = {}
    for names in _chunks(cves):
        kev.update(session.scalars(select(KevEntryRow.cve).where(KevEntryRow.cve.in_(names))))
        epss.update(session.execute(select(EpssRow.cve, EpssRow.epss)
                                    .where(EpssRow.cve.in_(names))).all())
    for ident, finding in findings.items():
        ids = [finding.vulnerability, *finding.aliases]
        finding.kev = any(i in kev for i in ids)
        scores = [epss[i] for i in ids if i in epss]
        finding.epss = max(scores) if scores else None
        finding.cvss = highest_cvss(severities[ident])
        finding.aliases.sort()


def aliases_of(session: Session, ident: str) -> list[str]:
    """Every id the records that go by ``ident`` also go by."""
    records = select(VulnAlias.record_id).where(VulnAlias.alias == ident)
    return sorted(set(session.scalars(select(VulnAlias.alias)
                                      .where(VulnAlias.record_id.in_(records)))))


def describe(session: Session, key: str) -> dict[str, object]:
    """A vulnerability as a person reads it: each source's record with the publisher's
    and the computed CVSS side by side, KEV and EPSS."""
    from renkei.vulns.publish import records_of
    from renkei.vulns.scoring import read_cvss

    key, records = records_of(session, key)
    ids = sorted({i for r in records for i in (r.id, *r.aliases)} | {key})
    cves = [i for i in ids if i.startswith("CVE-")]
    kev = session.scalars(select(KevEntryRow).where(KevEntryRow.cve.in_(cves))).first()
    epss = session.scalars(select(EpssRow).where(EpssRow.cve.in_(cves))
                           .order_by(EpssRow.epss.desc())).first()
    return {
        "vulnerability": key, "aliases": [i for i in ids if i != key],
        "kev": None if kev is None else {"date_added": kev.date_added.date().isoformat(),
                                         "ransomware": kev.ransomware, "action": kev.action},
        "epss": None if epss is None else {"cve": epss.cve, "epss": epss.epss,
                                           "percentile": epss.percentile},
        "records": [{
            "source": r.source.value, "id": r.id, "language": r.language,
            "modified": r.modified.isoformat() if r.modified else None,
            "withdrawn": r.withdrawn.isoformat() if r.withdrawn else None,
            "title": r.title, "summary": r.summary[:2000],
            "cvss": [c.as_json() for s in r.severities if (c := read_cvss(s)) is not None],
            "cwes": list(r.cwes), "references": list(r.references[:50]),
            "packages": [f"{p.ecosystem}/{p.name}" for p in r.packages][:100],
            "products": sorted({m.criteria for c in r.configurations for n in c.nodes
                                for m in n.matches if m.vulnerable})[:100]
            + [f"{p.vendor} {p.product} {p.text}".strip() for p in r.products][:100],
        } for r in records],
    }
