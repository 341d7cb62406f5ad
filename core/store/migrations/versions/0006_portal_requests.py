"""portal_requests: the requests each portal saw in the last minute, shared by every worker

Per-portal rate limits were kept per worker process, so N workers let N times the limit through.
Workers now record each request they let through here and count the last 60 seconds before the next.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""
from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'portal_requests',
        sa.Column('id', BigId, autoincrement=True, nullable=False),
        sa.Column('portal', sa.String(length=40), nullable=False),
        sa.Column('at', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_requests')),
    )
    with op.batch_alter_table('portal_requests', schema=None) as batch_op:
        batch_op.create_index('ix_portal_requests_portal_at', ['portal', 'at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('portal_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_portal_requests_portal_at')
    op.drop_table('portal_requests')
