"""Writing feed records into the store: idempotent, in batches, merged by CVE.

A record is upserted by (source, id): one whose SHA-256 is unchanged writes nothing, one
older than what is held (by ``modified``) is skipped, a newer or different one replaces
the held one and its lookup rows. Records naming the same CVE are linked to one
vulnerability; each keeps its own data. Rows are written in bulk per table and batch
(``core.bulk``: COPY on PostgreSQL, with ids taken from the sequences beforehand) while a
thread reads the next batch, because 250,000 records must import within a minute.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from itertools import islice
from typing import Any, cast

import orjson
from sqlalchemy import (
    Executable,
    and_,
    any_,
    bindparam,
    delete,
    false,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from renkei.core.bulk import insert_many, insert_plain, is_postgresql, reserve_ids, table_of
from renkei.core.models import Base
from renkei.core.prefetch import prefetched
from renkei.core.time import Clock
from renkei.vulns.model import (
    Advisory,
    AffectedPackage,
    AffectedRange,
    CpeConfiguration,
    CpeMatch,
    CpeNode,
    EpssScore,
    EventKind,
    FeedProblem,
    KevEntry,
    ProductVersions,
    RangeEvent,
    Record,
    Severity,
    Source,
    VersionBound,
)
from renkei.vulns.store import (
    ID_LENGTH,
    LOOKUP_TABLES,
    AffectedName,
    AffectedProduct,
    EpssRow,
    FeedImport,
    FeedProblemRow,
    KevEntryRow,
    VulnAlias,
    Vulnerability,
    VulnLink,
    VulnRecord,
)

BATCH = 2_000
KEPT_PROBLEMS = 5_000  # problems stored per import; all are counted
_PYPI_SEPARATORS = re.compile(r"[-_.]+")
_CPE_SPLIT = re.compile(r"(?<!\\):")


def package_key(ecosystem: str, name: str) -> tuple[str, str]:
    """The loose (ecosystem, name) a match looks a package up by; the matcher then decides
    exactly. "Debian:12" and "Debian" share a key; PyPI names are compared normalised."""
    base = ecosystem.split(":", 1)[0].strip().lower()
    key = name.strip().lower()
    if base == "pypi":
        key = _PYPI_SEPARATORS.sub("-", key)
    return base[:60], key[:ID_LENGTH]


def product_key(vendor: str, product: str) -> tuple[str, str]:
    """The loose (vendor, product) a match looks a product up by (CPE style: lower case,
    spaces as underscores)."""
    def norm(text: str) -> str:
        return text.strip().lower().replace(" ", "_").replace("\\", "")[:ID_LENGTH]
    return norm(vendor), norm(product)


def cpe_vendor_product(cpe: str) -> tuple[str, str] | None:
    """Vendor and product of a CPE 2.3 formatted string or 2.2 URI; None if it is neither."""
    if cpe.startswith("cpe:2.3:"):
        parts = _CPE_SPLIT.split(cpe, maxsplit=5)
        return (parts[3], parts[4]) if len(parts) > 5 else None
    if cpe.startswith("cpe:/"):
        parts = cpe[5:].split(":")
        return (parts[1], parts[2]) if len(parts) > 2 else None
    return None


_STORED_FIELDS = tuple(f.name for f in dataclasses.fields(Advisory) if f.name != "raw")


def record_json(advisory: Advisory) -> bytes:
    """The record as stored: every field but ``raw``, which is stored empty (the
    normalised fields are the source's own data; the raw document would double the store
    for nothing a match or a person reads). The bytes are what ``dataclasses.replace(
    advisory, raw={})`` serialises to — held digests depend on it — built without a copy
    of the advisory."""
    fields = {name: getattr(advisory, name) for name in _STORED_FIELDS}
    fields["raw"] = {}
    return orjson.dumps(fields, option=orjson.OPT_NON_STR_KEYS)


@dataclass
class ImportResult:
    """What one import did; ``touched`` are the vulnerabilities added or changed (for alerts)."""

    read: int = 0
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    older: int = 0
    kev: int = 0
    epss: int = 0
    problems: int = 0
    alerts: int = 0  # new alerts the import raised (set by the service)
    kept_problems: list[FeedProblem] = field(default_factory=list)
    touched: set[int] = field(default_factory=set)
    import_id: int | None = None

    def counts(self) -> dict[str, int]:
        return {"read": self.read, "added": self.added, "changed": self.changed,
                "unchanged": self.unchanged, "older": self.older, "kev": self.kev,
                "epss": self.epss, "problems": self.problems, "alerts": self.alerts}


@dataclass(slots=True)
class _Prepared:
    """An advisory ready to store, worked out in the reading thread: its key, its row of
    ``vuln_records`` (but ``imported_at``) and the keys of its lookup rows. The advisory
    itself is not kept, so what the reader parsed (``raw``) is freed a batch early."""

    key: tuple[str, str]
    row: dict[str, Any]
    vulnerability_keys: list[str]  # its CVEs, or its own id
    cve_less_aliases: list[str]  # without a CVE: the aliases it may join a vulnerability by
    aliases: list[str]  # its own id and its aliases
    names: list[tuple[str, str]]  # package_key of each package
    products: list[tuple[str, str]]  # product_key of each product or vulnerable criteria

    @classmethod
    def of(cls, key: tuple[str, str], advisory: Advisory) -> _Prepared:
        text = record_json(advisory)
        row = {"source": key[0], "record_id": key[1], "modified": advisory.modified,
               "published": advisory.published, "withdrawn": advisory.withdrawn,
               "title": storable((advisory.title or advisory.summary or advisory.details)[:1000]),
               "language": storable(advisory.language), "digest": hashlib.sha256(text).hexdigest(),
               "data": text.decode()}
        cves = advisory.cves
        return cls(key, row, [storable(c[:ID_LENGTH]) for c in cves] if cves else [key[1]],
                   [] if cves else [storable(a[:ID_LENGTH]) for a in advisory.aliases],
                   list(dict.fromkeys(storable(i[:ID_LENGTH])
                                      for i in (advisory.id, *advisory.aliases))),
                   list(dict.fromkeys((storable(e), storable(n)) for e, n in (
                       package_key(p.ecosystem, p.name) for p in advisory.packages))),
                   sorted({(storable(v), storable(p)) for v, p in _products_of(advisory)}))


def storable(text: str) -> str:
    """``text`` as a database column can hold it: PostgreSQL refuses the NUL character,
    which a hostile feed may put anywhere, and one such field would fail the whole import.
    It becomes U+FFFD on every database alike (the record's JSON keeps it, escaped)."""
    return text.replace("\x00", "\ufffd") if "\x00" in text else text


@dataclass(slots=True)
class _Batch:
    """One batch of a feed as read: the newest advisory per key, KEV and EPSS by CVE."""

    size: int = 0
    read: int = 0
    advisories: list[_Prepared] = field(default_factory=list)
    kev: dict[str, KevEntry] = field(default_factory=dict)
    epss: dict[str, EpssScore] = field(default_factory=dict)
    problems: list[FeedProblem] = field(default_factory=list)


def _prepared(records: Iterable[Record], size: int) -> Iterator[_Batch]:
    """The feed in batches, each advisory serialised and hashed: the Python half of an
    import, which ``import_records`` runs in a thread while the database writes."""
    iterator = iter(records)
    while chunk := list(islice(iterator, size)):
        batch = _Batch(size=len(chunk))
        newest: dict[tuple[str, str], Advisory] = {}
        for record in chunk:
            if isinstance(record, Advisory):
                batch.read += 1
                key = (record.source.value, storable(record.id[:ID_LENGTH]))
                held = newest.get(key)
                if held is None or _newer(record.modified, held.modified):
                    newest[key] = record
            elif isinstance(record, KevEntry):
                batch.kev[storable(record.cve[:40])] = record
            elif isinstance(record, EpssScore):
                batch.epss[storable(record.cve[:40])] = record
            elif isinstance(record, FeedProblem):
                batch.problems.append(record)
        batch.advisories = [_Prepared.of(key, advisory) for key, advisory in newest.items()]
        yield batch


def import_records(session: Session, clock: Clock, records: Iterable[Record], *,
                   paths: Sequence[str] = (), on_batch: Callable[[int], None] | None = None,
                   batch_size: int = BATCH) -> ImportResult:
    """Store what a feed yields; every FeedProblem is counted and the first few thousand
    kept. Runs in the caller's transaction (flushing batch by batch). The feed is read
    and serialised a batch or two ahead, in a thread (``core.prefetch``)."""
    result = ImportResult()
    run = FeedImport(started_at=clock.now(), paths=list(paths)[:100], counts={})
    session.add(run)
    session.flush()
    result.import_id = run.id
    with prefetched(_prepared(records, batch_size)) as batches:
        for number, batch in enumerate(batches, start=1):
            if number & (number - 1) == 0 and number > 1:
                _refresh_statistics(session)
            result.read += batch.read
            result.problems += len(batch.problems)
            room = KEPT_PROBLEMS - len(result.kept_problems)
            result.kept_problems += batch.problems[:max(0, room)]
            if batch.advisories:
                _store_advisories(session, clock.now(), batch.advisories, result)
            if batch.kev:
                _upsert(session, KevEntryRow, [_kev_row(cve, e) for cve, e in batch.kev.items()],
                        "cve")
                result.kev += len(batch.kev)
            if batch.epss:
                _upsert(session, EpssRow, [{"cve": cve, "epss": s.epss,
                                            "percentile": s.percentile, "scored_on": s.date}
                                           for cve, s in batch.epss.items()], "cve")
                result.epss += len(batch.epss)
            if on_batch is not None:
                on_batch(batch.size)
    if result.kept_problems:
        session.execute(insert(FeedProblemRow), [
            {"import_id": run.id, "location": storable(p.location[:1000]),
             "record_id": (p.record_id or None) and storable(p.record_id[:ID_LENGTH]),
             "message": storable(p.message[:2000])} for p in result.kept_problems])
    run.finished_at = clock.now()
    run.counts = result.counts()
    session.flush()
    return result


def one_of(column: Any, values: Iterable[Any], session: Session | None = None) -> ColumnElement[bool]:
    """``column IN values``; on PostgreSQL ``column = ANY(array)``, the array bound as one
    parameter: an import's lookups name thousands of keys, and compiling a statement with a
    placeholder for each (and psycopg splitting it again) cost more than running it."""
    listed = list(values)
    if session is not None and session.get_bind().dialect.name == "postgresql":
        return cast(ColumnElement[bool],
                    column == any_(bindparam(None, listed, type_=ARRAY(column.type))))
    return cast(ColumnElement[bool], column.in_(listed))


def pairs_in(first: Any, second: Any, pairs: Iterable[tuple[str, str]],
             session: Session | None = None) -> ColumnElement[bool]:
    """``(first, second) IN pairs``, written as ``first = a AND second IN (…)`` per distinct
    ``a``: PostgreSQL plans a row-value IN list as one OR per pair, checked against every
    row, which grew with the table (a quarter-million-CVE import crawled); grouped, each
    part is one probe of the (first, second) index."""
    grouped: dict[str, list[str]] = {}
    for a, b in pairs:
        grouped.setdefault(a, []).append(b)
    if not grouped:
        return false()
    return or_(*(and_(first == a, one_of(second, bs, session)) for a, bs in grouped.items()))


# the columns the import's own lookups filter on (the rest of the rows' statistics waits
# for autovacuum, after the import commits)
_ANALYSED = ((VulnRecord, "source, record_id"), (Vulnerability, "key, id"),
             (VulnLink, "record_id"), (VulnAlias, "record_id"), (AffectedName, "record_id"),
             (AffectedProduct, "record_id"))


def _refresh_statistics(session: Session) -> None:
    """On PostgreSQL, ANALYZE the tables an import grows, after batches 2, 4, 8 …: the
    import's lookups run in its own transaction against tables that were empty when the
    planner last looked, and it chose scans that grew with every batch (a 250,000-CVE import
    slowed to a crawl). The transaction's own rows are in the sample. Only the columns
    those lookups filter on: the records' text is most of what a full ANALYZE reads."""
    if not is_postgresql(session):
        return
    for model, columns in _ANALYSED:
        session.execute(text(f"ANALYZE {table_of(model).name} ({columns})"))


def _newer(candidate: datetime | None, held: datetime | None) -> bool:
    return candidate is not None and (held is None or candidate > held)


def _kev_row(cve: str, entry: KevEntry) -> dict[str, Any]:
    return {"cve": cve, "vendor": storable(entry.vendor),
            "product": storable(entry.product), "name": storable(entry.name),
            "date_added": entry.date_added, "due_date": entry.due_date,
            "ransomware": entry.ransomware, "action": storable(entry.action),
            "notes": storable(entry.notes)}


def _upsert(session: Session, table: type[Any], rows: list[dict[str, Any]], key: str) -> None:
    """Insert or replace by primary key, in one statement per batch."""
    make = pg_insert if is_postgresql(session) else sqlite_insert
    stmt = make(table)
    columns = {c: getattr(stmt.excluded, c) for c in rows[0] if c != key}
    session.execute(stmt.on_conflict_do_update(index_elements=[key], set_=columns), rows)


def _store_advisories(session: Session, now: datetime, advisories: list[_Prepared],
                      result: ImportResult) -> None:
    held = {(r.source, r.record_id): r for r in session.execute(
        select(VulnRecord.id, VulnRecord.source, VulnRecord.record_id, VulnRecord.digest,
               VulnRecord.modified)
        .where(pairs_in(VulnRecord.source, VulnRecord.record_id,
                        [p.key for p in advisories], session)))}
    new: list[_Prepared] = []
    changed: list[tuple[int, _Prepared]] = []
    for prepared in advisories:
        row = held.get(prepared.key)
        modified = prepared.row["modified"]
        if row is None:
            new.append(prepared)
        elif row.digest == prepared.row["digest"]:
            result.unchanged += 1
        elif modified is not None and row.modified is not None and modified < row.modified:
            result.older += 1
        else:
            changed.append((row.id, prepared))
    ids: dict[tuple[str, str], int] = {}
    if changed:
        old = [row_id for row_id, _ in changed]
        for table in LOOKUP_TABLES:  # no foreign keys: their rows are deleted here
            session.execute(delete(table).where(one_of(table.record_id, old, session)))
        session.execute(update(VulnRecord), [
            {"id": row_id, **_record_row(p, now)} for row_id, p in changed])
        ids.update({p.key: row_id for row_id, p in changed})
        result.changed += len(changed)
    if new:
        ids.update(_insert_with_ids(
            session, VulnRecord, [p.key for p in new], [_record_row(p, now) for p in new],
            lambda keys: select(VulnRecord.source, VulnRecord.record_id, VulnRecord.id)
            .where(pairs_in(VulnRecord.source, VulnRecord.record_id, keys, session))))
        result.added += len(new)
    written = [p for _, p in changed] + new
    if written:
        _write_lookups(session, now, written, ids, result)


def _insert_with_ids(session: Session, model: type[Base], keys: list[Any],
                     rows: list[dict[str, Any]],
                     lookup: Callable[[list[Any]], Executable]) -> dict[Any, int]:
    """Insert ``rows`` and say the id each got, by its natural key. On PostgreSQL the ids
    are taken from the sequence first and go in with the rows (COPY), so nothing is read
    back; on SQLite the rows go in by executemany and ``lookup(keys)`` (a select of the
    key's columns, then the id) reads their ids."""
    if is_postgresql(session):
        row_ids = reserve_ids(session, model, len(rows))
        insert_many(session, model, [{"id": row_id, **row}
                                     for row_id, row in zip(row_ids, rows, strict=True)])
        return dict(zip(keys, row_ids, strict=True))
    insert_many(session, model, rows)
    found: dict[Any, int] = {}
    for *key, row_id in session.execute(lookup(keys)):
        found[key[0] if len(key) == 1 else tuple(key)] = row_id
    return found


def _record_row(prepared: _Prepared, now: datetime) -> dict[str, Any]:
    return {**prepared.row, "imported_at": now}


def _write_lookups(session: Session, now: datetime, written: list[_Prepared],
                   ids: dict[tuple[str, str], int], result: ImportResult) -> None:
    """Links to vulnerabilities (made when new), aliases, and the package and product keys."""
    keys_of = {p.key: p.vulnerability_keys for p in written}
    wanted = {key for keys in keys_of.values() for key in keys}
    # a record without a CVE joins a vulnerability one of its aliases already keys
    aliases_only = {alias for p in written for alias in p.cve_less_aliases}
    known: dict[str, int] = dict(session.execute(
        select(Vulnerability.key, Vulnerability.id)
        .where(one_of(Vulnerability.key, wanted | aliases_only, session))).all())
    if aliases_only:
        for p in written:
            joined = [alias for alias in p.cve_less_aliases if alias in known]
            if joined:
                keys_of[p.key] = joined[:1]
    missing = sorted({k for keys in keys_of.values() for k in keys} - set(known))
    if missing:
        known.update(_insert_with_ids(
            session, Vulnerability, missing,
            [{"key": k, "first_seen": now, "updated_at": now} for k in missing],
            lambda keys: select(Vulnerability.key, Vulnerability.id)
            .where(one_of(Vulnerability.key, keys, session))))
    touched = {known[k] for keys in keys_of.values() for k in keys}
    stale = touched - {known[k] for k in missing}
    if stale:
        session.execute(update(Vulnerability).where(one_of(Vulnerability.id, sorted(stale), session))
                        .values(updated_at=now))
    result.touched |= touched
    links: list[tuple[Any, ...]] = []
    aliases: list[tuple[Any, ...]] = []
    names: list[tuple[Any, ...]] = []
    products: list[tuple[Any, ...]] = []
    for prepared in written:
        row_id = ids[prepared.key]
        links += [(v, row_id) for v in sorted({known[k] for k in keys_of[prepared.key]})]
        aliases += [(alias, row_id) for alias in prepared.aliases]
        names += [(row_id, e, n) for e, n in prepared.names]
        products += [(row_id, v, p) for v, p in prepared.products]
    insert_plain(session, VulnLink, ("vulnerability_id", "record_id"), links)
    insert_plain(session, VulnAlias, ("alias", "record_id"), aliases)
    insert_plain(session, AffectedName, ("record_id", "ecosystem", "name"), names)
    insert_plain(session, AffectedProduct, ("record_id", "vendor", "product"), products)


@lru_cache(maxsize=1 << 16)
def _criteria_product(criteria: str) -> tuple[str, str] | None:
    """The product key of a CPE match's criteria: a feed names the same products again and
    again, each criteria string read once."""
    pair = cpe_vendor_product(criteria)
    return None if pair is None else product_key(*pair)


def _products_of(advisory: Advisory) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for configuration in advisory.configurations:
        for node in configuration.nodes:
            for match in node.matches:
                if match.vulnerable and (key := _criteria_product(match.criteria)):
                    found.add(key)
    for product in advisory.products:
        pair = cpe_vendor_product(product.cpe) if product.cpe else None
        found.add(product_key(*(pair or (product.vendor, product.product))))
    return found


def _when(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _bound(value: dict[str, Any] | None) -> VersionBound | None:
    return None if value is None else VersionBound(value["version"], value["inclusive"])


def load_advisory(text: str | bytes) -> Advisory:
    """A stored record back as an Advisory (the inverse of ``record_json``)."""
    d = orjson.loads(text)
    return Advisory(
        source=Source(d["source"]), id=d["id"], modified=_when(d["modified"]),
        published=_when(d["published"]), withdrawn=_when(d["withdrawn"]),
        aliases=tuple(d["aliases"]), title=d["title"], summary=d["summary"],
        details=d["details"], language=d["language"], cwes=tuple(d["cwes"]),
        references=tuple(d["references"]),
        severities=tuple(Severity(**s) for s in d["severities"]),
        packages=tuple(AffectedPackage(
            ecosystem=p["ecosystem"], name=p["name"], purl=p["purl"],
            versions=tuple(p["versions"]),
            ranges=tuple(AffectedRange(r["type"], tuple(RangeEvent(EventKind(e["kind"]),
                                                                   e["version"])
                                                        for e in r["events"]), r["repo"])
                         for r in p["ranges"])) for p in d["packages"]),
        configurations=tuple(CpeConfiguration(
            nodes=tuple(CpeNode(n["operator"], tuple(CpeMatch(**m) for m in n["matches"]),
                                n["negate"]) for n in c["nodes"]),
            operator=c["operator"], negate=c["negate"]) for c in d["configurations"]),
        products=tuple(ProductVersions(
            vendor=p["vendor"], product=p["product"], cpe=p["cpe"], text=p["text"],
            lower=_bound(p["lower"]), upper=_bound(p["upper"]), exact=tuple(p["exact"]),
            parsed=p["parsed"]) for p in d["products"]))
