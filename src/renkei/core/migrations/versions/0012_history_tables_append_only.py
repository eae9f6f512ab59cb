"""history tables refuse UPDATE and DELETE in the database itself

The event tables are the record of what happened (the audit log, submissions', incidents',
the plan's and coordinated disclosures' steps). The models already refuse to change a row,
but that holds only for code that goes through them: a trigger on each table refuses an
UPDATE or DELETE from anywhere, a cascade from a deleted parent included. TRUNCATE, and
dropping the tables, stay with the database's owner.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27 12:00:00.000000
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

HISTORY_TABLES = ('audit_events', 'submission_events', 'incident_events',
                  'plan_status_events', 'plan_consultation_events', 'vuln_cvd_events')
_FUNCTION = 'renkei_refuse_history_change'


def _message(table: str) -> str:
    return f'{table} is history: its rows are appended, never changed or deleted'


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"""
            CREATE FUNCTION {_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '% is history: its rows are appended, never changed or deleted',
                    TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
            END $$""")
        for table in HISTORY_TABLES:
            op.execute(f'CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} '
                       f'FOR EACH ROW EXECUTE FUNCTION {_FUNCTION}()')
        return
    for table in HISTORY_TABLES:
        for change in ('UPDATE', 'DELETE'):
            op.execute(f"CREATE TRIGGER {table}_no_{change.lower()} BEFORE {change} ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, '{_message(table)}'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for table in HISTORY_TABLES:
            op.execute(f'DROP TRIGGER {table}_append_only ON {table}')
        op.execute(f'DROP FUNCTION {_FUNCTION}()')
        return
    for table in HISTORY_TABLES:
        for change in ('update', 'delete'):
            op.execute(f'DROP TRIGGER {table}_no_{change}')
