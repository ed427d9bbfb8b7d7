"""users get a session epoch (logout ends every session); API tokens can expire

Revision ID: 0004_sec_security
Revises: 0003
Create Date: 2026-11-30 16:40:00
"""
from alembic import op
import sqlalchemy as sa

import core.db


revision = '0005_sec_security'
down_revision = '0004_journey_seconds_to_human'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_epoch', sa.Integer(), nullable=False,
                                      server_default='0'))
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', core.db.UTCDateTime(timezone=True),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_epoch')
