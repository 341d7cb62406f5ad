"""Store rows for routing tests, inserted directly (no X12 parsing involved)."""
from __future__ import annotations

import hashlib
import itertools
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from core.store.models import (
    Adjustment,
    Claim,
    ClaimLine,
    ClaimPayment,
    ClaimStatusEvent,
    EdiFile,
    LinePayment,
    Payer,
    Plan,
    Rejection,
    RemarkCode,
    Remittance,
)

_seq = itertools.count(1)


def D(value) -> Decimal:
    return Decimal(str(value))


def payer(session: Session, code: str = "AETNA", name: str | None = None, x12_id: str | None = None) -> Payer:
    row = Payer(code=code, name=name or code.title(), x12_id=x12_id)
    session.add(row)
    session.flush()
    return row


def plan(session: Session, payer_row: Payer, plan_type: str, name: str | None = None) -> Plan:
    row = Plan(payer_id=payer_row.id, name=name or plan_type, plan_type=plan_type)
    session.add(row)
    session.flush()
    return row


def edi_file(session: Session, kind: str = "835") -> EdiFile:
    n = next(_seq)
    row = EdiFile(sha256=hashlib.sha256(f"file{n}".encode()).hexdigest(), filename=f"f{n}.x12",
                  provenance="test", size=1, kind=kind)
    session.add(row)
    session.flush()
    return row


def claim(session: Session, payer_row: Payer, *, dos: date | None = date(2026, 10, 1), billed="500.00",
          contracted=None, lines: list[tuple[str, str, str | None]] = (), plan_row: Plan | None = None,
          rendering_npi: str | None = "1234567893") -> Claim:
    """lines: (procedure, charge, contracted) per line, numbered from 1."""
    row = Claim(payer_id=payer_row.id, plan_id=plan_row.id if plan_row else None,
                patient_control_number=f"PCN{next(_seq)}", billed_amount=D(billed),
                contracted_amount=D(contracted) if contracted is not None else None, dos_from=dos, dos_to=dos,
                rendering_npi=rendering_npi)
    session.add(row)
    session.flush()
    for n, (proc, charge, contract) in enumerate(lines, start=1):
        session.add(ClaimLine(claim_id=row.id, line_number=n, procedure_code=proc, charge=D(charge),
                              contracted_amount=D(contract) if contract is not None else None, dos_from=dos))
    session.flush()
    return row


def remittance(session: Session, payer_row: Payer, *, paid_on: date | None = date(2026, 11, 2)) -> Remittance:
    row = Remittance(edi_file_id=edi_file(session).id, payer_id=payer_row.id, trace_number=f"TRN{next(_seq)}",
                     version="005010X221A1", payment_amount=D("0"), payment_date=paid_on)
    session.add(row)
    session.flush()
    return row


def payment(session: Session, remit: Remittance, claim_row: Claim | None, *, status="1", charge="500.00",
            paid="0.00", claim_adjustments=(), claim_remarks=(), lines=(), service_from: date | None = None
            ) -> ClaimPayment:
    """lines: dicts with proc, charge, paid, adjustments [(group, carc, amount)], remarks [codes]."""
    cp = ClaimPayment(remittance_id=remit.id, seq=next(_seq), claim_id=claim_row.id if claim_row else None,
                      patient_control_number=claim_row.patient_control_number if claim_row else f"X{next(_seq)}",
                      status_code=status, charge=D(charge), paid=D(paid), service_from=service_from)
    session.add(cp)
    session.flush()
    for group, carc, amount in claim_adjustments:
        session.add(Adjustment(claim_payment_id=cp.id, group_code=group, reason_code=carc, amount=D(amount)))
    for code in claim_remarks:
        session.add(RemarkCode(claim_payment_id=cp.id, source="MOA", code=code))
    for n, line in enumerate(lines, start=1):
        lp = LinePayment(claim_payment_id=cp.id, seq=n, procedure_code=line.get("proc", "99213"),
                         charge=D(line["charge"]), paid=D(line["paid"]), service_from=line.get("dos"))
        session.add(lp)
        session.flush()
        for group, carc, amount in line.get("adjustments", ()):
            session.add(Adjustment(claim_payment_id=cp.id, line_payment_id=lp.id, group_code=group,
                                   reason_code=carc, amount=D(amount)))
        for code in line.get("remarks", ()):
            session.add(RemarkCode(claim_payment_id=cp.id, line_payment_id=lp.id, source="LQ", code=code))
    session.flush()
    return cp


def rejection(session: Session, payer_row: Payer | None, claim_row: Claim | None, *, status="A7:21",
              amount="500.00", on: date = date(2026, 11, 3), level="claim") -> Rejection:
    row = Rejection(dedupe_key=hashlib.sha256(f"rej{next(_seq)}".encode()).hexdigest(),
                    edi_file_id=edi_file(session, "277CA").id, payer_id=payer_row.id if payer_row else None,
                    claim_id=claim_row.id if claim_row else None, level=level, status=status,
                    amount=D(amount) if amount is not None else None, effective_date=on)
    session.add(row)
    session.flush()
    return row


def status_event(session: Session, claim_row: Claim | None, *, category="P1", as_of=date(2026, 11, 10),
                 billed="500.00") -> ClaimStatusEvent:
    row = ClaimStatusEvent(dedupe_key=hashlib.sha256(f"st{next(_seq)}".encode()).hexdigest(),
                           claim_id=claim_row.id if claim_row else None, category=category, status_code="20",
                           billed=D(billed), as_of=as_of)
    session.add(row)
    session.flush()
    return row


def denied_line(carc: str, amount="500.00", *, group="CO", remarks=(), proc="99213", paid="0.00") -> dict:
    return {"proc": proc, "charge": amount, "paid": paid, "adjustments": [(group, carc, amount)], "remarks": list(remarks)}
