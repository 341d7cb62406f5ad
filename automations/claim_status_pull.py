"""Pull claim statuses from a portal into claim_status_events (idempotent per portal row)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import structlog
from pydantic import BaseModel, ConfigDict, model_validator
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from automations.base import RunContext
from automations.errors import InvalidParams
from automations.portal_session import checkpoint, open_session
from core.store.models import Claim, ClaimStatusEvent, Payer
from portals.capabilities import ClaimQuery, ClaimStatusLookup, ClaimStatusRow
from portals.errors import CapabilityNotSupported, ClaimNotFound

log = structlog.get_logger()


class ClaimRef(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    claim_number: str = ""
    patient_control_number: str = ""
    member_id: str = ""
    # Payer code, for multi-payer portals (Availity); empty tries each payer.
    payer: str = ""
    service_from: date | None = None
    service_to: date | None = None


class ClaimStatusParams(BaseModel):
    """Either named claims, or a service-date range for the portal's bulk search (default: 30 days)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    claims: tuple[ClaimRef, ...] = ()
    service_from: date | None = None
    service_to: date | None = None
    lookback_days: int = 30
    # Payer codes this account serves; limits the per-claim fallback to those payers' claims.
    payers: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _one_mode(self) -> "ClaimStatusParams":
        if self.claims and (self.service_from or self.service_to):
            raise ValueError("give either claims or a service-date range, not both")
        return self


@dataclass(frozen=True)
class ClaimStatusSummary:
    looked_up: int
    recorded: int
    unchanged: int
    not_found: int

    def as_dict(self) -> dict[str, Any]:
        return {"looked_up": self.looked_up, "recorded": self.recorded, "unchanged": self.unchanged,
                "not_found": self.not_found}


def dedupe_key(account_id: int, row: ClaimStatusRow) -> str:
    """Same portal row twice -> same key: a status is recorded once until it changes."""
    parts = [str(account_id), row.claim_number, row.patient_control_number, row.category, row.status_text,
             str(row.billed), str(row.paid), str(row.finalized_on), ",".join(row.codes)]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def record_rows(ctx: RunContext, rows: list[ClaimStatusRow]) -> tuple[int, int]:
    """Write rows as ClaimStatusEvents in one transaction; returns (recorded, unchanged)."""
    recorded = unchanged = 0
    with ctx.db.transaction() as s:
        for row in rows:
            key = dedupe_key(ctx.account.id, row)
            if s.scalar(select(ClaimStatusEvent.id).where(ClaimStatusEvent.dedupe_key == key)) is not None:
                unchanged += 1
                continue
            s.add(ClaimStatusEvent(
                dedupe_key=key, claim_id=_claim_id(s, row), account_id=ctx.account.id, run_id=ctx.run_id,
                patient_control_number=row.patient_control_number or None,
                payer_claim_number=row.claim_number or None, category=row.category or "",
                status_code=row.status_code or None, status_text=row.status_text,
                billed=row.billed, paid=row.paid, as_of=ctx.today))
            recorded += 1
    return recorded, unchanged


def stored_claims(ctx: RunContext, since: date, to: date, payers: tuple[str, ...] = ()) -> list[ClaimQuery]:
    """Claims in the store with a first service date in [since, to] (of `payers`, if given), as queries."""
    query = (select(Claim.patient_control_number, Payer.code, Claim.dos_from)
             .join(Payer, Payer.id == Claim.payer_id)
             .where(Claim.dos_from >= since, Claim.dos_from <= to).order_by(Claim.dos_from, Claim.id))
    if payers:
        query = query.where(Payer.code.in_(payers))
    with ctx.db.transaction() as s:
        found = s.execute(query).all()
    return [ClaimQuery(claim_number=number, payer=payer) for number, payer, _ in found]


def _claim_id(s, row: ClaimStatusRow) -> int | None:
    """Link to our claim by patient control number only when that is unambiguous."""
    if not row.patient_control_number:
        return None
    ids = s.scalars(select(Claim.id).where(Claim.patient_control_number == row.patient_control_number).limit(2)).all()
    return ids[0] if len(ids) == 1 else None


class ClaimStatusPull:
    name = "claim_status_pull"
    checkpoints = ("session_open", "results_read", "recorded")

    async def run(self, ctx: RunContext, params: dict[str, Any]) -> dict[str, Any]:
        try:
            p = ClaimStatusParams.model_validate(params)
        except ValueError as exc:
            raise InvalidParams(f"claim_status_pull: {exc}") from exc
        rows: list[ClaimStatusRow] = []
        not_found = 0
        async with open_session(ctx) as session:
            await checkpoint(ctx, "session_open", session)
            lookup: ClaimStatusLookup = session.capability("claim_status")
            if p.claims:
                for ref in p.claims:
                    query = ClaimQuery(**ref.model_dump())
                    try:
                        rows.append(await session.read(lambda q=query: lookup.lookup(q)))
                        await ctx.evidence.capture_page(session.page, "claim_read")
                    except ClaimNotFound:
                        not_found += 1
            else:
                to = p.service_to or ctx.today
                since = p.service_from or to - timedelta(days=p.lookback_days)
                try:
                    rows = await session.read(lambda: lookup.search(since, to))
                except CapabilityNotSupported:
                    # No date-range search on this portal: look up the claims we billed in the range.
                    for query in stored_claims(ctx, since, to, p.payers):
                        try:
                            rows.append(await session.read(lambda q=query: lookup.lookup(q)))
                        except ClaimNotFound:
                            not_found += 1
            await checkpoint(ctx, "results_read", session)
        try:
            recorded, unchanged = record_rows(ctx, rows)
        except IntegrityError:
            # A concurrent run recorded the same rows first; recounting makes this run a no-op.
            recorded, unchanged = record_rows(ctx, rows)
        ctx.checkpoint("recorded")
        summary = ClaimStatusSummary(len(rows) + not_found, recorded, unchanged, not_found)
        log.info("claim_status.pulled", run_id=ctx.run_id, account=ctx.account.alias, **summary.as_dict())
        return summary.as_dict()


CLAIM_STATUS_PULL = ClaimStatusPull()
