"""Write one 835 Remittance record into the store (inside the caller's transaction)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from core.edi.records import ClaimPayment as ClaimRecord, Remittance as RemittanceRecord, ServiceLine
from core.store.models import (
    Adjustment, Claim, ClaimPayment, LinePayment, ProviderAdjustment, RemarkCode, Remittance,
)

ZERO = Decimal(0)


@dataclass
class Outcome:
    """What storing one transaction did."""

    duplicate: bool = False
    claims: int = 0
    denied_lines: int = 0
    rejections: int = 0
    reversals_linked: int = 0


def fit(value: str | None, size: int) -> str | None:
    """Clip to the column size: X12 allows longer values than anyone sends, fuzzers do send them."""
    return value[:size] if value else value


def denied_lines(claim: ClaimRecord) -> int:
    """Lines paid nothing on a positive charge; a denied claim without lines counts as one."""
    if not claim.lines:
        return 1 if claim.status == "4" else 0
    return sum(1 for line in claim.lines if line.paid == ZERO and line.charge > ZERO)


def _span(claim: ClaimRecord) -> tuple[date | None, date | None]:
    if claim.service_from or claim.service_to:
        return claim.service_from or claim.service_to, claim.service_to or claim.service_from
    days = [d for line in claim.lines for d in (line.service_from, line.service_to) if d]
    return (min(days), max(days)) if days else (None, None)


def store_remittance(session: Session, r: RemittanceRecord, *, edi_file_id: int, payer_id: int,
                     trace_number: str) -> Outcome:
    """Insert the remittance and everything under it, or report it as a duplicate of a stored one."""
    existing = session.scalar(select(Remittance.id).where(Remittance.payer_id == payer_id,
                                                          Remittance.trace_number == trace_number))
    if existing is not None:
        return Outcome(duplicate=True)
    payee_npi = r.payee.identifier if r.payee.id_qualifier == "XX" else None
    remit_id = session.scalar(insert(Remittance).returning(Remittance.id), [dict(
        edi_file_id=edi_file_id, payer_id=payer_id, trace_number=fit(trace_number, 80), version=fit(r.version, 20) or "",
        payment_method=fit(r.payment.method, 10), payment_amount=r.payment.amount, payment_date=r.payment.date,
        payee_name=fit(r.payee.name, 255), payee_npi=fit(payee_npi, 20), flags=list(r.flags))])
    outcome = Outcome(claims=len(r.claims))
    claim_ids = _claim_ids(session, payer_id, {c.patient_control_number for c in r.claims})
    payment_rows = []
    for seq, c in enumerate(r.claims, start=1):
        start, end = _span(c)
        rendering = c.rendering_provider.identifier if c.rendering_provider else None
        payment_rows.append(dict(
            remittance_id=remit_id, seq=seq, claim_id=claim_ids.get(c.patient_control_number),
            patient_control_number=fit(c.patient_control_number, 80), status_code=fit(c.status, 4) or "",
            charge=c.charge, paid=c.paid, patient_responsibility=c.patient_responsibility,
            filing_indicator=fit(c.filing_indicator, 4) or None, payer_claim_number=fit(c.payer_claim_number, 80) or None,
            service_from=start, service_to=end, rendering_npi=fit(rendering, 20), reverses_id=None, reversed=False,
            flags=list(c.flags)))
        outcome.denied_lines += denied_lines(c)
    payment_ids = _insert_returning(session, ClaimPayment, payment_rows)
    line_rows, line_owner = [], []
    for payment_id, c in zip(payment_ids, r.claims):
        for seq, line in enumerate(c.lines, start=1):
            line_rows.append(_line_row(payment_id, seq, line))
            line_owner.append((payment_id, line))
    line_ids = _insert_returning(session, LinePayment, line_rows)
    adjustments, remarks = [], []
    for payment_id, c in zip(payment_ids, r.claims):
        adjustments += [_adjustment(payment_id, None, a) for a in c.adjustments]
        remarks += [dict(claim_payment_id=payment_id, line_payment_id=None, source=fit(m.source, 4), code=fit(m.code, 10))
                    for m in c.remarks]
    for line_id, (payment_id, line) in zip(line_ids, line_owner):
        adjustments += [_adjustment(payment_id, line_id, a) for a in line.adjustments]
        remarks += [dict(claim_payment_id=payment_id, line_payment_id=line_id, source=fit(m.source, 4), code=fit(m.code, 10))
                    for m in line.remarks]
    if adjustments:
        session.execute(insert(Adjustment), adjustments)
    if remarks:
        session.execute(insert(RemarkCode), remarks)
    if r.provider_adjustments:
        session.execute(insert(ProviderAdjustment), [dict(
            remittance_id=remit_id, reason=fit(a.reason, 4) or "", reference=fit(a.reference, 80) or None, amount=a.amount)
            for a in r.provider_adjustments])
    for payment_id, c in zip(payment_ids, r.claims):
        if c.is_reversal and _link_reversal(session, payment_id, c, payer_id, remit_id):
            outcome.reversals_linked += 1
    outcome.reversals_linked += _link_earlier_reversals(
        session, payer_id, remit_id, [(i, c) for i, c in zip(payment_ids, r.claims) if not c.is_reversal])
    return outcome


def _insert_returning(session: Session, model, rows: list[dict]) -> list[int]:
    if not rows:
        return []
    stmt = insert(model).returning(model.id, sort_by_parameter_order=True)
    return list(session.scalars(stmt, rows))


def _line_row(payment_id: int, seq: int, line: ServiceLine) -> dict:
    p = line.procedure
    return dict(
        claim_payment_id=payment_id, seq=seq, procedure_qualifier=fit(p.qualifier, 4) or "HC",
        procedure_code=fit(p.code, 20) or "", modifiers=fit(",".join(p.modifiers), 20) or "", charge=line.charge,
        paid=line.paid, units=line.units, service_from=line.service_from or line.service_to,
        service_to=line.service_to or line.service_from, line_control_number=fit(line.line_control_number, 80) or None,
        flags=list(line.flags))


def _adjustment(payment_id: int, line_id: int | None, a) -> dict:
    return dict(claim_payment_id=payment_id, line_payment_id=line_id, group_code=fit(a.group, 2) or "",
                reason_code=fit(a.reason, 5) or "", amount=a.amount, quantity=a.quantity)


def _claim_ids(session: Session, payer_id: int, numbers: set[str]) -> dict[str, int]:
    """Submitted claims (837) these payments answer: same payer, same CLM01/CLP01."""
    found: dict[str, int] = {}
    wanted = sorted(n for n in numbers if n)
    for i in range(0, len(wanted), 500):
        chunk = wanted[i:i + 500]
        for claim_id, number in session.execute(select(Claim.id, Claim.patient_control_number).where(
                Claim.payer_id == payer_id, Claim.patient_control_number.in_(chunk))):
            found[number] = claim_id
    return found


def _link_reversal(session: Session, payment_id: int, c: ClaimRecord, payer_id: int, remit_id: int) -> bool:
    """Point a CLP02=22 reversal at the stored payment it reverses.

    Candidates: the payer's earlier, not yet reversed, non-reversal payments with the same CLP07,
    else the same CLP01. The one whose charge and payment the reversal exactly negates wins, then
    one whose charge it negates; a CLP07 match may fall back to the most recent payment, a
    CLP01-only match may not (a re-used patient control number is too weak on its own).
    """
    base = (select(ClaimPayment.id, ClaimPayment.charge, ClaimPayment.paid)
            .join(Remittance, Remittance.id == ClaimPayment.remittance_id)
            .where(Remittance.payer_id == payer_id, Remittance.id != remit_id, ClaimPayment.status_code != "22",
                   ClaimPayment.reversed.is_(False))
            .order_by(ClaimPayment.id.desc()).limit(50))
    original = None
    if c.payer_claim_number:
        candidates = list(session.execute(base.where(ClaimPayment.payer_claim_number == fit(c.payer_claim_number, 80))))
        original = _best(candidates, c, allow_recent=True)
    if original is None:
        candidates = list(session.execute(base.where(
            ClaimPayment.patient_control_number == fit(c.patient_control_number, 80))))
        original = _best(candidates, c, allow_recent=False)
    if original is None:
        payment = session.get(ClaimPayment, payment_id)
        payment.flags = [*payment.flags, "reversal_original_not_found"]
        return False
    session.get(ClaimPayment, original).reversed = True
    session.get(ClaimPayment, payment_id).reverses_id = original
    session.flush()
    return True


def _link_earlier_reversals(session: Session, payer_id: int, remit_id: int,
                            originals: list[tuple[int, ClaimRecord]]) -> int:
    """Link reversals stored before the payments they reverse (ERAs can arrive out of order).

    A stored, unlinked reversal of this payer is linked to a payment of this remittance with the
    same CLP07 or CLP01 only when it negates that payment's charge and paid amount exactly (a later
    correction of the same claim usually shares both numbers and the charge, never both amounts);
    the reversal loses its `reversal_original_not_found` flag. Returns how many were linked.
    """
    by_key: dict[tuple[str, str], list[tuple[int, ClaimRecord]]] = {}
    for payment_id, c in originals:
        for key in (("icn", fit(c.payer_claim_number, 80)), ("pcn", fit(c.patient_control_number, 80))):
            if key[1]:
                by_key.setdefault(key, []).append((payment_id, c))
    icns = sorted(k for kind, k in by_key if kind == "icn")
    pcns = sorted(k for kind, k in by_key if kind == "pcn")
    base = (select(ClaimPayment)
            .join(Remittance, Remittance.id == ClaimPayment.remittance_id)
            .where(Remittance.payer_id == payer_id, Remittance.id != remit_id, ClaimPayment.status_code == "22",
                   ClaimPayment.reverses_id.is_(None)).order_by(ClaimPayment.id))
    orphans: dict[int, ClaimPayment] = {}
    for column, numbers in ((ClaimPayment.payer_claim_number, icns), (ClaimPayment.patient_control_number, pcns)):
        for i in range(0, len(numbers), 500):
            for row in session.scalars(base.where(column.in_(numbers[i:i + 500]))):
                orphans[row.id] = row
    taken: set[int] = set()
    linked = 0
    for reversal in sorted(orphans.values(), key=lambda row: row.id):
        matches = by_key.get(("icn", reversal.payer_claim_number), []) + by_key.get(
            ("pcn", reversal.patient_control_number), [])
        original = next((pid for pid, c in matches
                         if pid not in taken and c.charge == -reversal.charge and c.paid == -reversal.paid), None)
        if original is None:
            continue
        taken.add(original)
        reversal.reverses_id = original
        reversal.flags = [f for f in reversal.flags if f != "reversal_original_not_found"]
        session.get(ClaimPayment, original).reversed = True
        linked += 1
    session.flush()
    return linked


def _best(candidates: list, c: ClaimRecord, *, allow_recent: bool) -> int | None:
    for row in candidates:
        if row.charge == -c.charge and row.paid == -c.paid:
            return row.id
    for row in candidates:
        if row.charge == -c.charge:
            return row.id
    return candidates[0].id if candidates and allow_recent else None
