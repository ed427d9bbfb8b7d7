"""the tuning loop remembers which callers' words an admin added or ignored

Revision ID: 0004_admin_tuning_decisions
Revises: 0003
Create Date: 2026-11-30 17:00:00
"""
from alembic import op
import sqlalchemy as sa

import core.db


revision = '0007_admin_tuning_decisions'
down_revision = '0006_agent_desk'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ivr_tuning_decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('intent', sa.String(length=64), nullable=True),
    sa.Column('decided_by', sa.String(length=80), nullable=False),
    sa.Column('decided_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['ivr_call_events.id'], name=op.f('fk_ivr_tuning_decisions_event_id_ivr_call_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ivr_tuning_decisions')),
    sa.UniqueConstraint('event_id', name=op.f('uq_ivr_tuning_decisions_event_id'))
    )


def downgrade() -> None:
    op.drop_table('ivr_tuning_decisions')
