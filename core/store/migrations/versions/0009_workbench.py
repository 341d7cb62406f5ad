"""The web workbench: users and login_attempts (who may sign in, the tries that throttle guessing), and
the work_items indexes its queue pages walk

Sorting a team's queue by due date or by amount walks (team, is_open, key, id) instead of sorting the
whole team (seconds at a million items). A selective filter (a rare payer, "my items", a rare state)
reads its matches through ix_work_items_team_payer, ix_work_items_owner or ix_work_items_team_state.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28
"""
from alembic import op
import sqlalchemy as sa

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'users',
        sa.Column('id', BigId, autoincrement=True, nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('password_hash', sa.String(length=200), nullable=False),
        sa.Column('role', sa.String(length=20), nullable=False),
        sa.Column('teams', sa.JSON(), nullable=False),
        sa.Column('enabled', sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
        sa.UniqueConstraint('name', name=op.f('uq_users_name')),
    )
    op.create_table(
        'login_attempts',
        sa.Column('id', BigId, autoincrement=True, nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('client', sa.String(length=64), nullable=False),
        sa.Column('ok', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_login_attempts')),
    )
    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_login_attempts_name_at', ['name', 'at'], unique=False)
        batch_op.create_index('ix_login_attempts_client_at', ['client', 'at'], unique=False)
    with op.batch_alter_table('work_items', schema=None) as batch_op:
        batch_op.create_index('ix_work_items_open_due', ['team', 'is_open', 'due_on', 'id'], unique=False)
        batch_op.create_index('ix_work_items_open_amount', ['team', 'is_open', 'amount', 'id'], unique=False)
        batch_op.create_index('ix_work_items_owner', ['owner'], unique=False)
        batch_op.create_index('ix_work_items_team_payer', ['team', 'payer_id'], unique=False)
        batch_op.create_index('ix_work_items_team_state', ['team', 'state'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('work_items', schema=None) as batch_op:
        batch_op.drop_index('ix_work_items_team_state')
        batch_op.drop_index('ix_work_items_team_payer')
        batch_op.drop_index('ix_work_items_owner')
        batch_op.drop_index('ix_work_items_open_amount')
        batch_op.drop_index('ix_work_items_open_due')
    op.drop_table('login_attempts')
    op.drop_table('users')
