"""routing: work-item deadline/recoverability/open columns, transitions, learned recoverability, routed marks

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""
from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('work_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('determined_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('due_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('recoverability', sa.Float(), nullable=False, server_default='0.5'))
        batch_op.add_column(sa.Column('recovered_amount', sa.Numeric(precision=12, scale=2), nullable=True))
        batch_op.add_column(sa.Column('is_open', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_work_items_open_queue', ['team', 'is_open', 'priority', 'id'], unique=False)
        batch_op.create_index('ix_work_items_parent_id', ['parent_id'], unique=False)

    op.create_table(
        'work_item_transitions',
        sa.Column('id', BigId, autoincrement=True, nullable=False),
        sa.Column('work_item_id', BigId, nullable=False),
        sa.Column('from_state', sa.String(length=30), nullable=False),
        sa.Column('to_state', sa.String(length=30), nullable=False),
        sa.Column('actor', sa.String(length=80), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('reason', sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(['work_item_id'], ['work_items.id'],
                                name=op.f('fk_work_item_transitions_work_item_id_work_items')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_work_item_transitions')),
    )
    with op.batch_alter_table('work_item_transitions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_work_item_transitions_work_item_id'), ['work_item_id'], unique=False)

    op.create_table(
        'recoverability_stats',
        sa.Column('id', BigId, autoincrement=True, nullable=False),
        sa.Column('payer_id', BigId, nullable=False),
        sa.Column('carc', sa.String(length=5), nullable=False),
        sa.Column('outcomes', sa.Integer(), nullable=False),
        sa.Column('recovered', sa.Float(), nullable=False),
        sa.Column('probability', sa.Float(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['payer_id'], ['payers.id'], name=op.f('fk_recoverability_stats_payer_id_payers')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_recoverability_stats')),
        sa.UniqueConstraint('payer_id', 'carc', name=op.f('uq_recoverability_stats_payer_id_carc')),
    )

    op.create_table(
        'routing_marks',
        sa.Column('source', sa.String(length=20), nullable=False),
        sa.Column('source_id', BigId, nullable=False),
        sa.Column('routed_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('source', 'source_id', name=op.f('pk_routing_marks')),
    )


def downgrade() -> None:
    op.drop_table('routing_marks')
    op.drop_table('recoverability_stats')
    with op.batch_alter_table('work_item_transitions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_work_item_transitions_work_item_id'))
    op.drop_table('work_item_transitions')
    with op.batch_alter_table('work_items', schema=None) as batch_op:
        batch_op.drop_index('ix_work_items_parent_id')
        batch_op.drop_index('ix_work_items_open_queue')
        for column in ('closed_at', 'is_open', 'recovered_amount', 'recoverability', 'due_on', 'determined_on'):
            batch_op.drop_column(column)
