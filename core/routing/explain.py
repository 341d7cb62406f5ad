"""An item explained for a person: its claim, codes in words, deadlines with their basis, priority parts."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.edi.catalogs import Catalog
from core.routing.config import RoutingConfig
from core.routing.payer_rules import Window
from core.routing.priority import days_left, urgency
from core.store.models import Adjustment, Claim, ClaimPayment, LinePayment, Payer, RemarkCode
from core.store.models.work import WorkItem


def codes_in_words(catalog: Catalog, carc: str | None, rarc: str | None) -> list[tuple[str, str]]:
    """[(code, description)] for the CARC and each RARC (rarc holds them comma- or space-separated)."""
    out = [(f"CARC {carc}", catalog.describe("carc", carc) or "not in the code list")] if carc else []
    for code in (rarc or "").replace(",", " ").split():
        out.append((f"RARC {code}", catalog.describe("rarc", code) or "not in the code list"))
    return out


@dataclass(frozen=True)
class PriorityParts:
    amount: Decimal
    days_left: int
    horizon: int
    urgency: float
    recoverability: float
    score: float


def priority_parts(item: WorkItem, today: date, config: RoutingConfig) -> PriorityParts:
    """priority = amount x urgency x recoverability, each part as it stands today."""
    policy = config.table.priority
    days = days_left(item.due_on, today, policy)
    u = urgency(days, policy)
    return PriorityParts(item.amount, days, policy.urgency_horizon_days, u, item.recoverability,
                         float(item.amount) * u * item.recoverability)


def _window(window: Window) -> str:
    size = f"{window.days} days" if window.days is not None else f"{window.months} months"
    return f"{size} from the {'date of service' if window.basis == 'dos' else 'payer determination'}"


def deadlines(item: WorkItem, config: RoutingConfig, payer: Payer | None) -> list[tuple[str, date | None, str]]:
    """(deadline, date, what it counts from) for the filing limit, the appeal window and the due date."""
    rule = None
    key = config.payer_rules.match(payer.code, payer.x12_id, payer.name) if payer else None
    if key:
        rule = config.payer_rules.rule(key, item.plan_type)
    missing = "no payer rule on file"
    return [
        ("timely filing", item.filing_deadline, _window(rule.timely_filing) if rule else missing),
        ("first-level appeal", item.appeal_deadline, _window(rule.appeal) if rule else missing),
        ("due (drives urgency)", item.due_on,
         "the filing limit while a corrected claim can still be filed, else the appeal deadline"),
    ]


def claim_view(session: Session, claim_id: int | None, claim_payment_id: int | None) -> dict | None:
    """The claim as submitted (lines) and as the payer answered (payments, adjustments, remarks)."""
    claim = session.get(Claim, claim_id) if claim_id else None
    if claim is None and claim_payment_id is None:
        return None
    payments_q = select(ClaimPayment)
    if claim is not None:
        payments_q = payments_q.where(ClaimPayment.claim_id == claim.id)
    else:
        payments_q = payments_q.where(ClaimPayment.id == claim_payment_id)
    payments = []
    for cp in session.scalars(payments_q.order_by(ClaimPayment.id)):
        adjustments = session.scalars(select(Adjustment).where(Adjustment.claim_payment_id == cp.id)
                                      .order_by(Adjustment.id)).all()
        remarks = session.scalars(select(RemarkCode).where(RemarkCode.claim_payment_id == cp.id)
                                  .order_by(RemarkCode.id)).all()
        lines = session.scalars(select(LinePayment).where(LinePayment.claim_payment_id == cp.id)
                                .order_by(LinePayment.seq)).all()
        payments.append({
            "id": cp.id, "status_code": cp.status_code, "charge": cp.charge, "paid": cp.paid,
            "patient_responsibility": cp.patient_responsibility, "payer_claim_number": cp.payer_claim_number,
            "reversed": cp.reversed,
            "lines": [{"seq": ln.seq, "procedure": f"{ln.procedure_code}{(':' + ln.modifiers) if ln.modifiers else ''}",
                       "charge": ln.charge, "paid": ln.paid, "service_from": ln.service_from,
                       "adjustments": [(a.group_code, a.reason_code, a.amount) for a in adjustments
                                       if a.line_payment_id == ln.id],
                       "remarks": [r.code for r in remarks if r.line_payment_id == ln.id]} for ln in lines],
            "claim_adjustments": [(a.group_code, a.reason_code, a.amount) for a in adjustments
                                  if a.line_payment_id is None],
            "claim_remarks": [r.code for r in remarks if r.line_payment_id is None],
        })
    out = {"payments": payments}
    if claim is not None:
        out.update(id=claim.id, patient_control_number=claim.patient_control_number, claim_type=claim.claim_type,
                   frequency_code=claim.frequency_code, billed=claim.billed_amount, dos_from=claim.dos_from,
                   dos_to=claim.dos_to, submitted_on=claim.submitted_on, member_id=claim.member_id,
                   patient=" ".join(p for p in (claim.patient_first_name, claim.patient_last_name) if p),
                   rendering_npi=claim.rendering_npi, location=claim.location,
                   lines=[{"number": ln.line_number, "procedure": ln.procedure_code, "modifiers": ln.modifiers,
                           "units": ln.units, "charge": ln.charge, "contracted": ln.contracted_amount,
                           "dos": ln.dos_from} for ln in claim.lines])
    return out
