"""Submitted claims (837) and their lines and diagnoses: the denominator for denial rates."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.store.models.base import Base, BigId, CreatedMixin, IdMixin


class EdiFile(IdMixin, CreatedMixin, Base):
    """One received X12 file; the sha256 makes re-ingesting the same bytes a no-op."""

    __tablename__ = "edi_files"
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(String(500))
    # Where it came from: "inbox:<path>", "portal:<alias>", "run:<id>".
    provenance: Mapped[str] = mapped_column(String(500))
    size: Mapped[int]
    # "835", "277CA", "837P", "837I", or "mixed".
    kind: Mapped[str] = mapped_column(String(20))


class Claim(IdMixin, CreatedMixin, Base):
    __tablename__ = "claims"
    __table_args__ = (UniqueConstraint("payer_id", "patient_control_number"),)
    payer_id: Mapped[int] = mapped_column(BigId, ForeignKey("payers.id"))
    plan_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("plans.id"))
    edi_file_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("edi_files.id"))
    # CLM01: the provider's claim identifier, echoed back as CLP01 / TRN02.
    patient_control_number: Mapped[str] = mapped_column(String(80))
    claim_type: Mapped[str] = mapped_column(String(10), default="837P")
    frequency_code: Mapped[str] = mapped_column(String(2), default="1")
    billed_amount: Mapped[Decimal]
    contracted_amount: Mapped[Decimal | None]
    billing_npi: Mapped[str | None] = mapped_column(String(10))
    rendering_npi: Mapped[str | None] = mapped_column(String(10), index=True)
    # Place of service (837P) or facility type code (837I).
    place_of_service: Mapped[str | None] = mapped_column(String(4))
    location: Mapped[str | None] = mapped_column(String(120))
    member_id: Mapped[str | None] = mapped_column(String(80))
    patient_last_name: Mapped[str | None] = mapped_column(String(80))
    patient_first_name: Mapped[str | None] = mapped_column(String(80))
    patient_dob: Mapped[date | None]
    dos_from: Mapped[date | None] = mapped_column(index=True)
    dos_to: Mapped[date | None]
    submitted_on: Mapped[date | None]
    lines: Mapped[list["ClaimLine"]] = relationship(back_populates="claim", order_by="ClaimLine.line_number")
    diagnoses: Mapped[list["ClaimDiagnosis"]] = relationship(order_by="ClaimDiagnosis.seq")


class ClaimLine(IdMixin, Base):
    __tablename__ = "claim_lines"
    __table_args__ = (UniqueConstraint("claim_id", "line_number"),)
    claim_id: Mapped[int] = mapped_column(BigId, ForeignKey("claims.id", ondelete="CASCADE"))
    line_number: Mapped[int]
    procedure_qualifier: Mapped[str] = mapped_column(String(4), default="HC")
    procedure_code: Mapped[str] = mapped_column(String(20), index=True)
    # Comma-separated, in billed order.
    modifiers: Mapped[str] = mapped_column(String(20), default="")
    units: Mapped[Decimal] = mapped_column(default=Decimal(1))
    charge: Mapped[Decimal]
    contracted_amount: Mapped[Decimal | None]
    dos_from: Mapped[date | None]
    dos_to: Mapped[date | None]
    # Comma-separated 1-based pointers into the claim's diagnoses.
    diagnosis_pointers: Mapped[str] = mapped_column(String(20), default="")
    rendering_npi: Mapped[str | None] = mapped_column(String(10))
    claim: Mapped[Claim] = relationship(back_populates="lines")


class ClaimDiagnosis(IdMixin, Base):
    __tablename__ = "claim_diagnoses"
    __table_args__ = (UniqueConstraint("claim_id", "seq"),)
    claim_id: Mapped[int] = mapped_column(BigId, ForeignKey("claims.id", ondelete="CASCADE"))
    seq: Mapped[int]
    # ICD-10-CM without the dot.
    code: Mapped[str] = mapped_column(String(10))
