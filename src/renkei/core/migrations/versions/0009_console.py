"""console: sessions, failed sign-ins, users' second factor and language

Console sessions keep an argon2 hash of their secret, their stage (waiting for a second
factor, or active), CSRF token and timeouts; failed sign-ins are counted per address and
source for throttling; users get a TOTP secret, when it was confirmed, the last time step
a code was accepted for, and the console language (en or ja).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 12:08:09.708638
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('console_sign_in_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_console_sign_in_failures'))
    )
    with op.batch_alter_table('console_sign_in_failures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_console_sign_in_failures_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_console_sign_in_failures_email'), ['email'], unique=False)
        batch_op.create_index(batch_op.f('ix_console_sign_in_failures_source'), ['source'], unique=False)

    op.create_table('console_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key_id', sa.String(length=32), nullable=False),
    sa.Column('secret_hash', sa.String(length=200), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=10), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('credential_tag', sa.String(length=64), nullable=False),
    sa.Column('pending_totp_secret', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('user_agent', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_console_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_console_sessions')),
    sa.UniqueConstraint('key_id', name=op.f('uq_console_sessions_key_id'))
    )
    with op.batch_alter_table('console_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_console_sessions_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_secret', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('totp_enabled_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('totp_last_step', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('locale', sa.String(length=5), server_default='en', nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('locale')
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('totp_enabled_at')
        batch_op.drop_column('totp_secret')

    with op.batch_alter_table('console_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_console_sessions_user_id'))

    op.drop_table('console_sessions')
    with op.batch_alter_table('console_sign_in_failures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_console_sign_in_failures_source'))
        batch_op.drop_index(batch_op.f('ix_console_sign_in_failures_email'))
        batch_op.drop_index(batch_op.f('ix_console_sign_in_failures_at'))

    op.drop_table('console_sign_in_failures')
