"""Property tests: read(write(x)) == x for 835, 277CA and 837P, and generated files validate in pyx12."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from core.edi.catalogs import shipped_catalog
from pyx12_support import pyx12_errors
from core.edi.read import read_all
from core.edi.records import (
    Acknowledgment, Address, Adjustment, BatchStatus, Claim, ClaimLine, ClaimPayment, ClaimStatus,
    ClaimSubmission, Contact, Diagnosis, Envelope, LineStatus, Party, Payment, Person, Procedure,
    ProviderAdjustment, Remark, Remittance, ServiceLine, Status, StatusCode,
)
from core.edi.segments import Delimiters
from core.edi.write import write_277ca, write_835, write_837p

CATALOG = shipped_catalog()
ENVELOPE = Envelope(sender_id="PAYER01", receiver_id="PROV01", interchange_control_number=1,
                    group_control_number=1, created=datetime(2026, 1, 2, 3, 4))


def _active(kind: str) -> list[str]:
    return sorted(c for c, e in CATALOG.lists[kind].entries.items()
                  if e.stop is None and (e.start is None or e.start <= date(2014, 1, 1)))


def _pyx12_codes(codeset: str) -> set[str]:
    """Codes pyx12 knows, so generated files validate clean there too."""
    import xml.etree.ElementTree as ET

    import pyx12

    tree = ET.parse(Path(pyx12.__file__).parent / "map" / "codes.xml")
    for node in tree.getroot().iter("codeset"):
        if node.findtext("id") == codeset:
            return {c.text for c in node.iter("code")}
    raise LookupError(codeset)


CARCS, PLBS = _active("carc"), _active("plb_reasons")
RARCS = sorted(set(_active("rarc")) & _pyx12_codes("remark_code"))
STATUS_CODES = sorted(set(CATALOG.lists["claim_status_codes"].entries) & _pyx12_codes("claim_status"))

text = st.from_regex(r"[A-Z0-9][A-Z0-9 .\-]{0,12}[A-Z0-9]", fullmatch=True)
ident = st.from_regex(r"[A-Z0-9]{2,15}", fullmatch=True)
digits = st.from_regex(r"[0-9]{4,9}", fullmatch=True)
days = st.dates(min_value=date(2015, 1, 1), max_value=date(2030, 12, 31))
cents = st.integers(min_value=-500_000, max_value=5_000_000).map(lambda n: Decimal(n).scaleb(-2))
positive = st.integers(min_value=0, max_value=5_000_000).map(lambda n: Decimal(n).scaleb(-2))
units = st.integers(min_value=1, max_value=999).map(Decimal)
maybe = lambda s: st.none() | s  # noqa: E731
address = st.builds(Address, line1=text, city=text, state=st.sampled_from(["IL", "NY", "CA"]),
                    postal_code=st.from_regex(r"[0-9]{9}", fullmatch=True))
procedure = st.builds(Procedure, qualifier=st.just("HC"), code=st.from_regex(r"[0-9]{5}|[A-Z][0-9]{4}", fullmatch=True),
                      modifiers=st.lists(st.from_regex(r"[A-Z0-9]{2}", fullmatch=True), max_size=4).map(tuple))


def person(qualifier: str = "MI") -> st.SearchStrategy[Person]:  # noqa: D103
    return st.builds(Person, last_name=text, first_name=text, middle_name=st.just("") | text,
                     id_qualifier=st.just(qualifier), identifier=ident, entity_type=st.just("1"))


@st.composite
def service_lines(draw) -> ServiceLine:
    adjustments = draw(st.lists(st.builds(Adjustment, group=st.sampled_from(["CO", "PR", "OA", "PI"]),
                                          reason=st.sampled_from(CARCS), amount=cents, quantity=maybe(units)),
                                max_size=8))
    charge = draw(positive)
    start = draw(maybe(days))
    end = draw(st.none() | st.just(start) | days) if start else draw(maybe(days))
    return ServiceLine(
        procedure=draw(procedure), charge=charge, paid=charge - sum((a.amount for a in adjustments), Decimal(0)),
        units=draw(maybe(units)), revenue_code=draw(st.sampled_from(["", "0450"])),
        billed_procedure=draw(maybe(procedure)), service_from=start, service_to=end,
        adjustments=tuple(adjustments), remarks=tuple(Remark("LQ", c) for c in draw(st.lists(st.sampled_from(RARCS), max_size=3))),
        line_control_number=draw(st.just("") | ident), allowed=draw(maybe(positive)))


@st.composite
def claim_payments(draw) -> ClaimPayment:
    lines = draw(st.lists(service_lines(), max_size=4))
    claim_adjustments = draw(st.lists(st.builds(Adjustment, group=st.sampled_from(["CO", "PR", "OA"]),
                                                reason=st.sampled_from(CARCS), amount=cents), max_size=3))
    start = draw(maybe(days))
    return ClaimPayment(
        patient_control_number=draw(ident), status=draw(st.sampled_from(["1", "2", "3", "4", "19", "22", "23"])),
        charge=sum((ln.charge for ln in lines), Decimal(0)) + sum((a.amount for a in claim_adjustments), Decimal(0)),
        paid=sum((ln.paid for ln in lines), Decimal(0)), patient_responsibility=draw(maybe(positive)),
        filing_indicator=draw(st.sampled_from(["12", "MC", "MB", "HM"])), payer_claim_number=draw(ident),
        facility_code=draw(st.sampled_from(["11", "21", ""])), frequency_code=draw(st.sampled_from(["1", "7", ""])),
        adjustments=tuple(claim_adjustments),
        remarks=tuple(Remark("MOA", c) for c in draw(st.lists(st.sampled_from(RARCS), max_size=5))),
        patient=draw(person()), insured=draw(maybe(person())), corrected_insured=draw(maybe(person("C"))),
        rendering_provider=draw(maybe(person("XX"))), service_from=start,
        service_to=draw(maybe(days)) if start else None, received_date=draw(maybe(days)), lines=tuple(lines))


@st.composite
def remittances(draw, max_plb: int = 8) -> Remittance:
    claims = draw(st.lists(claim_payments(), max_size=4))
    plb = draw(st.lists(st.builds(ProviderAdjustment, reason=st.sampled_from(PLBS), amount=cents,
                                  reference=st.just("") | ident, provider_id=st.just("1234567893"),
                                  fiscal_period_end=st.just(date(2026, 12, 31))), max_size=max_plb))
    amount = sum((c.paid for c in claims), Decimal(0)) - sum((a.amount for a in plb), Decimal(0))
    bank = draw(st.sampled_from([(), ("01", "999999992", "DA", "123456", "1512345678", "", "01", "999988880", "DA", "98765")]))
    return Remittance(
        payment=Payment(amount=amount, method="ACH" if bank else draw(st.sampled_from(["CHK", "NON"])),
                        trace_number=draw(ident), handling=draw(st.sampled_from(["I", "C", "H"])),
                        format="CCP" if bank else "", bank_details=bank, date=draw(days), originator_id="1512345678"),
        payer=Party(name=draw(text), id_qualifier="XV", identifier=draw(ident), address=draw(address),
                    contact=Contact(name=draw(text), qualifier="TE", number="8005551212")),
        payee=Party(name=draw(text), id_qualifier="XX", identifier="1234567893", address=draw(maybe(address)),
                    tax_id=draw(st.just("") | st.just("123456789"))),
        claims=tuple(claims), provider_adjustments=tuple(plb), control_number=draw(digits),
        production_date=draw(maybe(days)))


def status_codes(entities: list[str]) -> st.SearchStrategy[StatusCode]:
    return st.builds(StatusCode, category=st.sampled_from(["A1", "A2", "A3", "A6", "A7", "A8"]),
                     status=st.sampled_from(STATUS_CODES), entity=st.sampled_from(entities))


def statuses(*, with_date: bool, with_amount: bool, with_text: bool, entities=("", "40", "41"),
             actions=("WQ", "U")) -> st.SearchStrategy[Status]:
    first = status_codes(list(entities))
    more = st.lists(status_codes([""]), max_size=2)
    return st.builds(Status, codes=st.tuples(first, more).map(lambda p: (p[0], *p[1])),
                     effective_date=days if with_date else st.none(), action_code=st.sampled_from(list(actions)),
                     amount=positive if with_amount else st.none(), free_text=(st.just("") | text) if with_text else st.just(""))


@st.composite
def acknowledgments(draw, min_claims: int = 0) -> Acknowledgment:
    providers = draw(st.lists(st.from_regex(r"1[0-9]{9}", fullmatch=True), min_size=1, max_size=3, unique=True))
    batches = [BatchStatus("receiver", Party(name=draw(text), id_qualifier="46", identifier=draw(ident)),
                           trace_number=draw(ident),
                           statuses=tuple(draw(st.lists(statuses(with_date=True, with_amount=True, with_text=False),
                                                        min_size=1, max_size=2))),
                           accepted_quantity=draw(maybe(st.integers(0, 99))), rejected_quantity=draw(maybe(st.integers(0, 99))),
                           accepted_amount=draw(maybe(positive)), rejected_amount=draw(maybe(positive)))]
    claims = []
    for npi in providers:
        batches.append(BatchStatus("provider", Party(name=draw(text), id_qualifier="XX", identifier=npi),
                                   trace_number=draw(ident),
                                   statuses=tuple(draw(st.lists(statuses(with_date=False, with_amount=True, with_text=False),
                                                                min_size=1, max_size=2)))))
        for _ in range(draw(st.integers(min_claims, 3))):
            start = draw(days)
            lines = tuple(LineStatus(procedure=draw(procedure), charge=draw(positive),
                                     statuses=(draw(statuses(with_date=True, with_amount=False, with_text=False,
                                                             entities=("", "41", "85"), actions=("U",))),),
                                     units=draw(maybe(units)), line_control_number=draw(st.just("") | ident),
                                     service_from=start, service_to=draw(st.just(start) | days))
                          for _ in range(draw(st.integers(0, 2))))
            claims.append(ClaimStatus(
                patient_control_number=draw(ident),
                statuses=tuple(draw(st.lists(statuses(with_date=True, with_amount=True, with_text=True,
                                                      entities=("", "41", "85", "QC")), min_size=1, max_size=2))),
                patient=draw(person()), billing_provider_id=npi, payer_claim_number=draw(st.just("") | ident),
                clearinghouse_trace=draw(st.just("") | ident), bill_type=draw(st.sampled_from(["", "731"])),
                service_from=start, service_to=draw(st.just(start) | days), lines=lines))
    return Acknowledgment(
        payer=Party(name=draw(text), id_qualifier="PI", identifier=draw(ident)), reference=draw(ident),
        created=draw(st.datetimes(min_value=datetime(2015, 1, 1), max_value=datetime(2030, 1, 1))).replace(microsecond=0),
        receipt_date=draw(days), process_date=draw(days), payer_trace=draw(ident), batches=tuple(batches),
        claims=tuple(claims), control_number=draw(digits))


@st.composite
def submissions(draw) -> ClaimSubmission:
    claims = []
    billing = Party(name=draw(text), id_qualifier="XX", identifier="1234567893", address=draw(address), tax_id="123456789")
    payer = Party(name=draw(text), id_qualifier="PI", identifier=draw(ident))
    for _ in range(draw(st.integers(1, 4))):
        dependent = draw(st.booleans())
        subscriber = draw(person())
        demographics = dict(birth_date=draw(st.dates(date(1920, 1, 1), date(2020, 1, 1))),
                            gender=draw(st.sampled_from(["F", "M", "U"])), address=draw(address))
        patient = None
        if dependent:
            patient = Person(last_name=draw(text), first_name=draw(text), entity_type="1", **demographics)
        else:
            subscriber = Person(**{**subscriber.__dict__, **demographics})
        diagnoses = [Diagnosis("ABK", draw(st.from_regex(r"[A-Z][0-9]{2}[0-9A-Z]{0,4}", fullmatch=True)))]
        diagnoses += [Diagnosis("ABF", c) for c in draw(st.lists(st.from_regex(r"[A-Z][0-9]{2}[0-9A-Z]{0,4}", fullmatch=True), max_size=5))]
        lines = []
        for _ in range(draw(st.integers(1, 4))):
            start = draw(days)
            lines.append(ClaimLine(
                procedure=draw(procedure), charge=draw(positive), units=draw(units), unit_basis="UN",
                place_of_service=draw(st.sampled_from(["", "11"])),
                diagnosis_pointers=tuple(draw(st.lists(st.integers(1, len(diagnoses)), min_size=1, max_size=4))),
                service_from=start, service_to=draw(st.just(start) | days), line_control_number=draw(st.just("") | ident)))
        claims.append(Claim(
            patient_control_number=draw(ident), charge=sum((ln.charge for ln in lines), Decimal(0)), billing_provider=billing,
            subscriber=subscriber, payer=payer, facility_code="11", frequency_code=draw(st.sampled_from(["1", "7"])),
            payer_responsibility=draw(st.sampled_from(["P", "S"])), filing_indicator=draw(st.sampled_from(["CI", "MB"])),
            group_number=draw(st.just("") | ident), patient=patient, relationship="19" if dependent else "18",
            rendering_provider=draw(maybe(person("XX"))), diagnoses=tuple(diagnoses), lines=tuple(lines)))
    return ClaimSubmission(
        submitter=Party(name=draw(text), id_qualifier="46", identifier=draw(ident),
                        contact=Contact(name=draw(text), qualifier="TE", number="5551234567")),
        receiver=Party(name=draw(text), id_qualifier="46", identifier=draw(ident)), reference=draw(ident),
        created=draw(st.datetimes(min_value=datetime(2015, 1, 1), max_value=datetime(2030, 1, 1))).replace(second=0, microsecond=0),
        claims=tuple(claims), control_number=draw(digits))


DELIMS = st.sampled_from([Delimiters(), Delimiters("|", "^", ">", "!"), Delimiters("*", "^", ":", "\n")])
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(remittances(), DELIMS, st.booleans())
def test_835_round_trip(remit, delimiters, line_breaks):
    text = write_835([remit], ENVELOPE, delimiters=delimiters, line_breaks=line_breaks or delimiters.segment == "\n")
    (back,) = read_all(text)
    flags = [f for f in back.flags if f != "newline_terminator"]
    assert back.__class__(**{**back.__dict__, "flags": tuple(flags)}) == remit


@FAST
@given(acknowledgments(), DELIMS)
def test_277ca_round_trip(ack, delimiters):
    (back,) = read_all(write_277ca(ack, ENVELOPE, delimiters=delimiters))
    assert back.__class__(**{**back.__dict__, "flags": tuple(f for f in back.flags if f != "newline_terminator")}) == ack


@FAST
@given(submissions(), DELIMS)
def test_837p_round_trip(submission, delimiters):
    (back,) = read_all(write_837p(submission, ENVELOPE, delimiters=delimiters))
    assert back.__class__(**{**back.__dict__, "flags": tuple(f for f in back.flags if f != "newline_terminator")}) == submission


# pyx12 is slow (about a second per document), so few examples; the round trips above cover breadth.
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(remittances(max_plb=6), acknowledgments(min_claims=1), submissions())
def test_generated_files_validate_clean_in_pyx12(remit, ack, submission):
    assert pyx12_errors(write_835(remit, ENVELOPE)) == []
    assert pyx12_errors(write_277ca(ack, ENVELOPE)) == []
    assert pyx12_errors(write_837p(submission, ENVELOPE)) == []


def test_pyx12_quirk_with_more_than_one_plb_segment_is_the_only_complaint():
    """The 835 guide allows PLB >1, but pyx12 counts each PLB as a new FOOTER loop."""
    plb = tuple(ProviderAdjustment(reason="WO", amount=Decimal(1), reference=f"R{i}", provider_id="1234567893",
                                   fiscal_period_end=date(2026, 12, 31)) for i in range(7))
    remit = Remittance(
        payment=Payment(amount=Decimal(-7), method="NON", trace_number="T1", date=date(2026, 1, 1),
                        originator_id="1512345678"),
        payer=Party(name="PAYER", id_qualifier="XV", identifier="12345",
                    address=Address(line1="1 MAIN", city="CITY", state="IL", postal_code="62701"),
                    contact=Contact(name="DESK", number="8005551212")),
        payee=Party(name="CLINIC", id_qualifier="XX", identifier="1234567893"), provider_adjustments=plb)
    text = write_835(remit, ENVELOPE)
    assert text.count("PLB*") == 2
    assert pyx12_errors(text) == ["PLB: 4 Loop FOOTER exceeded max count.  Found 2, should have 1"]
    (back,) = read_all(text)
    assert back.provider_adjustments == plb and not back.flags
