"""Download ERAs (X12 835), and claim acknowledgments (277CA) where the portal serves them, and ingest
them exactly as files from the inbox are (277CA rejections then route to the billing-edits queue)."""
from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

import structlog
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from automations.base import RunContext
from automations.errors import InvalidParams
from automations.portal_session import checkpoint, open_session
from core.store.models import EdiFile, Remittance
from portals.capabilities import AcknowledgmentDownloads, AcknowledgmentRow, RemittanceDownloads, RemittanceRow

log = structlog.get_logger()


class EraPullParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    # Remittances paid on or after this date; default: `lookback_days` before the run's today.
    since: date | None = None
    lookback_days: int = 14
    # Re-download remits whose trace number is already stored (ingestion stays idempotent either way).
    refetch_known: bool = False
    # Also pull the 277CA acknowledgments, on portals that list them (Availity's EDI Files).
    acknowledgments: bool = True


def known_traces(ctx: RunContext, rows: list[RemittanceRow]) -> set[str]:
    """Check/EFT numbers (TRN02) already ingested: no need to download those again."""
    numbers = [r.check_number for r in rows if r.check_number]
    if not numbers:
        return set()
    with ctx.db.transaction() as s:
        return set(s.scalars(select(Remittance.trace_number).where(Remittance.trace_number.in_(numbers))))


def known_files(ctx: RunContext, rows: list[AcknowledgmentRow]) -> set[str]:
    """Acknowledgment file names already ingested (the portal's names are stable keys)."""
    names = [r.file_name for r in rows]
    if not names:
        return set()
    with ctx.db.transaction() as s:
        return set(s.scalars(select(EdiFile.filename).where(EdiFile.filename.in_(names))))


class EraPull:
    name = "era_pull"
    checkpoints = ("session_open", "remits_listed", "era_downloaded", "era_ingested")
    capabilities = ("remittances", "acknowledgments")

    async def run(self, ctx: RunContext, params: dict[str, Any]) -> dict[str, Any]:
        from core.ingest import ingest_bytes  # the same ingestion as files dropped in the inbox

        try:
            p = EraPullParams.model_validate(params)
        except ValueError as exc:
            raise InvalidParams(f"era_pull: {exc}") from exc
        since = p.since or ctx.today - timedelta(days=p.lookback_days)
        downloaded = skipped = 0
        results: list[str] = []
        async with open_session(ctx) as session:
            await checkpoint(ctx, "session_open", session)
            remits: RemittanceDownloads = session.capability("remittances")
            rows = await session.read(lambda: remits.list_remittances(since))
            await checkpoint(ctx, "remits_listed", session)
            known = set() if p.refetch_known else known_traces(ctx, rows)
            for done, row in enumerate(rows):
                ctx.progress("ERAs", done, len(rows))
                if row.check_number in known:
                    skipped += 1
                    continue
                file = await session.read(lambda r=row: remits.download_835(r))
                downloaded += 1
                ctx.evidence.capture_file(file.data, "era_downloaded", name=file.filename,
                                          media_type="application/edi-x12")
                ctx.checkpoint("era_downloaded")
                # In a thread: the file's parse and transaction would otherwise hold up every other
                # run on this worker's event loop (their pages wait on it) for as long as they take.
                outcome = await asyncio.to_thread(ingest_bytes, ctx.db, file.data, filename=file.filename,
                                                  provenance=f"portal:{ctx.account.alias}")
                results.append(_outcome_name(outcome))
                ctx.checkpoint("era_ingested")
            ctx.progress("ERAs", len(rows), len(rows))
            acks = None
            if p.acknowledgments and session.portal.supports("acknowledgments"):
                acks = await self._acknowledgments(ctx, session, since, p.refetch_known)
        summary = {"listed": len(rows), "downloaded": downloaded, "skipped_known": skipped,
                   "ingest_outcomes": {k: results.count(k) for k in sorted(set(results))}}
        if acks is not None:
            summary["acks_listed"], summary["acks_downloaded"] = acks
        log.info("era.pulled", run_id=ctx.run_id, account=ctx.account.alias, listed=len(rows),
                 downloaded=downloaded, skipped_known=skipped)
        return summary


    @staticmethod
    async def _acknowledgments(ctx: RunContext, session, since: date, refetch: bool) -> tuple[int, int]:
        """Download and ingest the 277CAs not ingested yet; (listed, downloaded). Ingestion is idempotent."""
        from core.ingest import ingest_bytes

        acks: AcknowledgmentDownloads = session.capability("acknowledgments")
        rows = await session.read(lambda: acks.list_acknowledgments(since))
        known = set() if refetch else known_files(ctx, rows)
        downloaded = 0
        for done, row in enumerate(rows):
            ctx.progress("277CA files", done, len(rows))
            if row.file_name in known:
                continue
            file = await session.read(lambda r=row: acks.download_277ca(r))
            downloaded += 1
            ctx.evidence.capture_file(file.data, "ack_downloaded", name=file.filename, media_type="application/edi-x12")
            await asyncio.to_thread(ingest_bytes, ctx.db, file.data, filename=file.filename,
                                    provenance=f"portal:{ctx.account.alias}")
        ctx.progress("277CA files", len(rows), len(rows))
        log.info("era.acks_pulled", run_id=ctx.run_id, account=ctx.account.alias, listed=len(rows),
                 downloaded=downloaded)
        return len(rows), downloaded


def _outcome_name(outcome: Any) -> str:
    """A short word for what ingestion did (its result type belongs to core.ingest)."""
    for attr in ("status", "outcome", "state"):
        value = getattr(outcome, attr, None)
        if isinstance(value, str):
            return value
    if isinstance(outcome, dict):
        return str(outcome.get("status", "ingested"))
    return "ingested"


ERA_PULL = EraPull()
