"""console user accounts and server-side sessions; tokens bound to a sender

Revision ID: 0003_users
Revises: 0002
Create Date: 2026-12-06 07:50:00
"""
import sqlalchemy as sa
from alembic import op

import hub.store.models

revision = '0003_users'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('users',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=300), nullable=False),
    sa.Column('role', sa.String(length=80), nullable=False),
    sa.Column('sender', sa.String(length=80), nullable=True),
    sa.Column('created_at', hub.store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('password_set_at', hub.store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('disabled_at', hub.store.models.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('username')
    )
    op.create_table('console_sessions',
    sa.Column('id_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=True),
    sa.Column('token_id', sa.BigInteger(), nullable=True),
    sa.Column('role', sa.String(length=80), nullable=False),
    sa.Column('created_at', hub.store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', hub.store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', hub.store.models.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id_hash')
    )
    with op.batch_alter_table('console_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_console_sessions_expires_at'), ['expires_at'], unique=False)
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sender', sa.String(length=80), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('sender')
    with op.batch_alter_table('console_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_console_sessions_expires_at'))
    op.drop_table('console_sessions')
    op.drop_table('users')
