"""Read CAQH roster attestation status and expiring documents; optionally attest due providers.

There is no credentialing table in the store yet, so the result is the run summary (provider
ids and NPIs are public directory data, not PHI) plus page evidence of the roster.
"""
from __future__ import annotations

from datetime import date
from typing import Any

import structlog
from pydantic import BaseModel, ConfigDict, model_validator

from automations.base import RunContext
from automations.errors import InvalidParams
from automations.portal_session import checkpoint, open_session
from portals.capabilities import Credentialing, RosterRow

log = structlog.get_logger()

# CAQH reminds 15, 10 and 5 days before the 120-day deadline (PORTALS.md, caqh.org).
REMINDER_DAYS = 15


class CaqhStatusParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    # Provider ids to attest in this run (a submit per provider, never retried).
    attest: tuple[str, ...] = ()
    # Full name typed as the AAR signature; required when attesting.
    signer: str = ""

    @model_validator(mode="after")
    def _signer(self) -> "CaqhStatusParams":
        if self.attest and not self.signer.strip():
            raise ValueError("attesting needs a signer")
        return self


def classify(row: RosterRow, today: date) -> str:
    """current | due_soon | expired, from the due date (the portal's label is kept separately)."""
    if row.attestation_due_on is None:
        return "expired" if "expired" in row.status.lower() else "current"
    days = (row.attestation_due_on - today).days
    if days < 0:
        return "expired"
    return "due_soon" if days <= REMINDER_DAYS else "current"


class CaqhStatus:
    name = "caqh_status"
    checkpoints = ("session_open", "roster_read", "documents_read", "attested")
    capabilities = ("credentialing",)

    async def run(self, ctx: RunContext, params: dict[str, Any]) -> dict[str, Any]:
        try:
            p = CaqhStatusParams.model_validate(params)
        except ValueError as exc:
            raise InvalidParams(f"caqh_status: {exc}") from exc
        async with open_session(ctx) as session:
            await checkpoint(ctx, "session_open", session)
            cred: Credentialing = session.capability("credentialing")
            roster = await session.read(cred.roster)
            await checkpoint(ctx, "roster_read", session)
            documents = await session.read(cred.expiring_documents)
            await checkpoint(ctx, "documents_read", session)
            attested = []
            for provider_id in p.attest:
                conf = await cred.attest(provider_id, p.signer)  # a submit: no retry
                ctx.evidence.record_event("attested", "caqh.attested", details={
                    "provider_id": provider_id, "next_due_on": str(conf.next_due_on), "reference": conf.reference})
                await checkpoint(ctx, "attested", session)
                attested.append({"provider_id": provider_id, "next_due_on": str(conf.next_due_on)})
        providers = [{"provider_id": r.provider_id, "npi": r.npi, "portal_status": r.status,
                      "due_on": str(r.attestation_due_on) if r.attestation_due_on else None,
                      "state": classify(r, ctx.today)} for r in roster]
        summary = {
            "providers": providers,
            "counts": {s: sum(1 for x in providers if x["state"] == s) for s in ("current", "due_soon", "expired")},
            "expiring_documents": [{"provider_id": d.provider_id, "document": d.document,
                                    "expires_on": str(d.expires_on) if d.expires_on else None} for d in documents],
            "attested": attested,
        }
        log.info("caqh.status_read", run_id=ctx.run_id, account=ctx.account.alias, providers=len(providers),
                 **summary["counts"])
        return summary


CAQH_STATUS = CaqhStatus()
