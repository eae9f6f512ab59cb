"""The lookup tables without foreign keys (migration 0011): the import keeps them whole.

Nothing in renkei deletes a record or a vulnerability; the one path that deletes lookup
rows is the import replacing a changed record's. These tests hold it to what ON DELETE
CASCADE used to guarantee: no row is left pointing at nothing, and none is kept twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from alembic import command
from sqlalchemy import Engine, func, inspect, select, text
from sqlalchemy.orm import Session

from renkei.core.db import alembic_config, make_engine, upgrade
from renkei.core.time import FixedClock
from renkei.vulns.ingest import import_records
from renkei.vulns.model import (
    Advisory,
    AffectedPackage,
    CpeConfiguration,
    CpeMatch,
    CpeNode,
    Source,
)
from renkei.vulns.store import (
    LOOKUP_TABLES,
    AffectedName,
    AffectedProduct,
    VulnAlias,
    Vulnerability,
    VulnLink,
    VulnRecord,
)

from .test_ingest import T0

# (table, column, parent): the references the dropped foreign keys enforced
REFERENCES = (("vuln_links", "record_id", "vuln_records"),
              ("vuln_links", "vulnerability_id", "vulnerabilities"),
              ("vuln_aliases", "record_id", "vuln_records"),
              ("vuln_affected_names", "record_id", "vuln_records"),
              ("vuln_affected_products", "record_id", "vuln_records"))


def orphans(session: Session) -> dict[str, int]:
    """Rows per reference whose parent is missing (all should be 0)."""
    found = {}
    for table, column, parent in REFERENCES:
        found[f"{table}.{column}"] = session.scalar(text(
            f"SELECT count(*) FROM {table} WHERE {column} NOT IN (SELECT id FROM {parent})")) or 0
    return found


def advisory(ident: str, *aliases: str, packages: tuple[str, ...] = (),
             products: tuple[str, ...] = (), day: int = 0) -> Advisory:
    return Advisory(
        source=Source.OSV, id=ident, modified=T0 + timedelta(days=day), aliases=aliases,
        summary=f"flaw, version {day}",
        packages=tuple(AffectedPackage(ecosystem="PyPI", name=name) for name in packages),
        configurations=(CpeConfiguration(nodes=(CpeNode("OR", tuple(
            CpeMatch(f"cpe:2.3:a:acme:{product}:*:*:*:*:*:*:*:*") for product in products)),)),)
        if products else ())


def lookups(session: Session) -> dict[str, set[tuple[str, ...]]]:
    """Every lookup row, by the natural keys of what it points at."""
    ident = dict(session.execute(select(VulnRecord.id, VulnRecord.record_id)).all())
    key = dict(session.execute(select(Vulnerability.id, Vulnerability.key)).all())
    return {
        "links": {(key[v], ident[r]) for v, r in session.execute(
            select(VulnLink.vulnerability_id, VulnLink.record_id))},
        "aliases": {(a, ident[r]) for a, r in session.execute(
            select(VulnAlias.alias, VulnAlias.record_id))},
        "names": {(n, ident[r]) for n, r in session.execute(
            select(AffectedName.name, AffectedName.record_id))},
        "products": {(p, ident[r]) for p, r in session.execute(
            select(AffectedProduct.product, AffectedProduct.record_id))},
    }


def total_rows(session: Session) -> int:
    return sum(session.scalar(select(func.count()).select_from(t)) or 0 for t in LOOKUP_TABLES)


def test_a_changed_record_replaces_its_lookup_rows_and_leaves_none_behind(
        db_session: Session, clock: FixedClock) -> None:
    first = [advisory("PYSEC-1", "CVE-2026-0001", "GHSA-aaaa", packages=("alpha", "beta"),
                      products=("server", "client")),
             advisory("PYSEC-2", "CVE-2026-0002", packages=("gamma",))]
    import_records(db_session, clock, first)
    assert orphans(db_session) == dict.fromkeys(orphans(db_session), 0)
    # PYSEC-1 now names another CVE, loses an alias, a package and a product
    later = [advisory("PYSEC-1", "CVE-2026-0003", packages=("beta",), products=("client",),
                      day=1), first[1]]
    result = import_records(db_session, clock, later)
    assert (result.changed, result.unchanged) == (1, 1)
    assert lookups(db_session) == {
        "links": {("CVE-2026-0003", "PYSEC-1"), ("CVE-2026-0002", "PYSEC-2")},
        "aliases": {("PYSEC-1", "PYSEC-1"), ("CVE-2026-0003", "PYSEC-1"),
                    ("PYSEC-2", "PYSEC-2"), ("CVE-2026-0002", "PYSEC-2")},
        "names": {("beta", "PYSEC-1"), ("gamma", "PYSEC-2")},
        "products": {("client", "PYSEC-1")},
    }
    assert orphans(db_session) == dict.fromkeys(orphans(db_session), 0)
    held = total_rows(db_session)
    import_records(db_session, clock, later)  # the same again: nothing written twice
    assert total_rows(db_session) == held
    assert orphans(db_session) == dict.fromkeys(orphans(db_session), 0)


def test_many_changed_records_across_batches_leave_no_orphans(
        db_session: Session, clock: FixedClock) -> None:
    records = [advisory(f"PYSEC-{n}", f"CVE-2026-{n:04d}", packages=(f"p{n}", "shared"),
                        products=(f"x{n}",)) for n in range(40)]
    import_records(db_session, clock, records, batch_size=7)
    changed = [advisory(f"PYSEC-{n}", f"CVE-2026-{n + 1:04d}", packages=(f"q{n}",), day=1)
               for n in range(40)]
    import_records(db_session, clock, changed, batch_size=9)
    assert orphans(db_session) == dict.fromkeys(orphans(db_session), 0)
    found = lookups(db_session)
    assert found["names"] == {(f"q{n}", f"PYSEC-{n}") for n in range(40)}
    assert found["products"] == set()
    assert found["links"] == {(f"CVE-2026-{n + 1:04d}", f"PYSEC-{n}") for n in range(40)}


def test_the_lookup_tables_have_no_foreign_keys_but_keep_their_indexes(
        db_engine: Engine) -> None:
    schema = inspect(db_engine)
    for table, column, _parent in REFERENCES:
        assert schema.get_foreign_keys(table) == [], table
        indexed = [ix["column_names"] for ix in schema.get_indexes(table)]
        keyed = schema.get_pk_constraint(table)["constrained_columns"]
        assert [column] in indexed or keyed[0] == column, f"{table}.{column} lost its index"


@pytest.fixture
def engine(empty_database_url: str) -> Iterator[Engine]:
    made = make_engine(empty_database_url)
    yield made
    made.dispose()


ORPHANS = ("INSERT INTO vuln_links (vulnerability_id, record_id) VALUES (999, 999)",
           "INSERT INTO vuln_aliases (alias, record_id) VALUES ('X', 999)",
           "INSERT INTO vuln_affected_names (record_id, ecosystem, name) VALUES (999, 'x', 'y')",
           "INSERT INTO vuln_affected_products (record_id, vendor, product) VALUES (999, 'x', 'y')")


def migrate(engine: Engine, revision: str, down: bool = False) -> None:
    cfg = alembic_config()
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(cfg, revision)


def test_downgrade_drops_orphans_and_restores_the_constraints(
        engine: Engine, clock: FixedClock) -> None:
    upgrade(engine)
    with Session(engine) as session:
        import_records(session, clock, [advisory("PYSEC-1", "CVE-2026-0001", packages=("a",),
                                                 products=("b",))])
        kept = lookups(session)
        for statement in ORPHANS:  # what a delete without its lookup rows would leave
            session.execute(text(statement))
        session.commit()
        assert all(orphans(session).values())
    migrate(engine, "0010", down=True)
    schema = inspect(engine)
    for table, column, parent in REFERENCES:
        assert {(tuple(fk["constrained_columns"]), fk["referred_table"],
                 fk["options"].get("ondelete")) for fk in schema.get_foreign_keys(table)} >= {
            ((column,), parent, "CASCADE")}, table
    with Session(engine) as session:
        assert orphans(session) == dict.fromkeys(orphans(session), 0)
        assert lookups(session) == kept
    upgrade(engine)
    assert all(inspect(engine).get_foreign_keys(t) == [] for t, _, _ in REFERENCES)
