"""shared objects without the index on stix_id alone

The unique (stix_id, version) index already answers every look-up by STIX id; the second
index, keyed on the same random UUIDs, doubled the index pages each bulk insert dirties,
which made a TAXII POST on SQLite slower as the store grew.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 15:30:00.000000
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('shared_objects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shared_objects_stix_id'))


def downgrade() -> None:
    with op.batch_alter_table('shared_objects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shared_objects_stix_id'), ['stix_id'], unique=False)
