"""the matter's district (district scopes) and an escalation's district and supervision group

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 11:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('matters', schema=None) as batch_op:
        batch_op.add_column(sa.Column('region_code', sa.String(length=6), nullable=True))
        batch_op.create_index('ix_matters_region_code', ['region_code'], unique=False)
    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('region_code', sa.String(length=6), nullable=True))
        batch_op.add_column(sa.Column('supervision_group', sa.String(length=80), nullable=True))
        batch_op.create_index('ix_escalations_supervision_group', ['supervision_group'], unique=False)
    # Matters already held: the district their deadlines were counted under (the hub
    # refreshes it whenever a record joins the matter).
    op.execute("UPDATE matters SET region_code = (SELECT MIN(d.region_code) FROM deadlines d "
               "WHERE d.matter_id = matters.id AND d.region_code IS NOT NULL)")
    op.execute("UPDATE escalations SET region_code = (SELECT MIN(m.region_code) FROM matters m "
               "WHERE m.id = escalations.matter_id)")


def downgrade() -> None:
    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.drop_index('ix_escalations_supervision_group')
        batch_op.drop_column('supervision_group')
        batch_op.drop_column('region_code')
    with op.batch_alter_table('matters', schema=None) as batch_op:
        batch_op.drop_index('ix_matters_region_code')
        batch_op.drop_column('region_code')
