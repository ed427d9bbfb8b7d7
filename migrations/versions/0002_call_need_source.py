"""calls remember whether the need was said or keyed

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 16:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('ivr_calls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('need_source', sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('ivr_calls', schema=None) as batch_op:
        batch_op.drop_column('need_source')
