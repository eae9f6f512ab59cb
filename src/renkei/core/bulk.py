"""Writing many rows at once: COPY on PostgreSQL, executemany elsewhere.

An INSERT of thousands of rows is one statement of thousands of parameters, which psycopg
parses again in Python for every batch, and an executemany on PostgreSQL is one INSERT per
row; COPY streams the rows and the server reads them as they come. SQLite has no COPY and
no round trips: the driver's executemany is its fast path. The domains' bulk writes (a
TAXII POST, a feed import) go through here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Table, insert, text
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.orm import Session

from renkei.core.models import Base


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def table_of(model: type[Base] | Table) -> Table:
    """A model's table (or the table given): bulk writes go through SQLAlchemy Core."""
    if isinstance(model, Table):
        return model
    table = model.__table__
    assert isinstance(table, Table)
    return table


def insert_many(session: Session, model: type[Base] | Table, rows: list[dict[str, Any]]) -> None:
    """INSERT ``rows`` (dicts with the same keys) into ``model``'s table, values bound by
    the columns' own types (an aware datetime is required where the model says so)."""
    if not rows:
        return
    table = table_of(model)
    names = list(rows[0])
    _defaults_given(table, names)
    if not is_postgresql(session):
        session.execute(insert(table), rows)
        return
    connection = session.connection()
    dialect = connection.dialect
    processors = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
                  for name in names]
    bound = [(k, bind) for k, bind in enumerate(processors) if bind is not None]

    def values() -> Iterator[list[Any]]:
        for row in rows:
            value = [row[name] for name in names]
            for k, bind in bound:  # only the few columns with a processor (datetimes)
                value[k] = bind(value[k])
            yield value

    _copy(session, table, names, values())


def _defaults_given(table: Table, names: Sequence[str]) -> None:
    """Refuse rows that leave out a column with a Python-side default: COPY never applies
    one (SQLite's INSERT would), so the two databases would store different rows."""
    left = [c.name for c in table.columns
            if c.default is not None and c.server_default is None and c.name not in names
            and not (c.primary_key and c.autoincrement)]
    if left:
        raise ValueError(f"bulk rows into {table.name} must give {', '.join(left)}")


def insert_plain(session: Session, model: type[Base] | Table, columns: Sequence[str],
                 rows: Sequence[Sequence[Any]]) -> None:
    """INSERT ``rows`` of plain values (ints, strings, floats, None), in ``columns``' order,
    without SQLAlchemy's per-value processing: for the hundreds of thousands of small
    rows of a large import, where that processing cost more than the data."""
    if not rows:
        return
    table = table_of(model)
    _defaults_given(table, columns)
    if is_postgresql(session):
        _copy(session, table, columns, rows)
        return
    quote = session.get_bind().dialect.identifier_preparer.quote
    # names are the model's own; the values are bound parameters
    statement = (f"INSERT INTO {quote(table.name)} ({', '.join(map(quote, columns))}) "  # noqa: S608
                 f"VALUES ({', '.join(['?'] * len(columns))})")
    session.connection().exec_driver_sql(statement, list(rows))


def reserve_ids(session: Session, model: type[Base], count: int) -> list[int]:
    """``count`` new ids from the sequence of ``model``'s ``id`` column (PostgreSQL only),
    increasing: rows written by COPY then carry their ids, and nothing is read back to
    learn them. Ids taken and not used are gaps, as after a rolled-back INSERT."""
    if count <= 0:
        return []
    # the sequence looked up once, not per row (which cost 8 µs an id, ten times nextval)
    return sorted(session.scalars(text(
        "WITH s AS MATERIALIZED (SELECT pg_get_serial_sequence(:name, 'id')::regclass AS seq) "
        "SELECT nextval(s.seq) FROM s, generate_series(1, :n)"),
        {"name": table_of(model).name, "n": count}).all())


# bool, int8, int2, int4, text, float8, varchar, timestamptz: the types whose binary form
# psycopg writes from the Python values the models bind (JSON or enums stay in text form)
_BINARY_TYPES = frozenset({16, 20, 21, 23, 25, 701, 1043, 1184})


def _copy(session: Session, table: Table, columns: Sequence[str],
          rows: Iterable[Sequence[Any]]) -> None:
    """COPY ``rows`` in; in binary form when every column's type allows, which spares the
    client escaping each text and the server parsing each number and time back (a third
    less work on both sides for the records of a feed import)."""
    session.flush()  # COPY goes past the session: what it refers to must be written first
    connection: Connection = session.connection()
    dialect = connection.dialect
    quote = dialect.identifier_preparer.quote
    name = dialect.identifier_preparer.format_table(table)
    types = _column_types(connection, name, columns)
    binary = all(oid in _BINARY_TYPES for oid in types)
    command = (f"COPY {name} ({', '.join(quote(column) for column in columns)}) FROM STDIN"
               + (" (FORMAT BINARY)" if binary else ""))
    driver = connection.connection.driver_connection
    assert driver is not None
    driver_error = dialect.loaded_dbapi.Error
    try:
        with driver.cursor() as cursor, cursor.copy(command) as copy:
            if binary:
                copy.set_types(types)
            write: Callable[[Sequence[Any]], None] = copy.write_row
            for row in rows:
                write(row)
    except driver_error as error:  # raised as SQLAlchemy raises a failed INSERT's
        raise DBAPIError.instance(command, None, error, driver_error) from error
    except (ValueError, TypeError) as error:  # a value its column's type refused to bind
        raise StatementError(str(error), command, None, error) from error


def _column_types(connection: Connection, table: str, columns: Sequence[str]) -> list[int]:
    """The type OIDs of ``columns`` of ``table``, asked once per database connection (a
    table's column types change only by a migration, which runs before the work)."""
    known: dict[str, dict[str, int]] = connection.info.setdefault("renkei.bulk.types", {})
    types = known.get(table)
    if types is None or not all(column in types for column in columns):
        found = connection.exec_driver_sql(
            "SELECT attname, atttypid::int FROM pg_attribute WHERE attrelid = "
            "%(table)s::regclass AND attnum > 0 AND NOT attisdropped", {"table": table})
        types = known[table] = {str(column): int(oid) for column, oid in found}
    return [types[column] for column in columns]
