"""Write the claims of one 837 ClaimSubmission; a claim already stored (payer + CLM01) is skipped."""
from __future__ import annotations

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from core.edi.records import Claim as ClaimRecord, ClaimSubmission, Party
from core.ingest.store_835 import Outcome, fit
from core.store.models import Claim, ClaimDiagnosis, ClaimLine, ClaimPayment, Rejection, Remittance


def _npi(party: Party | None) -> str | None:
    return fit(party.identifier, 10) if party is not None and party.id_qualifier == "XX" else None


def store_submission(session: Session, s: ClaimSubmission, *, edi_file_id: int, payer_ids: list[int]) -> Outcome:
    """payer_ids[i] is the payer of s.claims[i]. Payments and rejections that arrived first get linked."""
    outcome = Outcome()
    stored = 0
    for claim, payer_id in zip(s.claims, payer_ids):
        pcn = fit(claim.patient_control_number, 80) or ""
        if session.scalar(select(Claim.id).where(Claim.payer_id == payer_id, Claim.patient_control_number == pcn)):
            continue
        claim_id = _insert_claim(session, s, claim, payer_id, pcn, edi_file_id)
        _link_earlier_answers(session, claim_id, payer_id, pcn)
        stored += 1
    if s.claims and not stored:
        return Outcome(duplicate=True)
    outcome.claims = stored
    return outcome


def _insert_claim(session: Session, s: ClaimSubmission, c: ClaimRecord, payer_id: int, pcn: str,
                  edi_file_id: int) -> int:
    patient = c.patient or c.subscriber
    days = [d for line in c.lines for d in (line.service_from, line.service_to) if d]
    dos_from = c.service_from or (min(days) if days else None)
    dos_to = c.service_to or (max(days) if days else None)
    rendering = c.rendering_provider
    claim_id = session.scalar(insert(Claim).returning(Claim.id), [dict(
        payer_id=payer_id, plan_id=None, edi_file_id=edi_file_id, patient_control_number=pcn,
        claim_type=s.kind, frequency_code=fit(c.frequency_code, 2) or "1", billed_amount=c.charge,
        contracted_amount=None, billing_npi=_npi(c.billing_provider),
        rendering_npi=fit(rendering.identifier, 10) if rendering and rendering.id_qualifier == "XX" else None,
        place_of_service=fit(c.facility_code, 4) or None, location=fit(c.billing_provider.name, 120) or None,
        member_id=fit(c.subscriber.identifier, 80) or None, patient_last_name=fit(patient.last_name, 80) or None,
        patient_first_name=fit(patient.first_name, 80) or None, patient_dob=patient.birth_date, dos_from=dos_from,
        dos_to=dos_to, submitted_on=s.created.date() if s.created.year > 1900 else None)])
    lines = []
    for n, line in enumerate(c.lines, start=1):
        procedure = line.procedure
        lines.append(dict(
            claim_id=claim_id, line_number=n,
            procedure_qualifier=fit(procedure.qualifier, 4) if procedure else "NU",
            procedure_code=fit(procedure.code if procedure else line.revenue_code, 20) or "",
            modifiers=fit(",".join(procedure.modifiers), 20) if procedure else "", units=line.units,
            charge=line.charge, contracted_amount=None, dos_from=line.service_from or dos_from,
            dos_to=line.service_to or line.service_from or dos_to,
            diagnosis_pointers=fit(",".join(str(p) for p in line.diagnosis_pointers), 20) or "",
            rendering_npi=fit(line.rendering_npi, 10) or None))
    if lines:
        session.execute(insert(ClaimLine), lines)
    if c.diagnoses:
        session.execute(insert(ClaimDiagnosis), [dict(claim_id=claim_id, seq=n, code=fit(d.code.replace(".", ""), 10))
                                                 for n, d in enumerate(c.diagnoses, start=1)])
    return claim_id


def _link_earlier_answers(session: Session, claim_id: int, payer_id: int, pcn: str) -> None:
    """An 835 or 277CA that arrived before its 837 is linked now."""
    remits = select(Remittance.id).where(Remittance.payer_id == payer_id)
    session.execute(update(ClaimPayment).where(ClaimPayment.claim_id.is_(None), ClaimPayment.patient_control_number == pcn,
                                               ClaimPayment.remittance_id.in_(remits)).values(claim_id=claim_id))
    session.execute(update(Rejection).where(Rejection.claim_id.is_(None), Rejection.payer_id == payer_id,
                                            Rejection.patient_control_number == pcn).values(claim_id=claim_id))
