"""work_items: drop ix_work_items_queue (team, state, priority), superseded by ix_work_items_open_queue

Queue pages read (team, is_open, priority, id); nothing reads the state-keyed index, and every
full re-prioritisation had to rewrite it for each open item.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('work_items', schema=None) as batch_op:
        batch_op.drop_index('ix_work_items_queue')


def downgrade() -> None:
    with op.batch_alter_table('work_items', schema=None) as batch_op:
        batch_op.create_index('ix_work_items_queue', ['team', 'state', 'priority'], unique=False)
