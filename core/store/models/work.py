"""Denials and rejections as work items, their appeals, submission intents and payer touches."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column

from core.store.models.base import Base, BigId, CreatedMixin, IdMixin, utcnow


class WorkItem(IdMixin, CreatedMixin, Base):
    __tablename__ = "work_items"
    __table_args__ = (
        Index("ix_work_items_payer_carc", "payer_id", "carc"),
        # Queue pages sorted by due date or amount walk these (core/routing/worklist.py).
        Index("ix_work_items_open_due", "team", "is_open", "due_on", "id"),
        Index("ix_work_items_open_amount", "team", "is_open", "amount", "id"),
        # A selective queue filter reads its matches through these (or owner's) instead.
        Index("ix_work_items_team_payer", "team", "payer_id"),
        Index("ix_work_items_team_state", "team", "state"),
    )
    # Source-derived key (e.g. "835:<claim_payment_id>:<line seq>:<carc>"): one item per finding.
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    # denial | rejection | underpayment | root_cause
    kind: Mapped[str] = mapped_column(String(20))
    # Where it came from: "835", "277CA", "portal".
    intake_source: Mapped[str] = mapped_column(String(20))
    claim_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("claims.id"), index=True)
    claim_payment_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("claim_payments.id"))
    line_payment_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("line_payments.id"))
    rejection_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("rejections.id"))
    payer_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("payers.id"))
    plan_type: Mapped[str | None] = mapped_column(String(40))
    # Routing category, e.g. "eligibility", "authorization", "triage".
    category: Mapped[str] = mapped_column(String(40))
    team: Mapped[str] = mapped_column(String(40))
    owner: Mapped[str | None] = mapped_column(String(80), index=True)
    group_code: Mapped[str | None] = mapped_column(String(2))
    carc: Mapped[str | None] = mapped_column(String(5))
    rarc: Mapped[str | None] = mapped_column(String(40))
    procedure_code: Mapped[str | None] = mapped_column(String(20))
    amount: Mapped[Decimal]
    dos: Mapped[date | None]
    filing_deadline: Mapped[date | None]
    appeal_deadline: Mapped[date | None]
    sla_due_at: Mapped[datetime | None]
    follow_up_on: Mapped[date | None] = mapped_column(index=True)
    # Score when routed; the current score of an open item is WorkQueueEntry.priority.
    priority: Mapped[float] = mapped_column(Float, default=0.0)
    # work_today | root_cause | correct_resubmit | write_off
    action: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(30), default="new")
    parent_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("work_items.id"), index=True)
    # Why the item went to triage or write-off; codes and words, never PHI.
    reason: Mapped[str | None] = mapped_column(String(500))
    root_cause: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Date of the payer's determination (EOB / remittance / 277CA) the appeal window counts from.
    determined_on: Mapped[date | None]
    # The deadline that drives urgency: appeal deadline, or filing deadline for resubmissions.
    due_on: Mapped[date | None]
    # Probability the dollars come back (category prior, learned per payer x CARC).
    recoverability: Mapped[float] = mapped_column(Float, default=0.5, server_default="0.5")
    recovered_amount: Mapped[Decimal | None]
    # False once the item reaches a closed state; keeps queue pages on one index range.
    is_open: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    closed_at: Mapped[datetime | None]


class WorkItemTransition(IdMixin, Base):
    """One audited move of a work item through its state machine."""

    __tablename__ = "work_item_transitions"
    work_item_id: Mapped[int] = mapped_column(BigId, ForeignKey("work_items.id"), index=True)
    from_state: Mapped[str] = mapped_column(String(30))
    to_state: Mapped[str] = mapped_column(String(30))
    actor: Mapped[str] = mapped_column(String(80))
    at: Mapped[datetime]
    # Codes and words only (e.g. a write-off reason), never PHI.
    reason: Mapped[str | None] = mapped_column(String(500))


class RecoverabilityStat(IdMixin, Base):
    """Learned recovery rate per payer x CARC, rebuilt by each full re-prioritisation."""

    __tablename__ = "recoverability_stats"
    __table_args__ = (UniqueConstraint("payer_id", "carc"),)
    payer_id: Mapped[int] = mapped_column(BigId, ForeignKey("payers.id"))
    carc: Mapped[str] = mapped_column(String(5))
    # Closed items seen and the recovered fraction summed over them.
    outcomes: Mapped[int] = mapped_column(Integer)
    recovered: Mapped[float] = mapped_column(Float)
    # Beta-smoothed toward the category prior.
    probability: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime]


class WorkQueueEntry(Base):
    """An open work item's current priority; rebuilt whole by each full re-prioritisation."""

    __tablename__ = "work_queue"
    __table_args__ = (Index("ix_work_queue_page", "team", "priority", "work_item_id"),)
    # No foreign key: the table is truncated and refilled in bulk.
    work_item_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    team: Mapped[str] = mapped_column(String(40))
    priority: Mapped[float] = mapped_column(Float)


class RoutingMark(Base):
    """A source row (rejection, claim payment, status event) the router has already read."""

    __tablename__ = "routing_marks"
    source: Mapped[str] = mapped_column(String(20), primary_key=True)
    source_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    routed_at: Mapped[datetime]


class Appeal(IdMixin, CreatedMixin, Base):
    __tablename__ = "appeals"
    __table_args__ = (UniqueConstraint("work_item_id", "level"),)
    work_item_id: Mapped[int] = mapped_column(BigId, ForeignKey("work_items.id"))
    # 1 = reconsideration / first level, 2 = second level, 3 = external (IRO / ERISA).
    level: Mapped[int] = mapped_column(default=1)
    # portal | mail | fax
    channel: Mapped[str] = mapped_column(String(20))
    form: Mapped[str | None] = mapped_column(String(120))
    reason_category: Mapped[str | None] = mapped_column(String(80))
    state: Mapped[str] = mapped_column(String(30), default="draft")
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class SubmissionIntent(IdMixin, CreatedMixin, Base):
    """Exactly-once journal for a portal submission (DESIGN §5)."""

    __tablename__ = "submission_intents"
    # e.g. "appeal:<id>:level:<n>"; a second intent for the same act cannot be created.
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    appeal_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("appeals.id"))
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("portal_accounts.id"))
    # PLANNED | SUBMITTING | SUBMITTED | FAILED_BEFORE_SUBMIT | IN_DOUBT | SAFE_TO_RETRY | HUMAN_REVIEW
    state: Mapped[str] = mapped_column(String(30), default="PLANNED", index=True)
    # What the reconciler looks for in the portal's own list (claim number, type, reason).
    fingerprint: Mapped[dict[str, Any]] = mapped_column(default=dict)
    confirmation_number: Mapped[str | None] = mapped_column(String(80))
    run_id: Mapped[str | None] = mapped_column(String(36))
    submitted_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Submit clicks so far (each one journalled SUBMITTING before it) and when the latest was committed:
    # the reconciler lets an unanswered click settle before it may call the act not received.
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    submitting_at: Mapped[datetime | None]


class PayerTouch(IdMixin, CreatedMixin, Base):
    __tablename__ = "payer_touches"
    work_item_id: Mapped[int] = mapped_column(BigId, ForeignKey("work_items.id"), index=True)
    appeal_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("appeals.id"))
    submitted_on: Mapped[date | None]
    confirmation_number: Mapped[str | None] = mapped_column(String(80))
    channel: Mapped[str | None] = mapped_column(String(20))
    follow_up_on: Mapped[date | None]
    next_action: Mapped[str | None] = mapped_column(String(200))
    owner: Mapped[str | None] = mapped_column(String(80))
    # paid | partially_paid | upheld | more_info | written_off
    outcome: Mapped[str | None] = mapped_column(String(30))
    paid_amount: Mapped[Decimal | None]
    billed_amount: Mapped[Decimal | None]
    write_off_reason: Mapped[str | None] = mapped_column(String(200))
    root_cause: Mapped[str | None] = mapped_column(String(200))
