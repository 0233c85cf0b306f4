"""audit log: sequence numbers in the chain

Existing entries keep their hashes (hash version 1) and still verify by the old rule; they
get their sequence numbers here, in id order. New entries (hash version 2) include the
sequence number in their hash and link to the last old one.

Revision ID: 0004
Revises: 0003_users
Create Date: 2026-12-06 07:50:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003_users'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seq', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('hash_version', sa.Integer(), nullable=False, server_default='1'))
    audit = sa.table('audit_log', sa.column('id', sa.BigInteger()), sa.column('seq', sa.BigInteger()))
    numbered = sa.select(audit.c.id, sa.func.row_number().over(order_by=audit.c.id).label('n')).subquery()
    op.execute(audit.update().where(audit.c.id == numbered.c.id).values(seq=numbered.c.n))
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.alter_column('seq', existing_type=sa.BigInteger(), nullable=False)
        batch_op.alter_column('hash_version', existing_type=sa.Integer(), server_default=None)
        batch_op.create_unique_constraint('uq_audit_log_seq', ['seq'])
        batch_op.create_index('ix_audit_log_action_seq', ['action', 'seq'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_action_seq')
        batch_op.drop_constraint('uq_audit_log_seq', type_='unique')
        batch_op.drop_column('hash_version')
        batch_op.drop_column('seq')
