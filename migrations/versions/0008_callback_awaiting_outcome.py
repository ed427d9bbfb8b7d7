"""a connected callback waits for the agent's outcome ("connected") instead of completing

Adds `callback_requests.connected_at` and moves the requests a connected call closed on its
own, and that no agent ever gave an outcome for, to "connected": they come back on the
agents' lists as "outcome needed" and their promise is judged when the outcome is recorded.

Revision ID: 0008_callback_awaiting_outcome
Revises: 0007_admin_tuning_decisions
Create Date: 2026-11-30 20:00:00
"""
from alembic import op
import sqlalchemy as sa

import core.db


revision = '0008_callback_awaiting_outcome'
down_revision = '0007_admin_tuning_decisions'
branch_labels = None
depends_on = None

requests = sa.table(
    'callback_requests', sa.column('id', sa.Integer()), sa.column('status', sa.String()),
    sa.column('outcome_note', sa.String()), sa.column('promise_kept', sa.Boolean()),
    sa.column('promised_by', core.db.UTCDateTime(timezone=True)),
    sa.column('completed_at', core.db.UTCDateTime(timezone=True)),
    sa.column('connected_at', core.db.UTCDateTime(timezone=True)))
attempts = sa.table('call_attempts', sa.column('request_id', sa.Integer()),
                    sa.column('callee_status', sa.String()))


def upgrade() -> None:
    with op.batch_alter_table('callback_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('connected_at', core.db.UTCDateTime(timezone=True),
                                      nullable=True))
    # Closed by the call alone: completed, never given an outcome (the console always
    # stores one), and a call of theirs reached the caller.
    reached = sa.exists().where(attempts.c.request_id == requests.c.id,
                                attempts.c.callee_status == 'completed')
    op.execute(requests.update().where(
        requests.c.status == 'completed', requests.c.outcome_note.is_(None), reached)
        .values(status='connected', connected_at=requests.c.completed_at, completed_at=None,
                promise_kept=None))
    op.execute(requests.update().where(requests.c.status == 'completed',
                                       requests.c.connected_at.is_(None), reached)
               .values(connected_at=requests.c.completed_at))


def downgrade() -> None:
    op.execute(requests.update().where(requests.c.status == 'connected')
               .values(status='completed', completed_at=requests.c.connected_at,
                       promise_kept=requests.c.connected_at <= requests.c.promised_by))
    # Not a batch drop: on SQLite that copies the table and drops the old one, and the
    # ON DELETE CASCADE of call_attempts would delete every attempt with it. Both
    # PostgreSQL and SQLite (3.35+) drop a plain column in place.
    op.execute('ALTER TABLE callback_requests DROP COLUMN connected_at')
