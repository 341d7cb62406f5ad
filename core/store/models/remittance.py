"""What payers send back: 835 remittances down to adjustments, 277CA rejections, status pulls."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.store.models.base import Base, BigId, CreatedMixin, IdMixin


class Remittance(IdMixin, CreatedMixin, Base):
    """One 835 transaction (ST..SE); payer + TRN02 is its idempotency key."""

    __tablename__ = "remittances"
    __table_args__ = (UniqueConstraint("payer_id", "trace_number"),)
    edi_file_id: Mapped[int] = mapped_column(BigId, ForeignKey("edi_files.id"))
    payer_id: Mapped[int] = mapped_column(BigId, ForeignKey("payers.id"))
    trace_number: Mapped[str] = mapped_column(String(80))
    version: Mapped[str] = mapped_column(String(20))
    payment_method: Mapped[str | None] = mapped_column(String(10))
    payment_amount: Mapped[Decimal]
    payment_date: Mapped[date | None]
    payee_name: Mapped[str | None]
    payee_npi: Mapped[str | None] = mapped_column(String(20))
    # Balancing and code-catalog findings, e.g. ["transaction_unbalanced"].
    flags: Mapped[list[Any]] = mapped_column(default=list)
    claims: Mapped[list["ClaimPayment"]] = relationship(back_populates="remittance", order_by="ClaimPayment.seq")


class ClaimPayment(IdMixin, Base):
    __tablename__ = "claim_payments"
    __table_args__ = (UniqueConstraint("remittance_id", "seq"),)
    remittance_id: Mapped[int] = mapped_column(BigId, ForeignKey("remittances.id", ondelete="CASCADE"))
    # Order within the transaction; with the remittance key it makes a claim row idempotent.
    seq: Mapped[int]
    claim_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("claims.id"), index=True)
    patient_control_number: Mapped[str] = mapped_column(String(80), index=True)
    # CLP02: 1/2/3 processed, 4 denied, 19-21 forwarded, 22 reversal, 23 not our claim.
    status_code: Mapped[str] = mapped_column(String(4))
    charge: Mapped[Decimal]
    paid: Mapped[Decimal]
    patient_responsibility: Mapped[Decimal | None]
    filing_indicator: Mapped[str | None] = mapped_column(String(4))
    payer_claim_number: Mapped[str | None] = mapped_column(String(80), index=True)
    service_from: Mapped[date | None]
    service_to: Mapped[date | None]
    rendering_npi: Mapped[str | None] = mapped_column(String(20))
    # For a CLP02=22 reversal: the claim payment it reverses.
    reverses_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("claim_payments.id"))
    reversed: Mapped[bool] = mapped_column(default=False)
    flags: Mapped[list[Any]] = mapped_column(default=list)
    remittance: Mapped[Remittance] = relationship(back_populates="claims")
    lines: Mapped[list["LinePayment"]] = relationship(order_by="LinePayment.seq")
    adjustments: Mapped[list["Adjustment"]] = relationship(viewonly=True)


class LinePayment(IdMixin, Base):
    __tablename__ = "line_payments"
    __table_args__ = (UniqueConstraint("claim_payment_id", "seq"),)
    claim_payment_id: Mapped[int] = mapped_column(BigId, ForeignKey("claim_payments.id", ondelete="CASCADE"))
    seq: Mapped[int]
    procedure_qualifier: Mapped[str] = mapped_column(String(4), default="HC")
    procedure_code: Mapped[str] = mapped_column(String(20))
    modifiers: Mapped[str] = mapped_column(String(20), default="")
    charge: Mapped[Decimal]
    paid: Mapped[Decimal]
    units: Mapped[Decimal | None]
    service_from: Mapped[date | None]
    service_to: Mapped[date | None]
    line_control_number: Mapped[str | None] = mapped_column(String(80))
    flags: Mapped[list[Any]] = mapped_column(default=list)


class Adjustment(IdMixin, Base):
    """One CAS triplet; line_payment_id is null for claim-level adjustments."""

    __tablename__ = "adjustments"
    claim_payment_id: Mapped[int] = mapped_column(BigId, ForeignKey("claim_payments.id", ondelete="CASCADE"), index=True)
    line_payment_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("line_payments.id", ondelete="CASCADE"))
    group_code: Mapped[str] = mapped_column(String(2))
    reason_code: Mapped[str] = mapped_column(String(5), index=True)
    amount: Mapped[Decimal]
    quantity: Mapped[Decimal | None]


class RemarkCode(IdMixin, Base):
    __tablename__ = "remark_codes"
    claim_payment_id: Mapped[int] = mapped_column(BigId, ForeignKey("claim_payments.id", ondelete="CASCADE"), index=True)
    line_payment_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("line_payments.id", ondelete="CASCADE"))
    # MOA, MIA or LQ (HE).
    source: Mapped[str] = mapped_column(String(4))
    code: Mapped[str] = mapped_column(String(10))


class ProviderAdjustment(IdMixin, Base):
    __tablename__ = "provider_adjustments"
    remittance_id: Mapped[int] = mapped_column(BigId, ForeignKey("remittances.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(4))
    reference: Mapped[str | None] = mapped_column(String(80))
    amount: Mapped[Decimal]


class Rejection(IdMixin, CreatedMixin, Base):
    """A 277CA (or 999) rejection: the claim was never adjudicated."""

    __tablename__ = "rejections"
    # Hash of (payer, ack trace, claim, level, status); makes re-ingestion a no-op.
    dedupe_key: Mapped[str] = mapped_column(String(64), unique=True)
    edi_file_id: Mapped[int] = mapped_column(BigId, ForeignKey("edi_files.id"))
    payer_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("payers.id"))
    claim_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("claims.id"))
    # "receiver", "provider", "claim" or "line".
    level: Mapped[str] = mapped_column(String(10))
    patient_control_number: Mapped[str | None] = mapped_column(String(80), index=True)
    payer_claim_number: Mapped[str | None] = mapped_column(String(80))
    # "A3:21" style category:status[:entity].
    status: Mapped[str] = mapped_column(String(40))
    amount: Mapped[Decimal | None]
    effective_date: Mapped[date | None]


class ClaimStatusEvent(IdMixin, CreatedMixin, Base):
    """A claim status read from a portal (or a 277 response)."""

    __tablename__ = "claim_status_events"
    dedupe_key: Mapped[str] = mapped_column(String(64), unique=True)
    claim_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("claims.id"), index=True)
    account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("portal_accounts.id"))
    run_id: Mapped[str | None] = mapped_column(String(36))
    patient_control_number: Mapped[str | None] = mapped_column(String(80))
    payer_claim_number: Mapped[str | None] = mapped_column(String(80))
    category: Mapped[str] = mapped_column(String(4))
    status_code: Mapped[str | None] = mapped_column(String(10))
    status_text: Mapped[str | None]
    billed: Mapped[Decimal | None]
    paid: Mapped[Decimal | None]
    as_of: Mapped[date]
