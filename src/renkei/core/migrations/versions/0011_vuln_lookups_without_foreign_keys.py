"""vulnerability lookup tables without foreign keys

vuln_links, vuln_aliases, vuln_affected_names and vuln_affected_products are written by
the feed import alone, with the ids of the records and vulnerabilities it has just written,
and nothing deletes a record or a vulnerability (a changed record's rows are deleted by the
import before it writes them again). Their foreign keys checked each of the millions of
rows a large import COPYs against its parent: a quarter of PostgreSQL's time in a
250,000-CVE import. Their record_id indexes stay (the import deletes by them, reads join
by them). Downgrading deletes rows without a parent, then restores the constraints.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27 10:00:00.000000
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

# (table, column, parent table): every foreign key this revision drops
_KEYS = (
    ('vuln_links', 'record_id', 'vuln_records'),
    ('vuln_links', 'vulnerability_id', 'vulnerabilities'),
    ('vuln_aliases', 'record_id', 'vuln_records'),
    ('vuln_affected_names', 'record_id', 'vuln_records'),
    ('vuln_affected_products', 'record_id', 'vuln_records'),
)
_TABLES = tuple(dict.fromkeys(table for table, _, _ in _KEYS))


def _name(table: str, column: str, parent: str) -> str:
    return f'fk_{table}_{column}_{parent}'


def upgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            for owner, column, parent in _KEYS:
                if owner == table:
                    batch_op.drop_constraint(op.f(_name(table, column, parent)),
                                             type_='foreignkey')


def downgrade() -> None:
    for table, column, parent in _KEYS:  # the constraints would refuse orphaned rows
        op.execute(f'DELETE FROM {table} WHERE {column} NOT IN (SELECT id FROM {parent})')  # noqa: S608
    for table in _TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            for owner, column, parent in _KEYS:
                if owner == table:
                    batch_op.create_foreign_key(op.f(_name(table, column, parent)), parent,
                                                [column], ['id'], ondelete='CASCADE')
