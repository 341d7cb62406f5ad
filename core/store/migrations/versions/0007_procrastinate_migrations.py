"""procrastinate_migrations: which of Procrastinate's schema migrations this database has

Procrastinate ships one SQL file per schema change and records none of them; the worker applied
its schema once and a library upgrade left the database behind. See fleet/procrastinate_schema.py.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""
from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'procrastinate_migrations',
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('applied_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_procrastinate_migrations')),
    )


def downgrade() -> None:
    op.drop_table('procrastinate_migrations')
