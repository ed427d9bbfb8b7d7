"""call attempts remember when the agent accepted the screened call

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 14:00:00
"""
from alembic import op
import sqlalchemy as sa

import core.db


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('call_attempts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('agent_accepted_at', core.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('call_attempts', schema=None) as batch_op:
        batch_op.drop_column('agent_accepted_at')
