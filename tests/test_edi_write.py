"""Writers emit 5010 X12 that pyx12 validates clean, and refuse values they cannot write."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal as D

import pytest

from core.edi.errors import EdiWriteError
from pyx12_support import pyx12_errors
from core.edi.records import (
    Acknowledgment, Address, Adjustment, BatchStatus, Claim, ClaimLine, ClaimPayment, ClaimStatus,
    ClaimSubmission, Contact, Diagnosis, Envelope, LineStatus, Party, Payment, Person, Procedure,
    ProviderAdjustment, Remark, Remittance, ServiceLine, Status, StatusCode,
)
from core.edi.segments import Delimiters
from core.edi.write import write_277ca, write_835, write_837p

ENVELOPE = Envelope(sender_id="SANDBOXPAYER", receiver_id="PROVIDER01", interchange_control_number=42,
                    group_control_number=7, created=datetime(2026, 3, 4, 10, 30))
ADDRESS = Address(line1="1 MAIN ST", city="SPRINGFIELD", state="IL", postal_code="627010001")
PAYER = Party(name="SANDBOX HEALTH PLAN", id_qualifier="XV", identifier="12345",
              address=ADDRESS, contact=Contact(name="EDI DESK", number="8005551212"))
PAYEE = Party(name="ACME CLINIC", id_qualifier="XX", identifier="1234567893", tax_id="123456789")
PATIENT = Person(last_name="DOE", first_name="JANE", id_qualifier="MI", identifier="W123456789")


def remittance() -> Remittance:
    denied_line = ServiceLine(
        procedure=Procedure("HC", "99214", ("25",)), charge=D("150.00"), paid=D("0"), units=D("1"),
        service_from=date(2026, 2, 1), service_to=date(2026, 2, 1),
        adjustments=(Adjustment("CO", "197", D("150.00")),), remarks=(Remark("LQ", "N54"),),
        line_control_number="LINE1")
    paid_line = ServiceLine(
        procedure=Procedure("HC", "80053"), charge=D("60.00"), paid=D("40.00"),
        service_from=date(2026, 2, 1), service_to=date(2026, 2, 2),
        adjustments=(Adjustment("CO", "45", D("15.00")), Adjustment("PR", "2", D("5.00"))),
        allowed=D("45.00"))
    claim = ClaimPayment(
        patient_control_number="PCN-1001", status="1", charge=D("210.00"), paid=D("40.00"),
        patient_responsibility=D("5.00"), filing_indicator="12", payer_claim_number="PAYER-CLM-1",
        facility_code="11", frequency_code="1", patient=PATIENT,
        rendering_provider=Person(last_name="SMITH", first_name="ANN", id_qualifier="XX", identifier="1999999984"),
        remarks=(Remark("MOA", "MA01"),), service_from=date(2026, 2, 1), service_to=date(2026, 2, 2),
        received_date=date(2026, 2, 5), lines=(denied_line, paid_line))
    return Remittance(
        payment=Payment(amount=D("40.00") - D("2.50"), method="CHK", trace_number="CHK000123",
                        date=date(2026, 3, 3), originator_id="1999999999"),
        payer=PAYER, payee=PAYEE, claims=(claim,),
        provider_adjustments=(ProviderAdjustment(reason="WO", amount=D("2.50"), reference="PAYER-CLM-0",
                                                 provider_id="1234567893", fiscal_period_end=date(2026, 12, 31)),),
        control_number="0001", production_date=date(2026, 3, 2))


def acknowledgment() -> Acknowledgment:
    accepted = Status((StatusCode("A1", "20"),), effective_date=date(2026, 3, 4), action_code="WQ", amount=D("125"))
    rejected = Status((StatusCode("A7", "562", "85"),), effective_date=date(2026, 3, 4), action_code="U",
                      amount=D("80"))
    provider = Party(name="ACME CLINIC", id_qualifier="XX", identifier="1234567893")
    return Acknowledgment(
        payer=Party(name="SANDBOX HEALTH PLAN", id_qualifier="PI", identifier="12345"),
        reference="BATCH77", created=datetime(2026, 3, 4, 10, 30, 15), receipt_date=date(2026, 3, 4),
        process_date=date(2026, 3, 4), payer_trace="ACK000001",
        batches=(
            BatchStatus("receiver", Party(name="ACME BILLING", id_qualifier="46", identifier="ETIN01"),
                        trace_number="SUBMIT01", statuses=(Status((StatusCode("A1", "19"),), date(2026, 3, 4), "WQ",
                                                                  D("205")),),
                        accepted_quantity=1, rejected_quantity=1, accepted_amount=D("125"), rejected_amount=D("80")),
            BatchStatus("provider", provider, trace_number="PROV01",
                        statuses=(Status((StatusCode("A1", "19"),), None, "WQ", D("205")),),
                        accepted_quantity=1, rejected_quantity=1,
                        accepted_amount=D("125"), rejected_amount=D("80")),
        ),
        claims=(
            ClaimStatus("PCN-1001", (accepted,), patient=PATIENT, billing_provider_id="1234567893",
                        payer_claim_number="PCN1001-PAYER", service_from=date(2026, 2, 1), service_to=date(2026, 2, 1)),
            ClaimStatus("PCN-1002", (rejected,), patient=PATIENT, billing_provider_id="1234567893",
                        clearinghouse_trace="CH99", service_from=date(2026, 2, 1), service_to=date(2026, 2, 3),
                        lines=(LineStatus(Procedure("HC", "99213"), D("80"), (replace(rejected, amount=None),),
                                          units=D("1"),
                                          line_control_number="L1", service_from=date(2026, 2, 1)),)),
        ))


def submission() -> ClaimSubmission:
    subscriber = Person(last_name="DOE", first_name="JOHN", id_qualifier="MI", identifier="W987654321",
                        birth_date=date(1970, 5, 1), gender="M", address=ADDRESS)
    child = Person(last_name="DOE", first_name="JIMMY", birth_date=date(2012, 7, 9), gender="M", address=ADDRESS)
    billing = Party(name="ACME CLINIC", id_qualifier="XX", identifier="1234567893", address=ADDRESS,
                    tax_id="123456789")
    payer = Party(name="SANDBOX HEALTH PLAN", id_qualifier="PI", identifier="12345")
    claim = Claim(
        patient_control_number="PCN-1001", charge=D("210.00"), billing_provider=billing, subscriber=subscriber,
        payer=payer, facility_code="11", group_number="GRP1",
        rendering_provider=Person(last_name="SMITH", first_name="ANN", id_qualifier="XX", identifier="1999999984"),
        diagnoses=(Diagnosis("ABK", "E119"), Diagnosis("ABF", "I10")),
        lines=(ClaimLine(Procedure("HC", "99214", ("25",)), D("150.00"), diagnosis_pointers=(1, 2),
                         service_from=date(2026, 2, 1), service_to=date(2026, 2, 1), line_control_number="LINE1"),
               ClaimLine(Procedure("HC", "80053"), D("60.00"), units=D("2"), diagnosis_pointers=(1,),
                         service_from=date(2026, 2, 1), service_to=date(2026, 2, 2))))
    dependent = replace(claim, patient_control_number="PCN-1002", patient=child, relationship="19",
                        lines=claim.lines[:1], charge=D("150.00"))
    return ClaimSubmission(
        submitter=Party(name="ACME BILLING", identifier="ETIN01", contact=Contact(name="JO", number="5551234567")),
        receiver=Party(name="SANDBOX HEALTH PLAN", identifier="12345"), reference="REF0001",
        created=datetime(2026, 3, 4, 9, 0), claims=(claim, dependent))


def test_835_validates_clean_with_pyx12():
    text = write_835([remittance(), replace(remittance(), control_number="0002")], ENVELOPE)
    assert pyx12_errors(text) == []
    assert text.startswith("ISA*00*")
    assert "CLP*PCN-1001*1*210.00*40.00*5.00*12*PAYER-CLM-1*11*1~" in text
    assert "PLB*1234567893*20261231*WO:PAYER-CLM-0*2.50~" in text


def test_277ca_validates_clean_with_pyx12():
    text = write_277ca(acknowledgment(), ENVELOPE)
    assert pyx12_errors(text) == []
    assert "STC*A7:562:85*20260304*U*80~" in text


def test_837p_validates_clean_with_pyx12():
    text = write_837p(submission(), ENVELOPE)
    assert pyx12_errors(text) == []
    assert "HI*ABK:E119*ABF:I10~" in text


def test_pyx12_check_catches_a_broken_file():
    text = write_835(remittance(), ENVELOPE).replace("SE*", "SE*9", 1)
    assert pyx12_errors(text) != []


def test_other_delimiters_and_single_line_validate():
    d = Delimiters(element="|", repetition="^", component=">", segment="!")
    text = write_835(remittance(), ENVELOPE, delimiters=d, line_breaks=False)
    assert "\n" not in text and text.startswith("ISA|00|") and "SVC|HC>99214>25|150.00|0|" in text
    assert pyx12_errors(text) == []


def test_value_containing_a_delimiter_is_refused():
    bad = replace(remittance(), payment=replace(remittance().payment, trace_number="A*B"))
    with pytest.raises(EdiWriteError, match="delimiter"):
        write_835(bad, ENVELOPE)


def test_missing_required_parts_are_refused():
    with pytest.raises(EdiWriteError, match="technical contact"):
        write_835(replace(remittance(), payer=replace(PAYER, contact=None)), ENVELOPE)
    with pytest.raises(EdiWriteError, match="provider batch"):
        write_277ca(replace(acknowledgment(), batches=acknowledgment().batches[:1]), ENVELOPE)
