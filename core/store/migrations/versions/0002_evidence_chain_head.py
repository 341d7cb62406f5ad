"""evidence chain head: one row that serialises manifest appends and anchors the chain's tail

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def upgrade() -> None:
    head = op.create_table(
        'evidence_chain_head',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('entry_hash', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_chain_head')),
    )
    bind = op.get_bind()
    last = bind.execute(sa.text(
        "SELECT seq, entry_hash FROM evidence_entries ORDER BY seq DESC LIMIT 1")).first()
    op.bulk_insert(head, [{"id": 1, "seq": last[0] if last else 0, "entry_hash": last[1] if last else GENESIS}])


def downgrade() -> None:
    op.drop_table('evidence_chain_head')
