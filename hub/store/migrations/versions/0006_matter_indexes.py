"""index lookups however big a matter grows: outbox rows waiting in line, a matter's record of a type

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 07:45:00
"""
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_matter')
        batch_op.create_index('ix_outbox_matter', ['matter_id', 'recipient', 'status', 'id'], unique=False)
    with op.batch_alter_table('records', schema=None) as batch_op:
        batch_op.create_index('ix_records_matter_type', ['matter_id', 'type', 'seq'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('records', schema=None) as batch_op:
        batch_op.drop_index('ix_records_matter_type')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_matter')
        batch_op.create_index('ix_outbox_matter', ['matter_id', 'recipient', 'id'], unique=False)
