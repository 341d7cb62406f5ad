"""Writers: typed records + envelope in, 5010 X12 text out (validated clean by pyx12 in the tests).

Every writer has the same shape::

    write_835(remittances, envelope, *, delimiters=DEFAULT_DELIMITERS, line_breaks=True) -> str
    write_277ca(acknowledgments, envelope, ...) -> str
    write_837p(submissions, envelope, ...) -> str

`remittances` etc. is one record or a sequence of them: each becomes one ST..SE transaction set
inside a single ISA/GS. `envelope` (records.Envelope) carries the sender/receiver ids, the
interchange and group control numbers and the creation datetime; no clock is read here.
A value that cannot be written (contains a delimiter, a required part is missing) raises
EdiWriteError naming the field.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import TypeVar

from core.edi.errors import EdiWriteError
from core.edi.records import (
    Acknowledgment, Adjustment, Address, BatchStatus, Claim, ClaimPayment, ClaimStatus,
    ClaimSubmission, Contact, Envelope, Party, Person, Procedure, Remittance, Status,
)
from core.edi.segments import DEFAULT_DELIMITERS, Delimiters, format_amount, format_date, format_quantity

T = TypeVar("T")


class _Out:
    """Collects segments of one interchange; strips trailing empty elements; refuses delimiters."""

    def __init__(self, delimiters: Delimiters):
        self.d = delimiters
        self._forbidden = set(delimiters.element + delimiters.segment + delimiters.repetition + "\r\n")
        self.segments: list[str] = []

    def _check(self, value: str, what: str, extra: str = "") -> str:
        bad = self._forbidden | set(extra)
        if any(ch in bad for ch in value):
            raise EdiWriteError(f"{what} value {value!r} contains an X12 delimiter")
        return value

    def seg(self, seg_id: str, *elements: str) -> None:
        values = list(elements)
        while values and values[-1] == "":
            values.pop()
        for i, value in enumerate(values, start=1):
            self._check(value, f"{seg_id}{i:02d}")
        self.segments.append(self.d.element.join([seg_id, *values]))

    def comp(self, *parts: str) -> str:
        values = list(parts)
        while values and values[-1] == "":
            values.pop()
        for value in values:
            self._check(value, "composite", self.d.component)
        return self.d.component.join(values)


def _many(items: T | Sequence[T]) -> list[T]:
    return list(items) if isinstance(items, (list, tuple)) else [items]  # type: ignore[list-item]


def _amt(value: Decimal | None) -> str:
    return "" if value is None else format_amount(value)


def _qty(value: Decimal | None) -> str:
    return "" if value is None else format_quantity(value)


def _d8(value: date | None) -> str:
    return "" if value is None else format_date(value)


def _interchange(out: _Out, env: Envelope, functional_id: str, version: str, body: list[list[str]],
                 line_breaks: bool) -> str:
    d = out.d
    if not 1 <= env.interchange_control_number <= 999_999_999:
        raise EdiWriteError("interchange control number must be 1..999999999")
    for what, value in (("sender_id", env.sender_id), ("receiver_id", env.receiver_id)):
        if not value or len(value) > 15:
            raise EdiWriteError(f"envelope {what} must be 1..15 characters")
    created = env.created
    isa = d.element.join([
        "ISA", "00", " " * 10, "00", " " * 10, env.sender_qualifier, env.sender_id.ljust(15),
        env.receiver_qualifier, env.receiver_id.ljust(15), created.strftime("%y%m%d"),
        created.strftime("%H%M"), d.repetition, "00501", f"{env.interchange_control_number:09d}", "0",
        env.usage, d.component,
    ])
    head = _Out(d)
    head.seg("GS", functional_id, env.application_sender or env.sender_id,
             env.application_receiver or env.receiver_id, format_date(created.date()),
             created.strftime("%H%M"), str(env.group_control_number), "X", version)
    segments = [isa, *head.segments]
    for transaction in body:
        segments.extend(transaction)
    tail = _Out(d)
    tail.seg("GE", str(len(body)), str(env.group_control_number))
    tail.seg("IEA", "1", f"{env.interchange_control_number:09d}")
    segments.extend(tail.segments)
    joiner = d.segment + ("\n" if line_breaks else "")
    return joiner.join(segments) + joiner


def _transaction(out: _Out, st_id: str, control: str, reference: str = "") -> list[str]:
    """Wrap out.segments (the body) in ST/SE and return the finished segment list."""
    body = out.segments
    out.segments = []
    out.seg("ST", st_id, control, reference)
    st = out.segments.pop()
    out.seg("SE", str(len(body) + 2), control)
    se = out.segments.pop()
    return [st, *body, se]


def _address(out: _Out, address: Address | None) -> None:
    if address is None:
        return
    out.seg("N3", address.line1, address.line2)
    out.seg("N4", address.city, address.state, address.postal_code)


def _contact(out: _Out, function: str, contact: Contact | None) -> None:
    if contact is not None:
        out.seg("PER", function, contact.name, contact.qualifier if contact.number else "", contact.number)


def _nm1(out: _Out, entity: str, person: Person) -> None:
    out.seg("NM1", entity, person.entity_type, person.last_name, person.first_name, person.middle_name, "",
            person.suffix, person.id_qualifier, person.identifier)


def _nm1_org(out: _Out, entity: str, party: Party) -> None:
    out.seg("NM1", entity, "2", party.name, "", "", "", "", party.id_qualifier, party.identifier)


def _procedure(out: _Out, procedure: Procedure) -> str:
    if len(procedure.modifiers) > 4:
        raise EdiWriteError("a procedure carries at most four modifiers")
    return out.comp(procedure.qualifier, procedure.code, *procedure.modifiers)


def _cas(out: _Out, adjustments: Sequence[Adjustment]) -> None:
    """Consecutive adjustments of one group share a CAS segment, at most six triplets each."""
    run: list[Adjustment] = []
    for adj in [*adjustments, None]:
        if run and (adj is None or adj.group != run[0].group or len(run) == 6):
            triplets = [v for a in run for v in (a.reason, format_amount(a.amount), _qty(a.quantity))]
            out.seg("CAS", run[0].group, *triplets)
            run = []
        if adj is not None:
            run.append(adj)


def _dtm_period(out: _Out, start: date | None, end: date | None, single: str, first: str, last: str) -> None:
    if start is not None and start == end and single:
        out.seg("DTM", single, format_date(start))
        return
    if start is not None:
        out.seg("DTM", first, format_date(start))
    if end is not None:
        out.seg("DTM", last, format_date(end))


# --- 835 -----------------------------------------------------------------------------------------

def write_835(remittances: Remittance | Sequence[Remittance], envelope: Envelope, *,
              delimiters: Delimiters = DEFAULT_DELIMITERS, line_breaks: bool = True) -> str:
    """835 (005010X221A1). Each Remittance needs payer.address and payer.contact (PER*BL) and
    patient names on every claim, as the guide requires; payee address/tax id are optional."""
    items = _many(remittances)
    out = _Out(delimiters)
    body = [_remittance(out, r) for r in items]
    version = items[0].version if items else "005010X221A1"
    return _interchange(out, envelope, "HP", version, body, line_breaks)


def _remittance(out: _Out, r: Remittance) -> list[str]:
    p = r.payment
    if len(p.bank_details) > 10:
        raise EdiWriteError("payment.bank_details holds at most BPR06..BPR15 (10 values)")
    bank = [*p.bank_details, *[""] * (10 - len(p.bank_details))]
    out.seg("BPR", p.handling, format_amount(p.amount), p.credit_debit, p.method, p.format, *bank, _d8(p.date))
    out.seg("TRN", "1", p.trace_number, p.originator_id)
    if r.production_date is not None:
        out.seg("DTM", "405", format_date(r.production_date))
    if r.payer.address is None or r.payer.contact is None:
        raise EdiWriteError("835 payer needs an address (N3/N4) and a technical contact (PER*BL)")
    out.seg("N1", "PR", r.payer.name, r.payer.id_qualifier, r.payer.identifier)
    _address(out, r.payer.address)
    _contact(out, "BL", r.payer.contact)
    out.seg("N1", "PE", r.payee.name, r.payee.id_qualifier, r.payee.identifier)
    _address(out, r.payee.address)
    if r.payee.tax_id:
        out.seg("REF", "TJ", r.payee.tax_id)
    if r.claims:
        out.seg("LX", "1")
    for claim in r.claims:
        _claim_payment(out, claim)
    _plb(out, r)
    return _transaction(out, "835", r.control_number)


def _claim_payment(out: _Out, c: ClaimPayment) -> None:
    out.seg("CLP", c.patient_control_number, c.status, format_amount(c.charge), format_amount(c.paid),
            _amt(c.patient_responsibility), c.filing_indicator, c.payer_claim_number, c.facility_code,
            c.frequency_code)
    _cas(out, c.adjustments)
    if c.patient is None:
        raise EdiWriteError("835 claim needs a patient (NM1*QC)")
    _nm1(out, "QC", c.patient)
    for entity, person in (("IL", c.insured), ("74", c.corrected_insured), ("82", c.rendering_provider)):
        if person is not None:
            _nm1(out, entity, person)
    codes = [r.code for r in c.remarks if r.source == "MOA"]
    if len(codes) != len(c.remarks) or len(codes) > 5:
        raise EdiWriteError("write_835 writes claim remarks as MOA (at most five)")
    if codes:
        out.seg("MOA", "", "", *codes)
    _dtm_period(out, c.service_from, c.service_to, "", "232", "233")
    if c.received_date is not None:
        out.seg("DTM", "050", format_date(c.received_date))
    for line in c.lines:
        billed = _procedure(out, line.billed_procedure) if line.billed_procedure else ""
        out.seg("SVC", _procedure(out, line.procedure), format_amount(line.charge), format_amount(line.paid),
                line.revenue_code, _qty(line.units), billed)
        _dtm_period(out, line.service_from, line.service_to, "472", "150", "151")
        _cas(out, line.adjustments)
        if line.line_control_number:
            out.seg("REF", "6R", line.line_control_number)
        if line.allowed is not None:
            out.seg("AMT", "B6", format_amount(line.allowed))
        for remark in line.remarks:
            if remark.source != "LQ":
                raise EdiWriteError("line remarks are written as LQ*HE")
            out.seg("LQ", "HE", remark.code)


def _plb(out: _Out, r: Remittance) -> None:
    run: list = []
    for adj in [*r.provider_adjustments, None]:
        key = None if adj is None else (adj.provider_id, adj.fiscal_period_end)
        if run and (adj is None or key != (run[0].provider_id, run[0].fiscal_period_end) or len(run) == 6):
            first = run[0]
            if not first.provider_id or first.fiscal_period_end is None:
                raise EdiWriteError("PLB needs provider_id and fiscal_period_end")
            pairs = [v for a in run for v in (out.comp(a.reason, a.reference), format_amount(a.amount))]
            out.seg("PLB", first.provider_id, format_date(first.fiscal_period_end), *pairs)
            run = []
        if adj is not None:
            run.append(adj)


# --- 277CA ----------------------------------------------------------------------------------------

def write_277ca(acknowledgments: Acknowledgment | Sequence[Acknowledgment], envelope: Envelope, *,
                delimiters: Delimiters = DEFAULT_DELIMITERS, line_breaks: bool = True) -> str:
    """277CA (005010X214). Needs exactly one "receiver" batch, then "provider" batches, each with
    at least one status; each claim sits under the provider batch whose party.identifier equals
    claim.billing_provider_id, and claims are grouped in the order of their batches. A provider
    batch without claims is written (batch-level rejections happen) but the X214 guide, and so
    pyx12, expects at least one claim per provider. STC entity codes must suit the level
    (receiver: 36/40/41/AY/PR; provider adds 77/82/85/87; claim/line see the guide); line
    statuses use action code "U" and no amount."""
    items = _many(acknowledgments)
    out = _Out(delimiters)
    body = [_acknowledgment(out, a) for a in items]
    return _interchange(out, envelope, "HN", "005010X214", body, line_breaks)


# Which optional STC parts each 277CA level may carry (X214): date, amount, free text.
_STC_ALLOWED = {"receiver": (True, True, False), "provider": (False, True, False),
                "claim": (True, True, True), "line": (True, False, False)}


def _stc(out: _Out, status: Status, level: str) -> None:
    if not 1 <= len(status.codes) <= 3:
        raise EdiWriteError("a status carries one to three STC code composites")
    date_ok, amount_ok, text_ok = _STC_ALLOWED[level]
    if (status.effective_date and not date_ok) or (status.amount is not None and not amount_ok) or (
            status.free_text and not text_ok):
        raise EdiWriteError(f"a 277CA {level} status cannot carry that date, amount or free text (X214 STC)")
    comps = [out.comp(c.category, c.status, c.entity) for c in status.codes]
    extra = comps[1:] + [""] * (2 - len(comps[1:]))
    out.seg("STC", comps[0], _d8(status.effective_date), status.action_code, _amt(status.amount),
            "", "", "", "", "", *extra, status.free_text)


def _batch_totals(out: _Out, b: BatchStatus, accepted_qty: str, rejected_qty: str) -> None:
    for status in b.statuses:
        _stc(out, status, b.level)
    if b.accepted_quantity is not None:
        out.seg("QTY", accepted_qty, str(b.accepted_quantity))
    if b.rejected_quantity is not None:
        out.seg("QTY", rejected_qty, str(b.rejected_quantity))
    if b.accepted_amount is not None:
        out.seg("AMT", "YU", format_amount(b.accepted_amount))
    if b.rejected_amount is not None:
        out.seg("AMT", "YY", format_amount(b.rejected_amount))


def _acknowledgment(out: _Out, a: Acknowledgment) -> list[str]:
    receivers = [b for b in a.batches if b.level == "receiver"]
    providers = [b for b in a.batches if b.level == "provider"]
    if len(receivers) != 1 or len(receivers) + len(providers) != len(a.batches) or a.batches[0] is not receivers[0]:
        raise EdiWriteError("a 277CA needs one receiver batch first, then provider batches")
    known = {b.party.identifier for b in providers}
    orphans = [c for c in a.claims if c.billing_provider_id not in known]
    if orphans:
        raise EdiWriteError("every 277CA claim needs billing_provider_id matching a provider batch")
    out.seg("BHT", "0085", "08", a.reference, format_date(a.created.date()), a.created.strftime("%H%M%S"), "TH")
    out.seg("HL", "1", "", "20", "1")
    _nm1_org(out, "PR", a.payer)
    out.seg("TRN", "1", a.payer_trace)
    out.seg("DTP", "050", "D8", _d8(a.receipt_date))
    out.seg("DTP", "009", "D8", _d8(a.process_date))
    receiver = receivers[0]
    if not receiver.statuses:
        raise EdiWriteError("a 277CA receiver batch needs at least one status (2200B STC)")
    out.seg("HL", "2", "1", "21", "1" if providers else "0")
    _nm1_org(out, "41", receiver.party)
    out.seg("TRN", "2", receiver.trace_number)
    _batch_totals(out, receiver, "90", "AA")
    hl = 2
    for batch in providers:
        hl += 1
        provider_hl = hl
        claims = [c for c in a.claims if c.billing_provider_id == batch.party.identifier]
        if not batch.statuses:
            raise EdiWriteError("a 277CA provider batch needs at least one status (2200C STC)")
        out.seg("HL", str(hl), "2", "19", "1" if claims else "0")
        _nm1_org(out, "85", batch.party)
        out.seg("TRN", "1", batch.trace_number)
        _batch_totals(out, batch, "QA", "QC")
        for claim in claims:
            hl += 1
            out.seg("HL", str(hl), str(provider_hl), "PT")
            _claim_status(out, claim)
    if [c for b in providers for c in a.claims if c.billing_provider_id == b.party.identifier] != list(a.claims):
        raise EdiWriteError("277CA claims must be grouped in the order of their provider batches")
    return _transaction(out, "277", a.control_number, "005010X214")


def _claim_status(out: _Out, c: ClaimStatus) -> None:
    if c.patient is None:
        raise EdiWriteError("277CA claim needs a patient (NM1*QC)")
    _nm1(out, "QC", c.patient)
    out.seg("TRN", "2", c.patient_control_number)
    for status in c.statuses:
        _stc(out, status, "claim")
    for qualifier, value in (("1K", c.payer_claim_number), ("D9", c.clearinghouse_trace), ("BLT", c.bill_type)):
        if value:
            out.seg("REF", qualifier, value)
    _dtp_period(out, "472", c.service_from, c.service_to)
    for line in c.lines:
        out.seg("SVC", _procedure(out, line.procedure), format_amount(line.charge), "", line.revenue_code, "", "",
                _qty(line.units))
        if len(line.statuses) != 1:
            raise EdiWriteError("a 277CA service line carries exactly one status (2220D STC)")
        for status in line.statuses:
            _stc(out, status, "line")
        if line.line_control_number:
            out.seg("REF", "FJ", line.line_control_number)
        _dtp_period(out, "472", line.service_from, line.service_to)


def _dtp_period(out: _Out, qualifier: str, start: date | None, end: date | None) -> None:
    if start is None:
        return
    if end is None or end == start:
        out.seg("DTP", qualifier, "D8", format_date(start))
    else:
        out.seg("DTP", qualifier, "RD8", f"{format_date(start)}-{format_date(end)}")


# --- 837P -----------------------------------------------------------------------------------------

def write_837p(submissions: ClaimSubmission | Sequence[ClaimSubmission], envelope: Envelope, *,
               delimiters: Delimiters = DEFAULT_DELIMITERS, line_breaks: bool = True) -> str:
    """837P (005010X222A1). Consecutive claims with the same billing provider share a 2000A loop,
    and with the same subscriber/patient/payer a 2000B loop. The billing provider needs an address
    and tax_id (REF*EI); the submitter needs a contact (PER*IC); a subscriber who is the patient
    needs an address, birth date and gender."""
    items = _many(submissions)
    out = _Out(delimiters)
    body = [_submission(out, s) for s in items]
    return _interchange(out, envelope, "HC", "005010X222A1", body, line_breaks)


def _submission(out: _Out, s: ClaimSubmission) -> list[str]:
    if s.kind != "837P":
        raise EdiWriteError("write_837p writes professional (837P) claims only")
    if s.submitter.contact is None:
        raise EdiWriteError("837 submitter needs a contact (PER*IC)")
    out.seg("BHT", "0019", "00", s.reference, format_date(s.created.date()), s.created.strftime("%H%M"), "CH")
    out.seg("NM1", "41", "2", s.submitter.name, "", "", "", "", s.submitter.id_qualifier or "46",
            s.submitter.identifier)
    _contact(out, "IC", s.submitter.contact)
    out.seg("NM1", "40", "2", s.receiver.name, "", "", "", "", s.receiver.id_qualifier or "46", s.receiver.identifier)
    hl = 0
    provider_hl = 0
    last_provider: Party | None = None
    last_subscriber: tuple | None = None
    for claim in s.claims:
        if claim.billing_provider != last_provider:
            hl += 1
            provider_hl = hl
            out.seg("HL", str(hl), "", "20", "1")
            _billing_provider(out, claim.billing_provider)
            last_provider, last_subscriber = claim.billing_provider, None
        key = (claim.subscriber, claim.patient, claim.relationship, claim.payer, claim.payer_responsibility,
               claim.filing_indicator, claim.group_number)
        if key != last_subscriber:
            hl += 1
            _subscriber(out, claim, hl, provider_hl)
            if claim.patient is not None:
                hl += 1
                _patient(out, claim, hl, hl - 1)
            last_subscriber = key
        _claim(out, claim)
    return _transaction(out, "837", s.control_number, "005010X222A1")


def _billing_provider(out: _Out, p: Party) -> None:
    if p.address is None or not p.tax_id:
        raise EdiWriteError("837 billing provider needs an address and tax_id (REF*EI)")
    out.seg("NM1", "85", "2", p.name, "", "", "", "", p.id_qualifier or "XX", p.identifier)
    _address(out, p.address)
    out.seg("REF", "EI", p.tax_id)


def _demographics(out: _Out, person: Person, role: str) -> None:
    if person.address is None or person.birth_date is None or not person.gender:
        raise EdiWriteError(f"837 {role} needs an address, birth date and gender")
    _address(out, person.address)
    out.seg("DMG", "D8", format_date(person.birth_date), person.gender)


def _subscriber(out: _Out, c: Claim, hl: int, parent: int) -> None:
    out.seg("HL", str(hl), str(parent), "22", "1" if c.patient is not None else "0")
    out.seg("SBR", c.payer_responsibility, "18" if c.patient is None else "", c.group_number, "", "", "", "", "",
            c.filing_indicator)
    _nm1(out, "IL", c.subscriber)
    if c.patient is None:
        _demographics(out, c.subscriber, "subscriber")
    out.seg("NM1", "PR", "2", c.payer.name, "", "", "", "", c.payer.id_qualifier or "PI", c.payer.identifier)


def _patient(out: _Out, c: Claim, hl: int, parent: int) -> None:
    assert c.patient is not None
    out.seg("HL", str(hl), str(parent), "23", "0")
    out.seg("PAT", c.relationship)
    _nm1(out, "QC", c.patient)
    _demographics(out, c.patient, "patient")


def _claim(out: _Out, c: Claim) -> None:
    if c.service_from is not None or c.service_to is not None:
        raise EdiWriteError("837P claims carry dates on their lines, not claim service_from/to")
    if not c.diagnoses or len(c.diagnoses) > 12:
        raise EdiWriteError("an 837P claim needs 1..12 diagnoses")
    out.seg("CLM", c.patient_control_number, format_amount(c.charge), "", "",
            out.comp(c.facility_code, c.facility_qualifier, c.frequency_code), "Y", "A", "Y", "Y")
    out.seg("HI", *[out.comp(d.qualifier, d.code) for d in c.diagnoses])
    if c.rendering_provider is not None:
        _nm1(out, "82", c.rendering_provider)
    for n, line in enumerate(c.lines, start=1):
        if line.procedure is None or line.rendering_npi or line.revenue_code:
            raise EdiWriteError("837P lines need a procedure and carry no revenue code or line rendering NPI")
        out.seg("LX", str(n))
        pointers = out.comp(*[str(p) for p in line.diagnosis_pointers[:4]])
        out.seg("SV1", _procedure(out, line.procedure), format_amount(line.charge), line.unit_basis,
                format_quantity(line.units), line.place_of_service, "", pointers)
        _dtp_period(out, "472", line.service_from, line.service_to)
        if line.line_control_number:
            out.seg("REF", "6R", line.line_control_number)
