"""calls remember the seconds from answer to a person or a booked callback (AGCOM 255/24/CONS)

Revision ID: 0004_journey_seconds_to_human
Revises: 0003
Create Date: 2026-11-30 17:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004_journey_seconds_to_human'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('ivr_calls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seconds_to_human', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('ivr_calls', schema=None) as batch_op:
        batch_op.drop_column('seconds_to_human')
