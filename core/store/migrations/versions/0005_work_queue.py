"""work_queue: the current priority of every open work item, in its own narrow table

A full re-prioritisation rescored every open work item in place; on PostgreSQL that rewrote a
million wide rows (65 s measured). Rebuilding this narrow table instead takes a few seconds. The
queue page reads (team, priority, work_item_id) from here and joins work_items for 50 rows.
work_items.priority stays as the score given when the item was routed.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""
from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'work_queue',
        sa.Column('work_item_id', BigId, autoincrement=False, nullable=False),
        sa.Column('team', sa.String(length=40), nullable=False),
        sa.Column('priority', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('work_item_id', name=op.f('pk_work_queue')),
    )
    with op.batch_alter_table('work_queue', schema=None) as batch_op:
        batch_op.create_index('ix_work_queue_page', ['team', 'priority', 'work_item_id'], unique=False)
    op.execute("INSERT INTO work_queue (work_item_id, team, priority) "
               "SELECT id, team, priority FROM work_items WHERE is_open")
    with op.batch_alter_table('work_items', schema=None) as batch_op:
        batch_op.drop_index('ix_work_items_open_queue')


def downgrade() -> None:
    with op.batch_alter_table('work_items', schema=None) as batch_op:
        batch_op.create_index('ix_work_items_open_queue', ['team', 'is_open', 'priority', 'id'], unique=False)
    op.drop_table('work_queue')
