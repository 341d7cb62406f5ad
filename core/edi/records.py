"""Typed X12 records shared by the readers and the writers; money is Decimal, dates are dates.

`flags` on a record hold findings that never stop a read: balancing failures, unknown or
deactivated codes, structural oddities. Each flag is "<code>" or "<code>:<detail>" (docs/edi.md).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal


# --- shared -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Address:
    line1: str
    city: str
    state: str = ""
    postal_code: str = ""
    line2: str = ""


@dataclass(frozen=True)
class Contact:
    """A PER contact: name plus one telephone (or other) number."""

    name: str = ""
    # PER03: TE telephone, EM email, UR url, FX fax.
    qualifier: str = "TE"
    number: str = ""


@dataclass(frozen=True)
class Party:
    """An organisation or person named by N1/NM1: payer, payee, provider, submitter, receiver."""

    name: str
    # N103/NM108: XX NPI, FI tax id, PI payer id, 46 ETIN, XV CMS plan id ...
    id_qualifier: str = ""
    identifier: str = ""
    address: Address | None = None
    contact: Contact | None = None
    # Extra identification, e.g. REF*TJ (payee tax id) or REF*EI (billing provider EIN).
    tax_id: str = ""


@dataclass(frozen=True)
class Person:
    """A patient, insured or rendering provider named by NM1 (entity type 1 or 2)."""

    last_name: str
    first_name: str = ""
    middle_name: str = ""
    id_qualifier: str = ""
    identifier: str = ""
    # Entity type qualifier NM102: "1" person, "2" organisation.
    entity_type: str = "1"
    suffix: str = ""
    birth_date: date | None = None
    # DMG03: F, M or U.
    gender: str = ""
    address: Address | None = None


@dataclass(frozen=True)
class Procedure:
    """A composite procedure: qualifier (HC, NU, AD, ...) : code : up to four modifiers."""

    qualifier: str
    code: str
    modifiers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Envelope:
    """What the writers put in ISA/GS; the date is passed in, never read from a clock."""

    sender_id: str
    receiver_id: str
    # ISA13 (1..999999999) and GS06.
    interchange_control_number: int
    group_control_number: int
    created: datetime
    sender_qualifier: str = "ZZ"
    receiver_qualifier: str = "ZZ"
    # ISA15: P production, T test.
    usage: str = "P"
    # GS02/GS03 default to the ISA ids.
    application_sender: str = ""
    application_receiver: str = ""


# --- 835 remittance ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Adjustment:
    """One CAS triplet: group (CO, PR, OA, PI, CR) + CARC reason + amount (+ quantity)."""

    group: str
    reason: str
    amount: Decimal
    quantity: Decimal | None = None


@dataclass(frozen=True)
class Remark:
    """A remittance advice remark code and where it was carried: MOA, MIA or LQ (line)."""

    source: str
    code: str


@dataclass(frozen=True)
class ServiceLine:
    """One 835 SVC loop (2110)."""

    procedure: Procedure
    charge: Decimal
    paid: Decimal
    # SVC05; absent means one unit.
    units: Decimal | None = None
    revenue_code: str = ""
    # SVC06 when the payer adjudicated a different code than was billed.
    billed_procedure: Procedure | None = None
    service_from: date | None = None
    service_to: date | None = None
    adjustments: tuple[Adjustment, ...] = ()
    remarks: tuple[Remark, ...] = ()
    # REF*6R: the provider's line item control number from the 837.
    line_control_number: str = ""
    # AMT*B6.
    allowed: Decimal | None = None
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class ClaimPayment:
    """One 835 CLP loop (2100): the payer's decision on one claim."""

    patient_control_number: str
    # CLP02: 1/2/3 processed as primary/secondary/tertiary, 4 denied, 22 reversal, ...
    status: str
    charge: Decimal
    paid: Decimal
    patient_responsibility: Decimal | None = None
    filing_indicator: str = ""
    payer_claim_number: str = ""
    facility_code: str = ""
    frequency_code: str = ""
    adjustments: tuple[Adjustment, ...] = ()
    remarks: tuple[Remark, ...] = ()
    patient: Person | None = None
    insured: Person | None = None
    corrected_insured: Person | None = None
    rendering_provider: Person | None = None
    service_from: date | None = None
    service_to: date | None = None
    received_date: date | None = None
    lines: tuple[ServiceLine, ...] = ()
    flags: tuple[str, ...] = ()

    @property
    def is_reversal(self) -> bool:
        return self.status == "22"


@dataclass(frozen=True)
class ProviderAdjustment:
    """One PLB reason/amount pair; reference is the PLB03-2 identifier (e.g. a claim number)."""

    reason: str
    amount: Decimal
    reference: str = ""
    provider_id: str = ""
    fiscal_period_end: date | None = None


@dataclass(frozen=True)
class Payment:
    """BPR + TRN: how much, how and when the payer paid, and the trace (check/EFT) number."""

    amount: Decimal
    # BPR04: ACH, BOP, CHK, FWT, NON.
    method: str
    trace_number: str
    # BPR01: C payment + advice, D payment only, H notification only, I remittance only, ...
    handling: str = "I"
    credit_debit: str = "C"
    # BPR05 (CCP, CTX) for ACH.
    format: str = ""
    # BPR06..BPR15 as written (bank ids and accounts), kept raw for ACH round trips.
    bank_details: tuple[str, ...] = ()
    date: date | None = None
    # TRN03: payer identifier, "1" + EIN by convention.
    originator_id: str = ""


@dataclass(frozen=True)
class Remittance:
    """One 835 transaction set (ST..SE)."""

    payment: Payment
    payer: Party
    payee: Party
    claims: tuple[ClaimPayment, ...] = ()
    provider_adjustments: tuple[ProviderAdjustment, ...] = ()
    control_number: str = "0001"
    version: str = "005010X221A1"
    production_date: date | None = None
    flags: tuple[str, ...] = ()

    type = "835"

    @property
    def reversal_pairs(self) -> tuple[tuple[int, int | None], ...]:
        """(reversal index, correction index or None): a CLP02=22 claim and the later claim in
        this transaction with the same CLP01 (or CLP07) that re-adjudicates it."""
        pairs = []
        taken: set[int] = set()
        for i, claim in enumerate(self.claims):
            if claim.status != "22":
                continue
            match = None
            for j in range(i + 1, len(self.claims)):
                other = self.claims[j]
                if j in taken or other.status == "22":
                    continue
                if other.patient_control_number == claim.patient_control_number or (
                        claim.payer_claim_number and other.payer_claim_number == claim.payer_claim_number):
                    match = j
                    taken.add(j)
                    break
            pairs.append((i, match))
        return tuple(pairs)


# --- 277CA acknowledgment ------------------------------------------------------------------------

@dataclass(frozen=True)
class StatusCode:
    """One STC composite: claim status category : status code : entity identifier."""

    category: str
    status: str
    entity: str = ""

    def __str__(self) -> str:
        return ":".join(p for p in (self.category, self.status, self.entity) if p)


@dataclass(frozen=True)
class Status:
    """One STC segment: STC01 plus the optional STC10/STC11 codes, dates and amount."""

    codes: tuple[StatusCode, ...]
    effective_date: date | None = None
    # STC03: WQ accepted, U rejected (in a 277CA).
    action_code: str = ""
    amount: Decimal | None = None
    free_text: str = ""

    @property
    def category(self) -> str:
        return self.codes[0].category if self.codes else ""


@dataclass(frozen=True)
class BatchStatus:
    """2000B (information receiver) or 2000C (billing provider) status; may carry no claims."""

    # "receiver" or "provider".
    level: str
    party: Party
    trace_number: str = ""
    statuses: tuple[Status, ...] = ()
    accepted_quantity: int | None = None
    rejected_quantity: int | None = None
    accepted_amount: Decimal | None = None
    rejected_amount: Decimal | None = None


@dataclass(frozen=True)
class LineStatus:
    """2220D: the status of one service line of a claim."""

    procedure: Procedure
    charge: Decimal
    statuses: tuple[Status, ...] = ()
    units: Decimal | None = None
    revenue_code: str = ""
    line_control_number: str = ""
    service_from: date | None = None
    service_to: date | None = None


@dataclass(frozen=True)
class ClaimStatus:
    """2200D: one claim's acceptance or rejection, keyed by TRN02 (the patient control number)."""

    patient_control_number: str
    statuses: tuple[Status, ...]
    patient: Person | None = None
    # NPI (NM109) of the 2000C billing provider this claim sits under.
    billing_provider_id: str = ""
    # REF*1K.
    payer_claim_number: str = ""
    # REF*D9 (clearinghouse trace) and REF*BLT (institutional bill type).
    clearinghouse_trace: str = ""
    bill_type: str = ""
    service_from: date | None = None
    service_to: date | None = None
    lines: tuple[LineStatus, ...] = ()
    flags: tuple[str, ...] = ()

    @property
    def rejected(self) -> bool:
        return any(s.category in ("A3", "A4", "A6", "A7", "A8") for s in self.statuses)


@dataclass(frozen=True)
class Acknowledgment:
    """One 277CA transaction set (005010X214)."""

    payer: Party
    reference: str
    created: datetime
    receipt_date: date | None = None
    process_date: date | None = None
    payer_trace: str = ""
    batches: tuple[BatchStatus, ...] = ()
    claims: tuple[ClaimStatus, ...] = ()
    control_number: str = "0001"
    version: str = "005010X214"
    flags: tuple[str, ...] = ()

    type = "277CA"


# --- 837 claims -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Diagnosis:
    """One HI composite: qualifier (ABK principal, ABF other, BK/BF for ICD-9) and code, no dot."""

    qualifier: str
    code: str


@dataclass(frozen=True)
class ClaimLine:
    """One 837 service line (2400): SV1 (professional) or SV2 (institutional)."""

    procedure: Procedure | None
    charge: Decimal
    units: Decimal = Decimal(1)
    # UN units, MJ minutes, DA days.
    unit_basis: str = "UN"
    revenue_code: str = ""
    place_of_service: str = ""
    # 1-based pointers into the claim's diagnoses (SV107).
    diagnosis_pointers: tuple[int, ...] = ()
    service_from: date | None = None
    service_to: date | None = None
    line_control_number: str = ""
    rendering_npi: str = ""


@dataclass(frozen=True)
class Claim:
    """One submitted 837 claim (2300) with the parties above it in the hierarchy copied onto it."""

    patient_control_number: str
    charge: Decimal
    billing_provider: Party
    subscriber: Person
    payer: Party
    # CLM05-1: place of service (837P) or facility type (837I); CLM05-3 frequency.
    facility_code: str
    frequency_code: str = "1"
    # CLM05-2: B place of service, A facility type.
    facility_qualifier: str = "B"
    # SBR01 P/S/T, SBR09 claim filing indicator (CI, MB, MC, ...), SBR03 group number.
    payer_responsibility: str = "P"
    filing_indicator: str = "CI"
    group_number: str = ""
    # None when the patient is the subscriber.
    patient: Person | None = None
    relationship: str = "18"
    rendering_provider: Person | None = None
    diagnoses: tuple[Diagnosis, ...] = ()
    lines: tuple[ClaimLine, ...] = ()
    service_from: date | None = None
    service_to: date | None = None
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class ClaimSubmission:
    """One 837 transaction set; kind is "837P" or "837I"."""

    submitter: Party
    receiver: Party
    reference: str
    created: datetime
    claims: tuple[Claim, ...] = ()
    kind: str = "837P"
    control_number: str = "0001"
    version: str = "005010X222A1"
    flags: tuple[str, ...] = ()

    @property
    def type(self) -> str:
        return self.kind


@dataclass(frozen=True)
class OtherTransaction:
    """A transaction set payerfleet recognises but does not read (278, 277 X212, 999, ...)."""

    type: str
    version: str
    control_number: str
    reason: str
    flags: tuple[str, ...] = ()


Transaction = Remittance | Acknowledgment | ClaimSubmission | OtherTransaction

__all__ = [
    "Acknowledgment", "Address", "Adjustment", "BatchStatus", "Claim", "ClaimLine", "ClaimPayment",
    "ClaimStatus", "ClaimSubmission", "Contact", "Diagnosis", "Envelope", "LineStatus", "OtherTransaction", "Party",
    "Payment", "Person", "Procedure", "ProviderAdjustment", "Remark", "Remittance", "ServiceLine",
    "Status", "StatusCode", "Transaction",
]


def fast_constructor(cls: type) -> object:
    """A positional constructor for a frozen record that skips the frozen check while building.

    The generated __init__ of a frozen dataclass sets each field through object.__setattr__,
    which costs about five times a plain store; readers build hundreds of thousands of records
    per file, so they use this instead. Every field must be passed, in declaration order; the
    result is the same frozen, comparable instance (same __dict__ layout) as cls(...) gives.
    """
    import dataclasses

    names = [f.name for f in dataclasses.fields(cls)]
    body = "\n".join(f"    d[{name!r}] = {name}" for name in names)
    source = f"def make({', '.join(names)}):\n    o = new(cls)\n    d = o.__dict__\n{body}\n    return o\n"
    namespace = {"new": object.__new__, "cls": cls}
    exec(source, namespace)  # noqa: S102 - code generated from the class's own field names
    return namespace["make"]
