"""Classification: what an 835 claim payment, a 277CA rejection or a status pull means.

An 835 denial is read from the CAS adjustments (group + CARC + RARC, per line), never from CLP02
alone. Patient responsibility (PR-1/2/3) is not a denial; CARC 45 is an underpayment only when the
payer paid less than the contracted rate. One claim can yield several findings.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from core.routing.table import Category, RoutingTable

ZERO = Decimal("0")


@dataclass(frozen=True)
class Adj:
    group: str
    carc: str
    amount: Decimal


@dataclass(frozen=True)
class LineView:
    id: int
    seq: int
    procedure_code: str | None
    charge: Decimal
    paid: Decimal
    contracted: Decimal | None
    adjustments: tuple[Adj, ...]
    rarcs: tuple[str, ...]


@dataclass(frozen=True)
class PaymentView:
    id: int
    status_code: str
    charge: Decimal
    paid: Decimal
    contracted: Decimal | None
    adjustments: tuple[Adj, ...]  # claim-level CAS
    rarcs: tuple[str, ...]  # claim-level MOA/MIA remarks
    lines: tuple[LineView, ...]


@dataclass(frozen=True)
class Finding:
    kind: str  # denial | underpayment
    line_payment_id: int | None
    scope: str  # "claim" or the line seq
    group_code: str | None
    carc: str | None
    rarcs: tuple[str, ...]
    procedure_code: str | None
    amount: Decimal
    category: Category | None  # None: unknown CARC -> triage
    reason: str | None = None

    def dedupe_suffix(self) -> str:
        code = f"{self.group_code}-{self.carc}" if self.carc else "none"
        return f"{self.scope}:{code}"


def _is_reversal(status_code: str) -> bool:
    return status_code == "22"


def classify_payment(view: PaymentView, table: RoutingTable) -> list[Finding]:
    """Every denial and underpayment on one claim payment; paid claims yield nothing."""
    if _is_reversal(view.status_code):
        return []
    findings: list[Finding] = []
    claim_paid = view.paid
    for line in view.lines:
        findings += _scope_findings(
            table, adjustments=line.adjustments, rarcs=tuple(dict.fromkeys(line.rarcs + view.rarcs)),
            scope=str(line.seq), line_id=line.id, procedure=line.procedure_code,
            paid=line.paid, contracted=line.contracted)
    findings += _scope_findings(
        table, adjustments=view.adjustments, rarcs=view.rarcs, scope="claim", line_id=None,
        procedure=None, paid=claim_paid,
        # Claim-level contract comparison only when the lines could not carry it.
        contracted=view.contracted if not view.lines else None)
    if not findings and view.status_code == "4" and not _has_any_adjustment(view):
        # CLP02 says denied but there is nothing to read the reason from: never drop it.
        findings.append(Finding(
            kind="denial", line_payment_id=None, scope="claim", group_code=None, carc=None, rarcs=view.rarcs,
            procedure_code=None, amount=max(view.charge - view.paid, ZERO), category=None,
            reason="CLP02=4 (denied) without CAS adjustments"))
    return findings


def _has_any_adjustment(view: PaymentView) -> bool:
    return bool(view.adjustments) or any(line.adjustments for line in view.lines)


def _scope_findings(table: RoutingTable, *, adjustments: tuple[Adj, ...], rarcs: tuple[str, ...], scope: str,
                    line_id: int | None, procedure: str | None, paid: Decimal,
                    contracted: Decimal | None) -> list[Finding]:
    totals: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    for adj in adjustments:
        totals[(adj.group.upper(), adj.carc.upper())] += adj.amount
    intake = table.intake
    out: list[Finding] = []
    contractual_seen: list[tuple[str, str]] = []
    for (group, carc), amount in totals.items():
        key = f"{group}-{carc}"
        if amount <= ZERO or group == "CR" or key in intake.patient_responsibility or key in intake.informational:
            continue
        if carc in intake.contractual_carcs:
            contractual_seen.append((group, carc))
            continue
        category = table.category_for(carc, rarcs)
        out.append(Finding(
            kind="denial", line_payment_id=line_id, scope=scope, group_code=group, carc=carc, rarcs=rarcs,
            procedure_code=procedure, amount=amount, category=category,
            reason=None if category else f"unknown CARC {carc}"))
    if contractual_seen and contracted is not None and paid < contracted:
        # Report it under CARC 45 when the payer used it, else the contractual code it did use.
        group, carc = next((gc for gc in contractual_seen if gc[1] == "45"), contractual_seen[0])
        out.append(Finding(
            kind="underpayment", line_payment_id=line_id, scope=scope, group_code=group, carc=carc, rarcs=rarcs,
            procedure_code=procedure, amount=contracted - paid, category=table.category("underpayment")))
    return out


# 277 claim status category codes (X12 code source 507).
_PENDING_PREFIX = "P"
_REJECTED = frozenset({"A3", "A6", "A7", "A8"})


def status_kind(category_code: str) -> str | None:
    """'pending' for P*, 'rejection' for A3/A6/A7/A8; finalized and acknowledged need no item
    (the 835 is the authoritative source for adjudicated claims)."""
    code = (category_code or "").upper()
    if code.startswith(_PENDING_PREFIX):
        return "pending"
    if code in _REJECTED:
        return "rejection"
    return None
