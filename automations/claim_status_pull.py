"""Pull claim statuses from a portal into claim_status_events (idempotent per portal row)."""
from __future__ import annotations

import hashlib
from collections.abc import Callable
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
    # Portal work: member searches run, and claims looked up alone (each a detail page).
    member_searches: int
    single_lookups: int

    def as_dict(self) -> dict[str, Any]:
        return {"looked_up": self.looked_up, "recorded": self.recorded, "unchanged": self.unchanged,
                "not_found": self.not_found, "member_searches": self.member_searches,
                "single_lookups": self.single_lookups}


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


@dataclass(frozen=True)
class StoredClaim:
    """A claim we billed, with what a member search needs (member id and date of birth may be missing)."""

    number: str
    payer: str
    member_id: str
    patient_dob: date | None
    dos_from: date | None
    dos_to: date | None

    def query(self) -> ClaimQuery:
        return ClaimQuery(claim_number=self.number, payer=self.payer)


def stored_claims(ctx: RunContext, since: date, to: date, payers: tuple[str, ...] = ()) -> list[StoredClaim]:
    """Claims in the store with a first service date in [since, to] (of `payers`, if given)."""
    query = (select(Claim.patient_control_number, Payer.code, Claim.member_id, Claim.patient_dob, Claim.dos_from,
                    Claim.dos_to)
             .join(Payer, Payer.id == Claim.payer_id)
             .where(Claim.dos_from >= since, Claim.dos_from <= to).order_by(Claim.dos_from, Claim.id))
    if payers:
        query = query.where(Payer.code.in_(payers))
    with ctx.db.transaction() as s:
        found = s.execute(query).all()
    return [StoredClaim(number, payer, (member or "").strip(), dob, dos_from, dos_to)
            for number, payer, member, dob, dos_from, dos_to in found]


def member_groups(claims: list[StoredClaim]) -> tuple[dict[tuple[str, str, date], list[StoredClaim]], list[StoredClaim]]:
    """Claims grouped by (payer, member id, date of birth) for one member search each; the rest alone."""
    groups: dict[tuple[str, str, date], list[StoredClaim]] = {}
    alone: list[StoredClaim] = []
    for c in claims:
        if c.member_id and c.patient_dob is not None and c.dos_from is not None:
            groups.setdefault((c.payer, c.member_id, c.patient_dob), []).append(c)
        else:
            alone.append(c)
    return groups, alone


def _claim_id(s, row: ClaimStatusRow) -> int | None:
    """Link to our claim by patient control number only when that is unambiguous."""
    if not row.patient_control_number:
        return None
    ids = s.scalars(select(Claim.id).where(Claim.patient_control_number == row.patient_control_number).limit(2)).all()
    return ids[0] if len(ids) == 1 else None


class ClaimStatusPull:
    name = "claim_status_pull"
    checkpoints = ("session_open", "results_read", "recorded")
    capabilities = ("claim_status",)

    async def run(self, ctx: RunContext, params: dict[str, Any]) -> dict[str, Any]:
        try:
            p = ClaimStatusParams.model_validate(params)
        except ValueError as exc:
            raise InvalidParams(f"claim_status_pull: {exc}") from exc
        rows: list[ClaimStatusRow] = []
        not_found = singles = searches = settled = asked = 0

        def progress(claims: int) -> None:
            nonlocal settled
            settled += claims
            ctx.progress("claims", settled, asked)

        async with open_session(ctx) as session:
            await checkpoint(ctx, "session_open", session)
            lookup: ClaimStatusLookup = session.capability("claim_status")

            async def one(query: ClaimQuery) -> None:
                nonlocal not_found, singles
                singles += 1
                try:
                    rows.append(await session.read(lambda: lookup.lookup(query)))
                    await ctx.evidence.capture_page(session.page, "claim_read")
                except ClaimNotFound:
                    not_found += 1
                progress(1)

            if p.claims:
                asked = len(p.claims)
                for ref in p.claims:
                    await one(ClaimQuery(**ref.model_dump()))
            else:
                to = p.service_to or ctx.today
                since = p.service_from or to - timedelta(days=p.lookback_days)
                try:
                    rows = await session.read(lambda: lookup.search(since, to))
                except CapabilityNotSupported:
                    # No date-range search on this portal: look up the claims we billed in the range,
                    # one member search per patient where the portal has it.
                    billed = stored_claims(ctx, since, to, p.payers)
                    asked = len(billed)
                    left, searches = await self._by_member(ctx, session, lookup, billed, rows, progress)
                    for query in left:
                        await one(query)
                else:
                    asked = len(rows)
                    progress(len(rows))
            await checkpoint(ctx, "results_read", session)
        try:
            recorded, unchanged = record_rows(ctx, rows)
        except IntegrityError:
            # A concurrent run recorded the same rows first; recounting makes this run a no-op.
            recorded, unchanged = record_rows(ctx, rows)
        ctx.checkpoint("recorded")
        summary = ClaimStatusSummary(len(rows) + not_found, recorded, unchanged, not_found, searches, singles)
        log.info("claim_status.pulled", run_id=ctx.run_id, account=ctx.account.alias, **summary.as_dict())
        return summary.as_dict()

    @staticmethod
    async def _by_member(ctx: RunContext, session, lookup, claims: list[StoredClaim], rows: list[ClaimStatusRow],
                         progress: Callable[[int], None]) -> tuple[list[ClaimQuery], int]:
        """Member searches append the rows of our claims they list; returns what still needs a lookup
        and how many searches ran.

        A claim a search does not list, and one listed only as "Rejected" (the list has no
        acknowledgment category, which routing needs), is looked up alone. Listed claims we did not
        bill in the range are not recorded: the pull records the claims it was asked about.
        """
        groups, alone = member_groups(claims)
        left = [c.query() for c in alone]
        if getattr(lookup, "search_member", None) is None:
            return left + [c.query() for g in groups.values() for c in g], 0

        async def evidence() -> None:
            await ctx.evidence.capture_page(session.page, "results_page")

        for index, ((payer, member, dob), group) in enumerate(groups.items()):
            try:
                found = await session.read(lambda m=member, d=dob, g=group, py=payer: lookup.search_member(
                    m, d, min(c.dos_from for c in g), max(c.dos_to or c.dos_from for c in g),
                    payer=py, on_page=evidence))
            except CapabilityNotSupported:
                return left + [c.query() for g in list(groups.values())[index:] for c in g], index
            listed = {r.claim_number: r for r in found} | {r.patient_control_number: r for r in found}
            before = len(rows)
            for c in group:
                row = listed.get(c.number)
                if row is None or (row.status_text == "Rejected" and not row.category):
                    left.append(c.query())
                else:
                    rows.append(row)
            progress(len(rows) - before)
        log.info("claim_status.member_searches", run_id=ctx.run_id, searches=len(groups), alone=len(left))
        return left, len(groups)


CLAIM_STATUS_PULL = ClaimStatusPull()
