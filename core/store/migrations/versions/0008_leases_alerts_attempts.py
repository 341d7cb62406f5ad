"""run leases, account disabling and the TOTP step in the store, submit attempts, alerts

Runs were recovered by "every running row at start-up", which took over other processes' live runs;
a run now carries a lease (worker, heartbeat, expiry) and only a lapsed lease is recovered. The TOTP
step guard and account disabling move into the database so they hold across processes and machines.
A submission intent counts its clicks and stamps the latest, so the reconciler lets a click settle
before calling it not received. Alerts are what an operator must see (disabled account, paused capability).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""
from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('automation_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('worker_id', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('portal_accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('disabled_reason', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('totp_last_step', sa.BigInteger(), nullable=True))
    with op.batch_alter_table('submission_intents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('submitting_at', sa.DateTime(timezone=True), nullable=True))
    # Accounts removed before this migration were only marked disabled.
    op.execute("UPDATE portal_accounts SET disabled_reason = 'removed' WHERE enabled = false")
    op.create_table(
        'alerts',
        sa.Column('id', BigId, autoincrement=True, nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('severity', sa.String(length=10), nullable=False),
        sa.Column('subject', sa.String(length=200), nullable=False),
        sa.Column('message', sa.String(length=1000), nullable=False),
        sa.Column('raised_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('acked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('acked_by', sa.String(length=80), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_alerts')),
    )
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_index('ix_alerts_open', ['acked_at', 'kind', 'subject'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index('ix_alerts_open')
    op.drop_table('alerts')
    with op.batch_alter_table('submission_intents', schema=None) as batch_op:
        batch_op.drop_column('submitting_at')
        batch_op.drop_column('attempts')
    with op.batch_alter_table('portal_accounts', schema=None) as batch_op:
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('disabled_at')
        batch_op.drop_column('disabled_reason')
    with op.batch_alter_table('automation_runs', schema=None) as batch_op:
        batch_op.drop_column('lease_expires_at')
        batch_op.drop_column('heartbeat_at')
        batch_op.drop_column('worker_id')
