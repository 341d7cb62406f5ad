"""Typed capabilities automations depend on (never on a portal), and the rows they return.

A portal declares which capabilities it implements; each implementation is a class built
from a live PortalSession. Money is Decimal; dates are dates; no row carries a secret.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Awaitable, Callable, Protocol, runtime_checkable

# Called once per results page while the page shows (automations capture evidence there).
PageHook = Callable[[], Awaitable[None]]


# -- values ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Download:
    """A file fetched from a portal."""

    filename: str
    data: bytes
    media_type: str = "application/octet-stream"


@dataclass(frozen=True)
class Attachment:
    """A file to upload with a submission."""

    name: str
    data: bytes
    media_type: str = "application/pdf"


# -- claim status ------------------------------------------------------------------------
@dataclass(frozen=True)
class ClaimQuery:
    """One claim to look up: the payer claim number, else the provider's patient control number."""

    claim_number: str = ""
    patient_control_number: str = ""
    member_id: str = ""
    # Payer code or name, for multi-payer portals (Availity); empty means "try each payer".
    payer: str = ""
    # Some portals need the service date range and the patient to find a claim.
    service_from: date | None = None
    service_to: date | None = None


@dataclass(frozen=True)
class ClaimStatusRow:
    """A claim's status as the portal shows it."""

    claim_number: str
    patient_control_number: str
    # X12 277 claim status category (A1, A2, P1, F1, F2, F4, ...), or "" when the portal shows only words.
    category: str
    status_text: str
    billed: Decimal | None = None
    paid: Decimal | None = None
    service_from: date | None = None
    finalized_on: date | None = None
    # CARC (and RARC) codes the portal lists for the claim, e.g. ("CO-197", "N54").
    codes: tuple[str, ...] = ()
    check_number: str = ""
    # X12 277 claim status code (STC01-2, e.g. "65"), where the portal shows it.
    status_code: str = ""


@runtime_checkable
class ClaimStatusLookup(Protocol):
    async def lookup(self, query: ClaimQuery) -> ClaimStatusRow:
        """One claim's status; ClaimNotFound when the portal has none."""
        ...

    async def search(self, service_from: date, service_to: date) -> list[ClaimStatusRow]:
        """Every claim with service dates in the range (the portal's bulk search, all pages).

        Portals without a date-range search raise CapabilityNotSupported; callers then look up
        the claims they know one by one.
        """
        ...

    async def search_member(self, member_id: str, date_of_birth: date, service_from: date | None = None,
                            service_to: date | None = None, *, payer: str = "",
                            on_page: PageHook | None = None) -> list[ClaimStatusRow]:
        """Every claim of one member (id + date of birth) in the service range, all result pages read.

        Rows carry what the results list shows (no codes). An unknown member or no claims is [];
        `payer` picks the payer on multi-payer portals. Portals without it raise CapabilityNotSupported.
        """
        ...


# -- remittances -------------------------------------------------------------------------
@dataclass(frozen=True)
class RemittanceRow:
    """One remittance (check or EFT) listed by the portal."""

    # The portal's own key for the remit; opaque.
    remit_id: str
    check_number: str
    paid_on: date | None
    amount: Decimal | None
    payer: str = ""


@dataclass(frozen=True)
class RemittanceClaimRow:
    """One claim as a remittance viewer shows it (the EOB/EOP detail)."""

    claim_number: str
    # CLP02 (1 processed as primary, 4 denied, 22 reversal, ...).
    status_code: str
    billed: Decimal | None
    paid: Decimal | None
    # "CO-45", "PR-1", ... in the order shown.
    adjustments: tuple[str, ...] = ()


@runtime_checkable
class RemittanceDownloads(Protocol):
    async def list_remittances(self, since: date) -> list[RemittanceRow]:
        """Remittances paid on or after `since`, newest first."""
        ...

    async def download_835(self, remit: RemittanceRow) -> Download:
        """The remittance's X12 835 file, byte for byte as the portal serves it."""
        ...


# -- claim acknowledgments (277CA) -------------------------------------------------------
@dataclass(frozen=True)
class AcknowledgmentRow:
    """One claim acknowledgment file (X12 277CA) the portal lists; its name is the portal's key."""

    file_name: str
    payer: str
    created_on: date | None


@runtime_checkable
class AcknowledgmentDownloads(Protocol):
    async def list_acknowledgments(self, since: date) -> list[AcknowledgmentRow]:
        """277CA files produced on or after `since`, newest first."""
        ...

    async def download_277ca(self, ack: AcknowledgmentRow) -> Download:
        """The acknowledgment's X12 277CA file, byte for byte as the portal serves it."""
        ...


# -- appeals / reconsiderations ----------------------------------------------------------
@dataclass(frozen=True)
class AppealRequest:
    """A first-level appeal, reconsideration or dispute."""

    claim_number: str
    # A portal reason category (UHC's form UHC1060b list, Availity's dispute reasons).
    reason: str
    note: str
    attachments: tuple[Attachment, ...] = ()
    # Availity routes disputes by payer (Aetna, Cigna, Anthem); ignored where there is one payer.
    payer: str = ""
    # "reconsideration" (first level) or "appeal", where the portal distinguishes them.
    kind: str = "reconsideration"
    # Who the payer should call back; some forms require it.
    contact_name: str = ""
    contact_phone: str = ""

    def fingerprint(self) -> dict[str, str]:
        return appeal_fingerprint(self.claim_number, self.reason, self.kind)


@dataclass(frozen=True)
class SubmissionConfirmation:
    """What the portal showed after the submit: the ticket or tracking number."""

    confirmation_number: str
    claim_number: str
    reason: str
    submitted_on: date | None = None


@dataclass(frozen=True)
class SubmittedAppealRow:
    """One row of the portal's own list of submissions; the reconciler matches these to intents."""

    confirmation_number: str
    claim_number: str
    reason: str
    submitted_on: date | None
    status: str
    kind: str = "reconsideration"

    def fingerprint(self) -> dict[str, str]:
        """The fields a SubmissionIntent.fingerprint holds; equal dicts mean the same act."""
        return appeal_fingerprint(self.claim_number, self.reason, self.kind)


def appeal_fingerprint(claim_number: str, reason: str, kind: str = "reconsideration") -> dict[str, str]:
    """The one definition of an appeal's fingerprint, shared by submitter and reconciler."""
    return {"kind": kind.strip().lower(), "claim_number": claim_number.strip(), "reason": reason.strip()}


class PreparedSubmission(Protocol):
    """A filled, not yet submitted form: `submit()` is the single click that cannot be retried."""

    async def submit(self) -> SubmissionConfirmation:
        ...


@runtime_checkable
class AppealSubmission(Protocol):
    async def prepare(self, request: AppealRequest) -> PreparedSubmission:
        """Open the form and fill it (safe to retry); raises ActionNotAllowed or AlreadySubmitted."""
        ...

    async def list_submitted(self, since: date | None = None) -> list[SubmittedAppealRow]:
        """What the portal says was already submitted (all pages)."""
        ...


# -- decision letters --------------------------------------------------------------------
@dataclass(frozen=True)
class LetterRow:
    letter_id: str
    claim_number: str
    title: str
    issued_on: date | None


@runtime_checkable
class DecisionLetters(Protocol):
    async def list_letters(self, since: date | None = None) -> list[LetterRow]:
        ...

    async def download_letter(self, letter: LetterRow) -> Download:
        ...


# -- credentialing -----------------------------------------------------------------------
@dataclass(frozen=True)
class RosterRow:
    """A provider on a practice manager's roster."""

    provider_id: str
    npi: str
    # e.g. "Initial Profile Complete", "Re-attestation", "Expired".
    status: str
    last_attested_on: date | None
    attestation_due_on: date | None


@dataclass(frozen=True)
class ExpiringDocument:
    provider_id: str
    document: str
    expires_on: date | None


@dataclass(frozen=True)
class AttestationConfirmation:
    provider_id: str
    attested_on: date | None
    next_due_on: date | None
    reference: str = ""


@runtime_checkable
class Credentialing(Protocol):
    async def roster(self) -> list[RosterRow]:
        ...

    async def expiring_documents(self) -> list[ExpiringDocument]:
        ...

    async def attest(self, provider_id: str, signer: str) -> AttestationConfirmation:
        """Attest (or re-attest) one provider's profile, signed by `signer`: a submit, never retried."""
        ...


CAPABILITIES: dict[str, type] = {
    "claim_status": ClaimStatusLookup,
    "remittances": RemittanceDownloads,
    "acknowledgments": AcknowledgmentDownloads,
    "appeals": AppealSubmission,
    "letters": DecisionLetters,
    "credentialing": Credentialing,
}


def capability_name(protocol: type) -> str:
    for name, proto in CAPABILITIES.items():
        if proto is protocol:
            return name
    raise KeyError(protocol)


__all__ = [
    "AcknowledgmentDownloads", "AcknowledgmentRow", "AppealRequest", "AppealSubmission", "AttestationConfirmation", "Attachment", "CAPABILITIES",
    "ClaimQuery", "ClaimStatusLookup", "ClaimStatusRow", "Credentialing", "DecisionLetters",
    "Download", "ExpiringDocument", "LetterRow", "PageHook", "PreparedSubmission", "RemittanceDownloads",
    "RemittanceClaimRow", "RemittanceRow", "RosterRow", "SubmissionConfirmation", "SubmittedAppealRow",
    "appeal_fingerprint", "capability_name",
]
