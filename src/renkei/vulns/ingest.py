"""Writing feed records into the store: idempotent, in batches, merged by CVE.

A record is upserted by (source, id): one whose SHA-256 is unchanged writes nothing, one
older than what is held (by ``modified``) is skipped, a newer or different one replaces
the held one and its lookup rows. Records naming the same CVE are linked to one
vulnerability; each keeps its own data. Rows are written with one multi-row statement per
table and batch, because 250,000 records must import within a minute.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any, cast

import orjson
from sqlalchemy import (
    Table,
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

from renkei.core.models import Base
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


def record_json(advisory: Advisory) -> bytes:
    """The record as stored: every field but ``raw`` (the normalised fields are the
    source's own data; the raw document would double the store for nothing a match or a
    person reads)."""
    return orjson.dumps(dataclasses.replace(advisory, raw={}),
                        option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)


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


def _batches(items: Iterable[Record], size: int) -> Iterator[list[Record]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def import_records(session: Session, clock: Clock, records: Iterable[Record], *,
                   paths: Sequence[str] = (), on_batch: Callable[[int], None] | None = None,
                   batch_size: int = BATCH) -> ImportResult:
    """Store what a feed yields; every FeedProblem is counted and the first few thousand
    kept. Runs in the caller's transaction (flushing batch by batch)."""
    result = ImportResult()
    run = FeedImport(started_at=clock.now(), paths=list(paths)[:100], counts={})
    session.add(run)
    session.flush()
    result.import_id = run.id
    for number, batch in enumerate(_batches(records, batch_size), start=1):
        if number & (number - 1) == 0 and number > 1:
            _refresh_statistics(session)
        advisories: dict[tuple[str, str], Advisory] = {}
        kev: dict[str, KevEntry] = {}
        epss: dict[str, EpssScore] = {}
        for record in batch:
            if isinstance(record, Advisory):
                result.read += 1
                key = (record.source.value, record.id[:ID_LENGTH])
                held = advisories.get(key)
                if held is None or _newer(record.modified, held.modified):
                    advisories[key] = record
            elif isinstance(record, KevEntry):
                kev[record.cve] = record
            elif isinstance(record, EpssScore):
                epss[record.cve] = record
            elif isinstance(record, FeedProblem):
                result.problems += 1
                if len(result.kept_problems) < KEPT_PROBLEMS:
                    result.kept_problems.append(record)
        if advisories:
            _store_advisories(session, clock.now(), list(advisories.values()), result)
        if kev:
            _upsert(session, KevEntryRow, [_kev_row(e) for e in kev.values()], "cve")
            result.kev += len(kev)
        if epss:
            _upsert(session, EpssRow, [{"cve": s.cve, "epss": s.epss, "percentile": s.percentile,
                                        "scored_on": s.date} for s in epss.values()], "cve")
            result.epss += len(epss)
        if on_batch is not None:
            on_batch(len(batch))
    if result.kept_problems:
        session.execute(insert(FeedProblemRow), [
            {"import_id": run.id, "location": p.location[:1000],
             "record_id": (p.record_id or None) and p.record_id[:ID_LENGTH],
             "message": p.message[:2000]} for p in result.kept_problems])
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


def _table(model: type[Base]) -> Table:
    """A model's table, for Core inserts: the ORM's bulk path costs a Python call per row
    and, with RETURNING on SQLite, one statement per row."""
    return cast(Table, model.__table__)


_ANALYSED = (VulnRecord, Vulnerability, VulnLink, VulnAlias, AffectedName, AffectedProduct)


def _refresh_statistics(session: Session) -> None:
    """On PostgreSQL, ANALYZE the tables an import grows, after batches 2, 4, 8 …: the
    import's lookups run in its own transaction against tables that were empty when the
    planner last looked, and it chose scans that grew with every batch (a 250,000-CVE import
    slowed to a crawl). The transaction's own rows are in the sample."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for model in _ANALYSED:
        session.execute(text(f"ANALYZE {_table(model).name}"))


def _newer(candidate: datetime | None, held: datetime | None) -> bool:
    return candidate is not None and (held is None or candidate > held)


def _kev_row(entry: KevEntry) -> dict[str, Any]:
    return {"cve": entry.cve[:40], "vendor": entry.vendor, "product": entry.product,
            "name": entry.name, "date_added": entry.date_added, "due_date": entry.due_date,
            "ransomware": entry.ransomware, "action": entry.action, "notes": entry.notes}


def _upsert(session: Session, table: type[Any], rows: list[dict[str, Any]], key: str) -> None:
    """Insert or replace by primary key, in one statement per batch."""
    dialect = session.get_bind().dialect.name
    make = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = make(table)
    columns = {c: getattr(stmt.excluded, c) for c in rows[0] if c != key}
    session.execute(stmt.on_conflict_do_update(index_elements=[key], set_=columns), rows)


def _store_advisories(session: Session, now: datetime, advisories: list[Advisory],
                      result: ImportResult) -> None:
    texts = {(a.source.value, a.id[:ID_LENGTH]): record_json(a) for a in advisories}
    digests = {key: hashlib.sha256(text).hexdigest() for key, text in texts.items()}
    held = {(r.source, r.record_id): r for r in session.execute(
        select(VulnRecord.id, VulnRecord.source, VulnRecord.record_id, VulnRecord.digest,
               VulnRecord.modified)
        .where(pairs_in(VulnRecord.source, VulnRecord.record_id, texts, session)))}
    new: list[Advisory] = []
    changed: list[tuple[int, Advisory]] = []
    for advisory in advisories:
        key = (advisory.source.value, advisory.id[:ID_LENGTH])
        row = held.get(key)
        if row is None:
            new.append(advisory)
        elif row.digest == digests[key]:
            result.unchanged += 1
        elif advisory.modified is not None and row.modified is not None \
                and advisory.modified < row.modified:
            result.older += 1
        else:
            changed.append((row.id, advisory))
    ids: dict[tuple[str, str], int] = {}
    if changed:
        old = [row_id for row_id, _ in changed]
        for table in (VulnLink, VulnAlias, AffectedName, AffectedProduct):
            session.execute(delete(table).where(one_of(table.record_id, old, session)))
        session.execute(update(VulnRecord), [
            {"id": row_id, **_record_row(a, texts, digests, now)} for row_id, a in changed])
        ids.update({(a.source.value, a.id[:ID_LENGTH]): row_id for row_id, a in changed})
        result.changed += len(changed)
    if new:
        _insert_rows(session, VulnRecord, [_record_row(a, texts, digests, now) for a in new])
        keys = [(a.source.value, a.id[:ID_LENGTH]) for a in new]
        ids.update({(r.source, r.record_id): r.id for r in session.execute(
            select(VulnRecord.id, VulnRecord.source, VulnRecord.record_id)
            .where(pairs_in(VulnRecord.source, VulnRecord.record_id, keys, session)))})
        result.added += len(new)
    written = [a for _, a in changed] + new
    if written:
        _write_lookups(session, now, written, ids, result)


def _record_row(advisory: Advisory, texts: dict[tuple[str, str], bytes],
                digests: dict[tuple[str, str], str], now: datetime) -> dict[str, Any]:
    key = (advisory.source.value, advisory.id[:ID_LENGTH])
    return {"source": key[0], "record_id": key[1], "modified": advisory.modified,
            "published": advisory.published, "withdrawn": advisory.withdrawn,
            "title": (advisory.title or advisory.summary or advisory.details)[:1000],
            "language": advisory.language,
            "digest": digests[key], "data": texts[key].decode(), "imported_at": now}


def _vulnerability_keys(advisory: Advisory) -> list[str]:
    cves = advisory.cves
    return [c[:ID_LENGTH] for c in cves] if cves else [advisory.id[:ID_LENGTH]]


def _write_lookups(session: Session, now: datetime, written: list[Advisory],
                   ids: dict[tuple[str, str], int], result: ImportResult) -> None:
    """Links to vulnerabilities (made when new), aliases, and the package and product keys."""
    wanted = {key for a in written for key in _vulnerability_keys(a)}
    # a record without a CVE joins a vulnerability one of its aliases already keys
    aliases_only = {alias[:ID_LENGTH] for a in written if not a.cves for alias in a.aliases}
    known: dict[str, int] = dict(session.execute(
        select(Vulnerability.key, Vulnerability.id)
        .where(one_of(Vulnerability.key, wanted | aliases_only, session))).all())
    keys_of: dict[tuple[str, str], list[str]] = {}
    for advisory in written:
        keys = _vulnerability_keys(advisory)
        if not advisory.cves:
            joined = [alias[:ID_LENGTH] for alias in advisory.aliases
                      if alias[:ID_LENGTH] in known]
            keys = joined[:1] or keys
        keys_of[(advisory.source.value, advisory.id[:ID_LENGTH])] = keys
    missing = sorted({k for keys in keys_of.values() for k in keys} - set(known))
    if missing:
        _insert_rows(session, Vulnerability,
                     [{"key": k, "first_seen": now, "updated_at": now} for k in missing])
        known.update(session.execute(select(Vulnerability.key, Vulnerability.id)
                                     .where(one_of(Vulnerability.key, missing, session))).all())
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
    for advisory in written:
        key = (advisory.source.value, advisory.id[:ID_LENGTH])
        row_id = ids[key]
        links += [(v, row_id) for v in sorted({known[k] for k in keys_of[key]})]
        aliases += [(alias, row_id) for alias in dict.fromkeys(
            i[:ID_LENGTH] for i in (advisory.id, *advisory.aliases))]
        names += [(row_id, e, n) for e, n in dict.fromkeys(
            package_key(p.ecosystem, p.name) for p in advisory.packages)]
        products += [(row_id, v, p) for v, p in sorted(_products_of(advisory))]
    _insert_plain(session, VulnLink, ("vulnerability_id", "record_id"), links)
    _insert_plain(session, VulnAlias, ("alias", "record_id"), aliases)
    _insert_plain(session, AffectedName, ("record_id", "ecosystem", "name"), names)
    _insert_plain(session, AffectedProduct, ("record_id", "vendor", "product"), products)


def _insert_rows(session: Session, model: type[Base], rows: list[dict[str, Any]]) -> None:
    """Rows with typed values (datetimes): COPY on PostgreSQL, a Core executemany on SQLite,
    where SQLAlchemy writes datetimes in the form its reads expect."""
    if session.get_bind().dialect.name == "postgresql":
        _insert_plain(session, model, tuple(rows[0]), [tuple(r.values()) for r in rows])
    else:
        session.execute(insert(_table(model)), rows)


def _insert_plain(session: Session, model: type[Base], columns: tuple[str, ...],
                  rows: list[tuple[Any, ...]]) -> None:
    """Rows handed to the database in bulk: COPY on PostgreSQL, the driver's executemany on
    SQLite. For the ~100,000 lookup rows of a large import, SQLAlchemy's per-row parameter
    processing, or PostgreSQL executing one INSERT per row, cost more than the data.
    Values must be plain (ints, strings, aware datetimes on PostgreSQL)."""
    if not rows:
        return
    connection = session.connection()
    table = _table(model).name
    if connection.dialect.name == "postgresql":
        from psycopg import sql

        copy = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)))
        driver = connection.connection.driver_connection
        assert driver is not None
        with driver.cursor() as cursor, cursor.copy(copy) as sink:
            for row in rows:
                sink.write_row(row)
        return
    # table and column names are this module's constants; the values are bound parameters
    statement = (f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608
                 f"VALUES ({', '.join(['?'] * len(columns))})")
    connection.exec_driver_sql(statement, rows)


def _products_of(advisory: Advisory) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for configuration in advisory.configurations:
        for node in configuration.nodes:
            for match in node.matches:
                if match.vulnerable and (pair := cpe_vendor_product(match.criteria)):
                    found.add(product_key(*pair))
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
