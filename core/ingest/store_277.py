"""Write the rejections of one 277CA Acknowledgment (acceptances are counted, not stored)."""
from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.edi.records import Acknowledgment, Status
from core.ingest.store_835 import Outcome, fit
from core.store.models import Claim, Rejection, utcnow

# Claim status categories that mean "not accepted into adjudication" in a 277CA.
REJECTED = {"A3", "A4", "A6", "A7", "A8"}


def is_rejection(status: Status) -> bool:
    return status.category in REJECTED or status.action_code == "U"


def _key(*parts: object) -> str:
    return hashlib.sha256("|".join("" if p is None else str(p) for p in parts).encode()).hexdigest()


def _status_text(status: Status) -> str:
    return fit(",".join(str(c) for c in status.codes), 40) or ""


def store_acknowledgment(session: Session, ack: Acknowledgment, *, edi_file_id: int, payer_id: int) -> Outcome:
    """One Rejection row per rejecting STC (batch, claim or line level); re-ingestion adds none."""
    rows: list[dict] = []
    ack_key = (payer_id, ack.reference, ack.payer_trace)

    def add(level: str, subject: str, status: Status, amount: Decimal | None, pcn: str | None = None,
            payer_claim_number: str | None = None, claim_id: int | None = None, seq: int = 0) -> None:
        effective: date | None = status.effective_date or ack.process_date
        rows.append(dict(
            dedupe_key=_key(*ack_key, level, subject, seq, _status_text(status), effective),
            edi_file_id=edi_file_id, payer_id=payer_id, claim_id=claim_id, level=level,
            patient_control_number=fit(pcn, 80) or None, payer_claim_number=fit(payer_claim_number, 80) or None,
            status=_status_text(status), amount=amount, effective_date=effective))

    for batch in ack.batches:
        for n, status in enumerate(batch.statuses):
            if is_rejection(status):
                add(batch.level, f"{batch.party.identifier}:{batch.trace_number}", status,
                    status.amount if status.amount is not None else batch.rejected_amount, seq=n)
    numbers = sorted({c.patient_control_number for c in ack.claims if c.patient_control_number})
    claim_ids = dict(session.execute(select(Claim.patient_control_number, Claim.id).where(
        Claim.payer_id == payer_id, Claim.patient_control_number.in_(numbers))).all()) if numbers else {}
    for claim in ack.claims:
        claim_id = claim_ids.get(claim.patient_control_number)
        subject = f"{claim.billing_provider_id}:{claim.patient_control_number}"
        for n, status in enumerate(claim.statuses):
            if is_rejection(status):
                add("claim", subject, status, status.amount, claim.patient_control_number,
                    claim.payer_claim_number, claim_id, seq=n)
        for line_no, line in enumerate(claim.lines, start=1):
            for n, status in enumerate(line.statuses):
                if is_rejection(status):
                    add("line", f"{subject}:{line_no}:{line.line_control_number}", status, line.charge,
                        claim.patient_control_number, claim.payer_claim_number, claim_id, seq=n)
    keys = [row["dedupe_key"] for row in rows]
    known = set(session.scalars(select(Rejection.dedupe_key).where(Rejection.dedupe_key.in_(keys)))) if keys else set()
    new = [row for row in rows if row["dedupe_key"] not in known]
    if rows and not new:
        return Outcome(duplicate=True)
    if new:
        # A concurrent ingester may store the same rejection between the check and here: skip it.
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        now = utcnow()
        session.execute(dialect.insert(Rejection.__table__).on_conflict_do_nothing(index_elements=["dedupe_key"]),
                        [{**row, "created_at": now} for row in new])
    return Outcome(claims=len(ack.claims), rejections=len(new))
