"""The stable JSON shape of `payerfleet edi parse --json` (contract: docs/edi.md)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from core.edi.records import (
    Acknowledgment, Adjustment, ClaimSubmission, OtherTransaction, Procedure, Remittance, Status, Transaction,
)

_CENT = Decimal("0.01")


def money(value: Decimal | None) -> str | None:
    """Amounts are strings with two decimals ("-42.58", "0.00")."""
    return None if value is None else f"{value.quantize(_CENT):f}"


def _num(value: Decimal | None) -> str | None:
    return None if value is None else f"{value.normalize():f}"


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _procedure(p: Procedure | None) -> dict[str, Any]:
    if p is None:
        return {"procedure": None, "qualifier": None, "modifiers": []}
    return {"procedure": p.code, "qualifier": p.qualifier, "modifiers": list(p.modifiers)}


def _adjustments(items: tuple[Adjustment, ...]) -> list[dict[str, Any]]:
    return [{"group": a.group, "reason": a.reason, "amount": money(a.amount), "quantity": _num(a.quantity)}
            for a in items]


def _statuses(items: tuple[Status, ...]) -> list[str]:
    return [str(code) for s in items for code in s.codes]


def _status_details(items: tuple[Status, ...]) -> list[dict[str, Any]]:
    return [{"codes": [str(c) for c in s.codes], "date": _day(s.effective_date), "action": s.action_code,
             "amount": money(s.amount), "text": s.free_text} for s in items]


def transaction_json(t: Transaction) -> dict[str, Any]:
    if isinstance(t, Remittance):
        return _remittance(t)
    if isinstance(t, Acknowledgment):
        return _acknowledgment(t)
    if isinstance(t, ClaimSubmission):
        return _submission(t)
    assert isinstance(t, OtherTransaction)
    return {"type": t.type, "version": t.version, "control_number": t.control_number, "supported": False,
            "reason": t.reason, "flags": list(t.flags)}


def to_json(transactions: list[Transaction]) -> list[dict[str, Any]]:
    return [transaction_json(t) for t in transactions]


def _remittance(r: Remittance) -> dict[str, Any]:
    p = r.payment
    return {
        "type": "835", "version": r.version, "control_number": r.control_number,
        "payment": {"amount": money(p.amount), "method": p.method, "trace_number": p.trace_number,
                    "payer_name": r.payer.name, "payer_id": r.payer.identifier, "date": _day(p.date),
                    "handling": p.handling},
        "payee": {"name": r.payee.name, "id_qualifier": r.payee.id_qualifier, "identifier": r.payee.identifier},
        "claims": [{
            "patient_control_number": c.patient_control_number, "status": c.status, "charge": money(c.charge),
            "paid": money(c.paid), "patient_responsibility": money(c.patient_responsibility),
            "payer_claim_number": c.payer_claim_number, "filing_indicator": c.filing_indicator,
            "service_from": _day(c.service_from), "service_to": _day(c.service_to),
            "rendering_npi": c.rendering_provider.identifier if c.rendering_provider else None,
            "adjustments": _adjustments(c.adjustments), "remarks": [m.code for m in c.remarks],
            "lines": [{
                **_procedure(line.procedure), "charge": money(line.charge), "paid": money(line.paid),
                "units": _num(line.units), "service_from": _day(line.service_from),
                "service_to": _day(line.service_to), "line_control_number": line.line_control_number,
                "adjustments": _adjustments(line.adjustments), "remarks": [m.code for m in line.remarks],
                "flags": list(line.flags)} for line in c.lines],
            "flags": list(c.flags)} for c in r.claims],
        "provider_adjustments": [{"reason": a.reason, "reference": a.reference, "amount": money(a.amount)}
                                 for a in r.provider_adjustments],
        "reversal_pairs": [list(pair) for pair in r.reversal_pairs],
        "flags": list(r.flags),
    }


def _acknowledgment(a: Acknowledgment) -> dict[str, Any]:
    return {
        "type": "277CA", "version": a.version, "control_number": a.control_number, "payer_name": a.payer.name,
        "batch_statuses": [{
            "level": b.level, "name": b.party.name, "identifier": b.party.identifier,
            "trace_number": b.trace_number, "statuses": _statuses(b.statuses),
            "accepted_quantity": b.accepted_quantity, "rejected_quantity": b.rejected_quantity,
            "accepted_amount": money(b.accepted_amount), "rejected_amount": money(b.rejected_amount)}
            for b in a.batches],
        "claims": [{
            "patient_control_number": c.patient_control_number, "payer_claim_number": c.payer_claim_number,
            "statuses": _statuses(c.statuses), "status_details": _status_details(c.statuses),
            "rejected": c.rejected, "billing_provider_id": c.billing_provider_id,
            "service_from": _day(c.service_from), "service_to": _day(c.service_to),
            "lines": [{**_procedure(line.procedure), "charge": money(line.charge),
                       "statuses": _statuses(line.statuses), "line_control_number": line.line_control_number}
                      for line in c.lines],
            "flags": list(c.flags)} for c in a.claims],
        "flags": list(a.flags),
    }


def _submission(s: ClaimSubmission) -> dict[str, Any]:
    return {
        "type": s.kind, "version": s.version, "control_number": s.control_number,
        "claims": [{
            "patient_control_number": c.patient_control_number, "charge": money(c.charge),
            "facility_code": c.facility_code, "frequency_code": c.frequency_code, "payer_name": c.payer.name,
            "payer_id": c.payer.identifier, "billing_npi": c.billing_provider.identifier,
            "rendering_npi": c.rendering_provider.identifier if c.rendering_provider else None,
            "filing_indicator": c.filing_indicator, "diagnoses": [d.code for d in c.diagnoses],
            "service_from": _day(c.service_from), "service_to": _day(c.service_to),
            "lines": [{**_procedure(line.procedure), "revenue_code": line.revenue_code, "charge": money(line.charge),
                       "units": _num(line.units), "diagnosis_pointers": list(line.diagnosis_pointers),
                       "place_of_service": line.place_of_service, "service_from": _day(line.service_from),
                       "service_to": _day(line.service_to)} for line in c.lines],
            "flags": list(c.flags)} for c in s.claims],
        "flags": list(s.flags),
    }
