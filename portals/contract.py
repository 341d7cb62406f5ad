"""Contract harness: run every capability a portal declares against a sandbox and check the types.

Non-destructive: it reads, lists and downloads; it never submits. `payerfleet portals new`
packages are born with a test that calls this, so a new portal is checked the same way as
the built-in ones.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from typing import Any

from portals.capabilities import (
    ClaimQuery,
    ClaimStatusRow,
    Download,
    ExpiringDocument,
    LetterRow,
    RemittanceRow,
    RosterRow,
    SubmittedAppealRow,
)
from portals.errors import ClaimNotFound, PortalError


@dataclass(frozen=True)
class ContractData:
    """Facts the sandbox guarantees, used to exercise each capability."""

    known_claim: ClaimQuery | None = None
    missing_claim: ClaimQuery | None = None
    service_from: date | None = None
    service_to: date | None = None
    since: date | None = None


@dataclass(frozen=True)
class ContractResult:
    capability: str
    check: str
    ok: bool
    detail: str = ""


def _typed(row: Any, cls: type) -> str:
    """'' if row is a cls whose Decimal/date/str fields hold those types, else what is wrong."""
    if not isinstance(row, cls):
        return f"expected {cls.__name__}, got {type(row).__name__}"
    for f in fields(cls):
        value = getattr(row, f.name)
        hint = str(f.type)
        if value is None:
            continue
        if "Decimal" in hint and not isinstance(value, Decimal):
            return f"{cls.__name__}.{f.name} is {type(value).__name__}, not Decimal"
        if hint.startswith("date") and not isinstance(value, date):
            return f"{cls.__name__}.{f.name} is {type(value).__name__}, not date"
        if hint == "str" and not isinstance(value, str):
            return f"{cls.__name__}.{f.name} is {type(value).__name__}, not str"
    return ""


class _Run:
    def __init__(self) -> None:
        self.results: list[ContractResult] = []

    async def check(self, capability: str, name: str, probe: Callable[[], Awaitable[str]]) -> None:
        try:
            problem = await probe()
        except PortalError as exc:
            problem = f"{type(exc).__name__}: {exc}"
        self.results.append(ContractResult(capability, name, not problem, problem))


def _all_typed(rows: Any, cls: type) -> str:
    if not isinstance(rows, list):
        return f"expected a list, got {type(rows).__name__}"
    return next((p for p in (_typed(r, cls) for r in rows) if p), "")


async def run_contract(session, data: ContractData) -> list[ContractResult]:
    """Every declared capability, each check recorded; never raises for a failed check."""
    run = _Run()
    caps = session.portal.capabilities
    if "claim_status" in caps:
        lookup = session.capability("claim_status")
        if data.known_claim is not None:
            async def known() -> str:
                row = await session.read(lambda: lookup.lookup(data.known_claim))
                problem = _typed(row, ClaimStatusRow)
                if not problem and not (row.status_text or row.category):
                    problem = "row has neither a status category nor status text"
                return problem
            await run.check("claim_status", "lookup a known claim", known)
        if data.missing_claim is not None:
            async def missing() -> str:
                try:
                    await session.read(lambda: lookup.lookup(data.missing_claim))
                except ClaimNotFound:
                    return ""
                return "a missing claim did not raise ClaimNotFound"
            await run.check("claim_status", "missing claim is ClaimNotFound", missing)
        if data.service_from and data.service_to:
            async def search() -> str:
                rows = await session.read(lambda: lookup.search(data.service_from, data.service_to))
                return _all_typed(rows, ClaimStatusRow) or ("" if rows else "bulk search found no claims")
            await run.check("claim_status", "bulk search by service dates", search)
    if "remittances" in caps and data.since:
        remits = session.capability("remittances")

        async def listing() -> str:
            rows = await session.read(lambda: remits.list_remittances(data.since))
            problem = _all_typed(rows, RemittanceRow) or ("" if rows else "no remittances listed")
            if problem:
                return problem
            file = await session.read(lambda: remits.download_835(rows[0]))
            if not isinstance(file, Download) or not file.data.startswith(b"ISA") or b"ST*835" not in file.data:
                return "download_835 did not return an X12 835"
            return ""
        await run.check("remittances", "list and download an 835", listing)
    if "appeals" in caps:
        appeals = session.capability("appeals")

        async def submitted() -> str:
            return _all_typed(await session.read(lambda: appeals.list_submitted(data.since)), SubmittedAppealRow)
        await run.check("appeals", "list submitted appeals", submitted)
    if "letters" in caps:
        letters = session.capability("letters")

        async def letter() -> str:
            rows = await session.read(lambda: letters.list_letters(data.since))
            problem = _all_typed(rows, LetterRow)
            if problem or not rows:
                return problem or "no letters listed"
            file = await session.read(lambda: letters.download_letter(rows[0]))
            return "" if isinstance(file, Download) and file.data else "download_letter returned no bytes"
        await run.check("letters", "list and download a letter", letter)
    if "credentialing" in caps:
        cred = session.capability("credentialing")

        async def roster() -> str:
            rows = await session.read(cred.roster)
            return _all_typed(rows, RosterRow) or ("" if rows else "empty roster")
        await run.check("credentialing", "roster", roster)

        async def documents() -> str:
            return _all_typed(await session.read(cred.expiring_documents), ExpiringDocument)
        await run.check("credentialing", "expiring documents", documents)
    return run.results
