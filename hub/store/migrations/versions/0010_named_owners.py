"""named owners: a matter's 包案 leader, a project's 五员 group

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 11:10:00
"""
import sqlalchemy as sa
from alembic import op

import hub.store.models

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('matter_leaders',
    sa.Column('matter_id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('post', sa.String(length=100), nullable=False),
    sa.Column('unit', sa.String(length=200), nullable=False),
    sa.Column('set_by', sa.String(length=120), nullable=False),
    sa.Column('set_at', hub.store.models.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('matter_id')
    )
    with op.batch_alter_table('matter_leaders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_matter_leaders_name'), ['name'], unique=False)
    op.create_table('project_groups',
    sa.Column('project_code', sa.String(length=64), nullable=False),
    sa.Column('members', sa.JSON(), nullable=False),
    sa.Column('set_by', sa.String(length=120), nullable=False),
    sa.Column('set_at', hub.store.models.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('project_code')
    )


def downgrade() -> None:
    op.drop_table('project_groups')
    with op.batch_alter_table('matter_leaders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_matter_leaders_name'))
    op.drop_table('matter_leaders')
