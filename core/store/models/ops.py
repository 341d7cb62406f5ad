"""Automation runs, alerts, portal request stamps, Procrastinate schema migrations, the evidence manifest and the
audit log (the last two append-only)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.store.models.base import Base, BigId, CreatedMixin, IdMixin, utcnow


class AutomationRun(CreatedMixin, Base):
    __tablename__ = "automation_runs"
    __table_args__ = (Index("ix_automation_runs_state", "state", "priority"),)
    # UUID4 string: runs are created on many workers.
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    automation: Mapped[str] = mapped_column(String(60))
    account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("portal_accounts.id"))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    priority: Mapped[int] = mapped_column(default=0)
    # (automation, account, date) for scheduled runs: a second enqueue is refused by the database.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    # queued | running | succeeded | failed | cancelled
    state: Mapped[str] = mapped_column(String(20), default="queued")
    backend: Mapped[str] = mapped_column(String(20), default="local")
    checkpoint: Mapped[str | None] = mapped_column(String(60))
    attempts: Mapped[int] = mapped_column(default=0)
    error_type: Mapped[str | None] = mapped_column(String(80))
    error_message: Mapped[str | None] = mapped_column(String(1000))
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # The lease of a running run (fleet/leases.py): which worker holds it, when that worker last said it
    # was alive, and when the lease lapses. Only a lapsed lease may be recovered by another worker.
    worker_id: Mapped[str | None] = mapped_column(String(80))
    heartbeat_at: Mapped[datetime | None]
    lease_expires_at: Mapped[datetime | None]


class PortalRequest(IdMixin, Base):
    """One request a worker let through to a portal (fleet/rate_limit.py): the last minute of them per portal."""

    __tablename__ = "portal_requests"
    __table_args__ = (Index("ix_portal_requests_portal_at", "portal", "at"),)
    portal: Mapped[str] = mapped_column(String(40))
    # Seconds since the epoch on the worker's clock.
    at: Mapped[float] = mapped_column(Float)


class ProcrastinateMigration(Base):
    """A Procrastinate schema migration applied to this database (fleet/procrastinate_schema.py)."""

    __tablename__ = "procrastinate_migrations"
    # The library's file name, e.g. 03.04.00_50_post_add_retry_failed_job_procedure.sql.
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    applied_at: Mapped[datetime] = mapped_column(default=utcnow)


class EvidenceEntry(Base):
    """Hash-chained manifest: entry_hash = sha256(prev_hash LF sha256(content) LF); see evidence/manifest.py."""

    __tablename__ = "evidence_entries"
    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # artifact | event
    kind: Mapped[str] = mapped_column(String(20))
    blob_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    run_id: Mapped[str | None] = mapped_column(String(36), index=True)
    claim_id: Mapped[int | None] = mapped_column(BigId, index=True)
    work_item_id: Mapped[int | None] = mapped_column(BigId)
    appeal_id: Mapped[int | None] = mapped_column(BigId, index=True)
    # Canonical JSON of everything the hash covers besides prev_hash.
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EvidenceChainHead(Base):
    """The single row (id=1) every manifest append locks; holds the last seq and entry_hash."""

    __tablename__ = "evidence_chain_head"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigId)
    entry_hash: Mapped[str] = mapped_column(String(64))


class AuditEvent(IdMixin, Base):
    """PHI-touching action: who, what, which record, outcome. No free text."""

    __tablename__ = "audit_log"
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(80))
    # e.g. evidence.captured, evidence.exported, era.downloaded, appeal.submitted
    action: Mapped[str] = mapped_column(String(60))
    record_type: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[str] = mapped_column(String(80))
    outcome: Mapped[str] = mapped_column(String(20))


class Alert(IdMixin, Base):
    """Something an operator must see (fleet/alerts.py): a disabled account, a paused capability, a failed run."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_open", "acked_at", "kind", "subject"),)
    # account_disabled | capability_paused | run_failed
    kind: Mapped[str] = mapped_column(String(40))
    # critical | warning
    severity: Mapped[str] = mapped_column(String(10))
    # What it is about, e.g. "account:availity-main", "portal:uhc/capability:appeals", "run:<uuid>".
    subject: Mapped[str] = mapped_column(String(200))
    # Error types, aliases and opaque ids only: never PHI.
    message: Mapped[str] = mapped_column(String(1000))
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)
    acked_at: Mapped[datetime | None]
    acked_by: Mapped[str | None] = mapped_column(String(80))
