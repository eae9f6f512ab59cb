"""plan tables: fiscal-year statuses, audits, consultations

The fiscal years the hub follows and the plan each follows; every status given to a
measure for a year (append-only) with its evidence (links and files, with the date the
evidence is from); audit frameworks and their requirements, campaigns, one assessment per
organisation and every result given (append-only); public consultations, their comments
with category, answer and approval, and their append-only events.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 09:19:48.317053
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('plan_consultations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('fiscal_year', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_consultations')),
    sa.UniqueConstraint('key', name=op.f('uq_plan_consultations_key'))
    )
    op.create_table('plan_frameworks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('version', sa.String(length=50), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('loaded_by', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_frameworks')),
    sa.UniqueConstraint('key', 'version', name=op.f('uq_plan_frameworks_key'))
    )
    op.create_table('plan_status_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('fiscal_year', sa.Integer(), nullable=False),
    sa.Column('measure_id', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('change', sa.String(length=20), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_status_events'))
    )
    with op.batch_alter_table('plan_status_events', schema=None) as batch_op:
        batch_op.create_index('ix_plan_status_events_measure', ['fiscal_year', 'measure_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_plan_status_events_recorded_at'), ['recorded_at'], unique=False)

    op.create_table('plan_years',
    sa.Column('fiscal_year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('plan_yaml', sa.Text(), nullable=True),
    sa.Column('started_from', sa.Integer(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_by', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('fiscal_year', name=op.f('pk_plan_years'))
    )
    op.create_table('plan_audit_campaigns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('framework_id', sa.Integer(), nullable=False),
    sa.Column('fiscal_year', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['framework_id'], ['plan_frameworks.id'], name=op.f('fk_plan_audit_campaigns_framework_id_plan_frameworks'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_audit_campaigns')),
    sa.UniqueConstraint('name', name=op.f('uq_plan_audit_campaigns_name'))
    )
    with op.batch_alter_table('plan_audit_campaigns', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_audit_campaigns_fiscal_year'), ['fiscal_year'], unique=False)
        batch_op.create_index(batch_op.f('ix_plan_audit_campaigns_framework_id'), ['framework_id'], unique=False)

    op.create_table('plan_consultation_comments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consultation_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('submitter', sa.String(length=200), nullable=False),
    sa.Column('submitter_kind', sa.String(length=20), nullable=False),
    sa.Column('branch', sa.Integer(), nullable=True),
    sa.Column('page', sa.String(length=100), nullable=False),
    sa.Column('section', sa.Text(), nullable=False),
    sa.Column('refs', sa.JSON(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('category', sa.String(length=30), nullable=True),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('changed', sa.Boolean(), nullable=False),
    sa.Column('drafted_by', sa.String(length=200), nullable=True),
    sa.Column('approved_by', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['consultation_id'], ['plan_consultations.id'], name=op.f('fk_plan_consultation_comments_consultation_id_plan_consultations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_consultation_comments')),
    sa.UniqueConstraint('consultation_id', 'number', name=op.f('uq_plan_consultation_comments_consultation_id'))
    )
    op.create_table('plan_evidence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('media_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=True),
    sa.Column('evidence_date', sa.Date(), nullable=True),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['plan_status_events.id'], name=op.f('fk_plan_evidence_event_id_plan_status_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_evidence'))
    )
    with op.batch_alter_table('plan_evidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_evidence_event_id'), ['event_id'], unique=False)

    op.create_table('plan_requirements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('framework_id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=100), nullable=False),
    sa.Column('parent_ref', sa.String(length=100), nullable=True),
    sa.Column('is_group', sa.Boolean(), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['framework_id'], ['plan_frameworks.id'], name=op.f('fk_plan_requirements_framework_id_plan_frameworks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_requirements')),
    sa.UniqueConstraint('framework_id', 'ref', name=op.f('uq_plan_requirements_framework_id'))
    )
    with op.batch_alter_table('plan_requirements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_requirements_framework_id'), ['framework_id'], unique=False)

    op.create_table('plan_audit_assessments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['plan_audit_campaigns.id'], name=op.f('fk_plan_audit_assessments_campaign_id_plan_audit_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_plan_audit_assessments_organisation_id_organisations'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_audit_assessments')),
    sa.UniqueConstraint('campaign_id', 'organisation_id', name=op.f('uq_plan_audit_assessments_campaign_id'))
    )
    with op.batch_alter_table('plan_audit_assessments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_audit_assessments_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('plan_consultation_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consultation_id', sa.Integer(), nullable=False),
    sa.Column('comment_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['comment_id'], ['plan_consultation_comments.id'], name=op.f('fk_plan_consultation_events_comment_id_plan_consultation_comments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['consultation_id'], ['plan_consultations.id'], name=op.f('fk_plan_consultation_events_consultation_id_plan_consultations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_consultation_events'))
    )
    with op.batch_alter_table('plan_consultation_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_consultation_events_comment_id'), ['comment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_plan_consultation_events_consultation_id'), ['consultation_id'], unique=False)

    op.create_table('plan_audit_results',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('requirement_ref', sa.String(length=100), nullable=False),
    sa.Column('result', sa.String(length=30), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('findings', sa.Text(), nullable=False),
    sa.Column('recommendations', sa.Text(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['assessment_id'], ['plan_audit_assessments.id'], name=op.f('fk_plan_audit_results_assessment_id_plan_audit_assessments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_audit_results'))
    )
    with op.batch_alter_table('plan_audit_results', schema=None) as batch_op:
        batch_op.create_index('ix_plan_audit_results_requirement', ['assessment_id', 'requirement_ref', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('plan_audit_results', schema=None) as batch_op:
        batch_op.drop_index('ix_plan_audit_results_requirement')

    op.drop_table('plan_audit_results')
    with op.batch_alter_table('plan_consultation_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_consultation_events_consultation_id'))
        batch_op.drop_index(batch_op.f('ix_plan_consultation_events_comment_id'))

    op.drop_table('plan_consultation_events')
    with op.batch_alter_table('plan_audit_assessments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_audit_assessments_organisation_id'))

    op.drop_table('plan_audit_assessments')
    with op.batch_alter_table('plan_requirements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_requirements_framework_id'))

    op.drop_table('plan_requirements')
    with op.batch_alter_table('plan_evidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_evidence_event_id'))

    op.drop_table('plan_evidence')
    op.drop_table('plan_consultation_comments')
    with op.batch_alter_table('plan_audit_campaigns', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_audit_campaigns_framework_id'))
        batch_op.drop_index(batch_op.f('ix_plan_audit_campaigns_fiscal_year'))

    op.drop_table('plan_audit_campaigns')
    op.drop_table('plan_years')
    with op.batch_alter_table('plan_status_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_status_events_recorded_at'))
        batch_op.drop_index('ix_plan_status_events_measure')

    op.drop_table('plan_status_events')
    op.drop_table('plan_frameworks')
    op.drop_table('plan_consultations')
