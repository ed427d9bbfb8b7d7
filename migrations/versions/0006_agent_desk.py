"""agents' availability and after-call work

Revision ID: 0004_agent_desk
Revises: 0003
Create Date: 2026-11-30 17:00:00
"""
from alembic import op
import sqlalchemy as sa

import core.db


revision = '0006_agent_desk'
down_revision = '0005_sec_security'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('agent_status',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('availability', sa.String(length=16), nullable=False),
    sa.Column('changed_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('wrap_up_until', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_agent_status_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_agent_status'))
    )


def downgrade() -> None:
    op.drop_table('agent_status')
