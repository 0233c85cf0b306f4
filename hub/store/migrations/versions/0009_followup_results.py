"""the follow-up sample's results (回头看): one call per sampled matter and day

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 11:00:00
"""
import sqlalchemy as sa
from alembic import op

import hub.store.models

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'followup_results',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('matter_id', sa.String(length=40), nullable=False),
        sa.Column('sample_day', sa.Date(), nullable=False),
        sa.Column('called_at', hub.store.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column('reached', sa.Boolean(), nullable=False),
        sa.Column('resolved', sa.Boolean(), nullable=True),
        sa.Column('paid_full', sa.Boolean(), nullable=True),
        sa.Column('lawful', sa.Boolean(), nullable=True),
        sa.Column('satisfied', sa.Boolean(), nullable=True),
        sa.Column('remark', sa.Text(), nullable=True),
        sa.Column('reopens', sa.Boolean(), nullable=False),
        sa.Column('source', sa.String(length=40), nullable=False),
        sa.Column('recorded_by', sa.String(length=80), nullable=False),
        sa.Column('record_id', sa.String(length=40), nullable=True),
        sa.Column('created_at', hub.store.models.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('matter_id', 'sample_day', name='uq_followup_results_matter_day'),
    )
    with op.batch_alter_table('followup_results', schema=None) as batch_op:
        batch_op.create_index('ix_followup_results_matter_id', ['matter_id'], unique=False)
        batch_op.create_index('ix_followup_results_sample_day', ['sample_day'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('followup_results', schema=None) as batch_op:
        batch_op.drop_index('ix_followup_results_sample_day')
        batch_op.drop_index('ix_followup_results_matter_id')
    op.drop_table('followup_results')
