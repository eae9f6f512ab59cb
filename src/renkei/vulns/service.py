"""What the CLI and API ask of the vulns domain: import feeds, match inventories."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

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
    one_of,
    package_key,
    pairs_in,
    product_key,
)
from renkei.vulns.model import Advisory, Component, Hit, Record
from renkei.vulns.scoring import Cvss, cvss_rank, highest_cvss, priority
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

if TYPE_CHECKING:
    from renkei.vulns.match import Row

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


@dataclass(slots=True)
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
            pairs_in(AffectedName.ecosystem, AffectedName.name, chunk, session))))
    for chunk in _chunks(sorted(products)):
        ids.update(session.scalars(select(AffectedProduct.record_id).where(
            pairs_in(AffectedProduct.vendor, AffectedProduct.product, chunk, session))))
    advisories: list[Advisory] = []
    for chunk_ids in _chunks(sorted(ids)):
        rows = session.scalars(select(VulnRecord.data).where(
            one_of(VulnRecord.id, chunk_ids, session),
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

    rows = Matcher(advisories).match_rows(components)
    if not rows:
        return []
    hit_keys = {advisory for _index, advisory in rows}
    links = _links(session, sorted(hit_keys))
    facts = {key: RecordFacts.of(a, links.get(key, [a.id]))
             for a in advisories if (key := f"{a.source.value}:{a.id}") in hit_keys}
    keys = sorted({v for f in facts.values() for v in f.vulnerabilities})
    known = _known_aliases(session, keys)
    cves = sorted({k for k in keys if k.startswith("CVE-")} |
                  {a for k in keys for a in known.get(k, ()) if a.startswith("CVE-")} |
                  {i for f in facts.values() for i in f.ids if i.startswith("CVE-")})
    kev, epss = _exploitation(session, cves)
    return assemble_rows(components, rows, facts, Annotations(known, kev, epss))


@dataclass(frozen=True, slots=True)
class RecordFacts:
    """What a finding takes from one hit record: its ids, its highest CVSS and the keys of
    the vulnerabilities it is linked to."""

    ids: tuple[str, ...]
    cvss: Cvss | None
    vulnerabilities: tuple[str, ...]
    score: float = 0.0  # the CVSS figure priority adds: cvss.best, 0 without one
    # the summary of its one vulnerability, when the annotations were known beforehand
    known: _Summary | None = None

    @classmethod
    def of(cls, advisory: Advisory, vulnerabilities: Iterable[str],
           notes: Annotations | None = None) -> RecordFacts:
        """``notes`` (a resident index has them first): the summary a finding takes is
        looked up once per record, not once per finding."""
        cvss = highest_cvss(list(advisory.severities))
        ids, keys = (advisory.id, *advisory.aliases), tuple(vulnerabilities)
        known = notes.summary(keys[0], ids) if notes is not None and len(keys) == 1 else None
        return cls(ids, cvss, keys, (cvss.best if cvss else None) or 0.0, known)


@dataclass(frozen=True, slots=True)
class _Summary:
    aliases: tuple[str, ...]    # every id the vulnerability's records go by but its key, sorted
    kev: bool
    epss: float | None
    urgency: float  # what KEV and EPSS add to priority; plus the CVSS figure, the same sum


@dataclass(frozen=True)
class Annotations:
    """Every id of each vulnerability (by key), the KEV catalogue and the EPSS scores."""

    aliases: Mapping[str, Collection[str]]
    kev: Collection[str]
    epss: Mapping[str, float]
    _summaries: dict[str, _Summary] = field(default_factory=dict, compare=False, repr=False)

    def summary(self, key: str, ids: Iterable[str] = ()) -> _Summary:
        """A vulnerability's ids, KEV and EPSS, memoised by key; ``ids`` (its hit records'
        own) are added when they are not already among its aliases, which is rare."""
        held = self._summaries.get(key)
        if held is None:
            held = self._summaries[key] = self._summarise(key, ())  # a benign race
        for i in ids:  # a record's ids are usually just the key: no set made for them
            if i != key and i not in self.aliases.get(key, ()):
                return self._summarise(key, ids)
        return held

    def summarise_all(self) -> None:
        """Every vulnerability's summary, ahead of the matches that will ask for them."""
        for key in self.aliases:
            self.summary(key)

    def _summarise(self, key: str, ids: Iterable[str]) -> _Summary:
        every = {key, *self.aliases.get(key, ()), *ids}
        scores = [self.epss[i] for i in every if i in self.epss]
        every.discard(key)
        kev = key in self.kev or any(i in self.kev for i in every)
        epss = max(scores) if scores else None
        return _Summary(tuple(sorted(every)), kev, epss, priority(None, kev, epss))


def _stronger(a: Cvss | None, b: Cvss | None) -> Cvss | None:
    """``highest_cvss`` over two records' figures: the first wins a tie, as ``max`` does."""
    if a is None:
        return b
    if b is None:
        return a
    return b if cvss_rank(b) > cvss_rank(a) else a


def assemble(hits: Iterable[Hit], facts: Mapping[str, RecordFacts],
             notes: Annotations) -> list[Finding]:
    """``assemble_rows`` over Hit objects."""
    components: list[Component] = []
    rows: dict[tuple[int, str], Row] = {}
    for hit in hits:
        rows[(len(components), hit.advisory)] = (len(components), hit.certain, hit.why)
        components.append(hit.component)
    return assemble_rows(components, rows, facts, notes)


#: A finding from one hit, until a second one about it comes: (component, vulnerability
#: key, record key, its facts, certain, why).
_One = tuple[Component, str, str, RecordFacts, bool, str]


def assemble_rows(components: Sequence[Component], rows: Mapping[tuple[int, str], Row],
                  facts: Mapping[str, RecordFacts], notes: Annotations) -> list[Finding]:
    """Hits (``Matcher.match_rows``) from several records about one vulnerability become
    one finding, most urgent first. Pure: the one-shot match and the resident index feed
    it the same facts. Most findings come from one hit: those are held as a tuple and made
    once, at the end, with the vulnerability's memoised summary."""
    found: dict[tuple[str, str, str], _One | Finding] = {}
    for (index, advisory), (_index, certain, why) in rows.items():
        component = components[index]
        record = facts[advisory]
        for key in record.vulnerabilities:
            ident = (component.given, component.location, key)
            held = found.get(ident)
            if held is None:
                found[ident] = (component, key, advisory, record, certain, why)
                continue
            if isinstance(held, tuple):
                held = found[ident] = _started(*held)
            held.cvss = _stronger(held.cvss, record.cvss)
            _merge(held, advisory, record, certain, why)
    summary = notes.summary
    order: list[tuple[float, str, str, int, Finding]] = []
    for n, held in enumerate(found.values()):
        if isinstance(held, tuple):
            component, key, advisory, record, certain, why = held
            known = record.known or summary(key, record.ids)
            finding = Finding(component, key, list(known.aliases), record.cvss, known.kev,
                              known.epss, certain, [why], [advisory])
            rank = known.urgency + record.score  # = priority(cvss, kev, epss), one sum less
        else:
            finding = held
            known = summary(finding.vulnerability, finding.aliases)
            finding.aliases = list(known.aliases)
            finding.kev = known.kev
            finding.epss = known.epss
            rank = finding.priority
        order.append((-rank, finding.component.given, finding.vulnerability, n, finding))
    order.sort()
    return [entry[4] for entry in order]


def _started(component: Component, key: str, advisory: str, record: RecordFacts,
             certain: bool, why: str) -> Finding:
    """The finding of a first hit, when a second one about the same vulnerability comes."""
    finding = Finding(component, key, cvss=record.cvss)
    _merge(finding, advisory, record, certain, why)
    return finding


def _merge(finding: Finding, advisory: str, record: RecordFacts, certain: bool,
           why: str) -> None:
    finding.certain = finding.certain and certain
    if why not in finding.why:
        finding.why.append(why)
    if advisory not in finding.sources:
        finding.sources.append(advisory)
    for alias in record.ids:
        if alias != finding.vulnerability and alias not in finding.aliases:
            finding.aliases.append(alias)


def _links(session: Session, record_keys: Sequence[str]) -> dict[str, list[str]]:
    """The vulnerability keys each record (``source:id``) is linked to."""
    pairs = [(source, ident) for key in record_keys
             for source, _, ident in [key.partition(":")]]
    keys_of: dict[str, list[str]] = defaultdict(list)
    for chunk in _chunks(pairs):  # bounded: PostgreSQL takes 65,535 parameters at most
        for source, record_id, key in session.execute(
                select(VulnRecord.source, VulnRecord.record_id, Vulnerability.key)
                .join(VulnLink, VulnLink.record_id == VulnRecord.id)
                .join(Vulnerability, Vulnerability.id == VulnLink.vulnerability_id)
                .where(pairs_in(VulnRecord.source, VulnRecord.record_id, chunk, session))):
            keys_of[f"{source}:{record_id}"].append(key)
    return keys_of


def _known_aliases(session: Session, keys: Sequence[str]) -> dict[str, set[str]]:
    """Every id that the records of each vulnerability (by key) go by."""
    known: dict[str, set[str]] = defaultdict(set)
    for chunk in _chunks(keys):
        for key, alias in session.execute(
                select(Vulnerability.key, VulnAlias.alias)
                .join(VulnLink, VulnLink.vulnerability_id == Vulnerability.id)
                .join(VulnAlias, VulnAlias.record_id == VulnLink.record_id)
                .where(one_of(Vulnerability.key, chunk, session))):
            known[key].add(alias)
    return known


def _exploitation(session: Session, cves: Sequence[str]) -> tuple[set[str], dict[str, float]]:
    """Which of ``cves`` are in the KEV catalogue, and their EPSS scores."""
    kev: set[str] = set()
    epss: dict[str, float] = {}
    for names in _chunks(cves):
        kev.update(session.scalars(select(KevEntryRow.cve).where(
            one_of(KevEntryRow.cve, names, session))))
        epss.update(session.execute(select(EpssRow.cve, EpssRow.epss)
                                    .where(one_of(EpssRow.cve, names, session))).all())
    return kev, epss


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
