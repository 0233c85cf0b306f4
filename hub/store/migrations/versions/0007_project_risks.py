"""project risks: the early-warning rules' state per rule, project and month

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 11:20:00
"""
import sqlalchemy as sa
from alembic import op

import hub.store.models

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('project_risks',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('matter_id', sa.String(length=40), nullable=False),
    sa.Column('project_code', sa.String(length=64), nullable=False),
    sa.Column('rule', sa.String(length=40), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('raise_at', hub.store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('raised_at', hub.store.models.UtcDateTime(timezone=True), nullable=True),
    sa.Column('cleared_at', hub.store.models.UtcDateTime(timezone=True), nullable=True),
    sa.Column('raised_by', sa.String(length=40), nullable=True),
    sa.Column('cleared_by', sa.String(length=40), nullable=True),
    sa.Column('risk_no', sa.String(length=40), nullable=True),
    sa.Column('amount', sa.String(length=24), nullable=True),
    sa.Column('worker_count', sa.Integer(), nullable=True),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('region_code', sa.String(length=6), nullable=True),
    sa.Column('updated_at', hub.store.models.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    with op.batch_alter_table('project_risks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_project_risks_matter_id'), ['matter_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_project_risks_project_code'), ['project_code'], unique=False)
        batch_op.create_index('ix_project_risks_due', ['status', 'raise_at'], unique=False)
        batch_op.create_index('ix_project_risks_region', ['region_code', 'rule'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('project_risks', schema=None) as batch_op:
        batch_op.drop_index('ix_project_risks_region')
        batch_op.drop_index('ix_project_risks_due')
        batch_op.drop_index(batch_op.f('ix_project_risks_project_code'))
        batch_op.drop_index(batch_op.f('ix_project_risks_matter_id'))
    op.drop_table('project_risks')
