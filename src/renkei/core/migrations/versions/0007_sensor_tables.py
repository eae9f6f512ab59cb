"""sensor tables: sensors, members' address space, ingest runs, series, findings

Registered sensors with their watched blocks and IPv4 size; the CIDR ranges and AS numbers
members answer for; each ingest run with the capture files it read (by SHA-256, once per
sensor) and the problems met; the time series per (bucket, width, sensor, protocol, port,
run) — packets and unique sources, research scanners apart; and the findings (scanners,
backscatter victims, rises, campaigns). Raw packets are not kept.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 09:28:28.846976
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('sensor_ingest_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('bucket_s', sa.Integer(), nullable=False),
    sa.Column('paths', sa.JSON(), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sensor_ingest_runs'))
    )
    op.create_table('sensor_ingest_problems',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('offset', sa.BigInteger(), nullable=True),
    sa.Column('record', sa.BigInteger(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['sensor_ingest_runs.id'], name=op.f('fk_sensor_ingest_problems_run_id_sensor_ingest_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sensor_ingest_problems'))
    )
    with op.batch_alter_table('sensor_ingest_problems', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sensor_ingest_problems_run_id'), ['run_id'], unique=False)

    op.create_table('sensor_member_ranges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('value', sa.String(length=50), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_sensor_member_ranges_organisation_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sensor_member_ranges')),
    sa.UniqueConstraint('kind', 'value', name=op.f('uq_sensor_member_ranges_kind'))
    )
    with op.batch_alter_table('sensor_member_ranges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sensor_member_ranges_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('sensors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('site', sa.String(length=200), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('blocks', sa.JSON(), nullable=False),
    sa.Column('address_count', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['organisations.id'], name=op.f('fk_sensors_owner_id_organisations'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sensors')),
    sa.UniqueConstraint('name', name=op.f('uq_sensors_name'))
    )
    with op.batch_alter_table('sensors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sensors_owner_id'), ['owner_id'], unique=False)

    op.create_table('sensor_findings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('src', sa.String(length=45), nullable=True),
    sa.Column('port', sa.Integer(), nullable=True),
    sa.Column('ports', sa.JSON(), nullable=False),
    sa.Column('protocol', sa.String(length=10), nullable=False),
    sa.Column('fingerprints', sa.JSON(), nullable=False),
    sa.Column('labels', sa.JSON(), nullable=False),
    sa.Column('packets', sa.BigInteger(), nullable=False),
    sa.Column('first', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sensor_id', sa.Integer(), nullable=True),
    sa.Column('sensors', sa.JSON(), nullable=False),
    sa.Column('rate_pps', sa.Float(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['sensor_ingest_runs.id'], name=op.f('fk_sensor_findings_run_id_sensor_ingest_runs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sensor_id'], ['sensors.id'], name=op.f('fk_sensor_findings_sensor_id_sensors'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sensor_findings'))
    )
    with op.batch_alter_table('sensor_findings', schema=None) as batch_op:
        batch_op.create_index('ix_sensor_findings_kind_last', ['kind', 'last'], unique=False)
        batch_op.create_index('ix_sensor_findings_port', ['port', 'last'], unique=False)
        batch_op.create_index(batch_op.f('ix_sensor_findings_run_id'), ['run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sensor_findings_sensor_id'), ['sensor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sensor_findings_src'), ['src'], unique=False)

    op.create_table('sensor_ingest_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('sensor_id', sa.Integer(), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('format', sa.String(length=20), nullable=False),
    sa.Column('packets', sa.BigInteger(), nullable=False),
    sa.Column('skipped', sa.BigInteger(), nullable=False),
    sa.Column('truncated', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['sensor_ingest_runs.id'], name=op.f('fk_sensor_ingest_files_run_id_sensor_ingest_runs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sensor_id'], ['sensors.id'], name=op.f('fk_sensor_ingest_files_sensor_id_sensors'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sensor_ingest_files')),
    sa.UniqueConstraint('sensor_id', 'digest', name=op.f('uq_sensor_ingest_files_sensor_id'))
    )
    with op.batch_alter_table('sensor_ingest_files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sensor_ingest_files_run_id'), ['run_id'], unique=False)

    op.create_table('sensor_series',
    sa.Column('bucket', sa.DateTime(timezone=True), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('sensor_id', sa.Integer(), nullable=False),
    sa.Column('proto', sa.SmallInteger(), nullable=False),
    sa.Column('port', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('packets', sa.BigInteger(), nullable=False),
    sa.Column('sources', sa.BigInteger(), nullable=False),
    sa.Column('research_packets', sa.BigInteger(), nullable=False),
    sa.Column('research_sources', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['sensor_ingest_runs.id'], name=op.f('fk_sensor_series_run_id_sensor_ingest_runs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sensor_id'], ['sensors.id'], name=op.f('fk_sensor_series_sensor_id_sensors'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('bucket', 'width', 'sensor_id', 'proto', 'port', 'run_id', name=op.f('pk_sensor_series'))
    )
    with op.batch_alter_table('sensor_series', schema=None) as batch_op:
        batch_op.create_index('ix_sensor_series_lookup', ['sensor_id', 'port', 'bucket'], unique=False)
        batch_op.create_index(batch_op.f('ix_sensor_series_run_id'), ['run_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('sensor_series', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sensor_series_run_id'))
        batch_op.drop_index('ix_sensor_series_lookup')

    op.drop_table('sensor_series')
    with op.batch_alter_table('sensor_ingest_files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sensor_ingest_files_run_id'))

    op.drop_table('sensor_ingest_files')
    with op.batch_alter_table('sensor_findings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sensor_findings_src'))
        batch_op.drop_index(batch_op.f('ix_sensor_findings_sensor_id'))
        batch_op.drop_index(batch_op.f('ix_sensor_findings_run_id'))
        batch_op.drop_index('ix_sensor_findings_port')
        batch_op.drop_index('ix_sensor_findings_kind_last')

    op.drop_table('sensor_findings')
    with op.batch_alter_table('sensors', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sensors_owner_id'))

    op.drop_table('sensors')
    with op.batch_alter_table('sensor_member_ranges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sensor_member_ranges_organisation_id'))

    op.drop_table('sensor_member_ranges')
    with op.batch_alter_table('sensor_ingest_problems', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sensor_ingest_problems_run_id'))

    op.drop_table('sensor_ingest_problems')
    op.drop_table('sensor_ingest_runs')
