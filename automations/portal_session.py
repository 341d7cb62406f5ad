"""Joins a run to its portal: opens a PortalSession with vault credentials and saved state."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from sqlalchemy import or_, select, update

from automations.base import RunContext
from core.store.db import Database
from core.store.models import PortalAccount
from core.vault import Vault
from portals import registry as portal_registry
from portals.errors import PortalError
from portals.session import PortalSession, StateStore
from portals.totp import DEFAULT_GUARD, TotpGuard

log = structlog.get_logger()

# The process's TOTP guard (clock, waits); each session binds it to the store's used steps, so one
# TOTP step logs in once per account across every worker on every machine.
GUARD: TotpGuard = DEFAULT_GUARD
# How long a landmark may take to show before the page counts as changed (or, if busy, as down).
TIMEOUT_MS = 10_000


class StoredTotpSteps:
    """Used TOTP steps in portal_accounts.totp_last_step, claimed by one conditional UPDATE."""

    def __init__(self, db: Database):
        self.db = db

    def last(self, account_key: str) -> int | None:
        with self.db.transaction() as s:
            return s.scalar(select(PortalAccount.totp_last_step).where(PortalAccount.id == int(account_key)))

    def claim(self, account_key: str, step: int) -> bool:
        with self.db.transaction() as s:
            later = or_(PortalAccount.totp_last_step.is_(None), PortalAccount.totp_last_step < step)
            return s.execute(update(PortalAccount).where(PortalAccount.id == int(account_key), later)
                             .values(totp_last_step=step)).rowcount == 1


def state_store(vault: Vault, account_id: int) -> StateStore:
    """The account's saved browser session, kept encrypted in the vault."""
    return StateStore(load=lambda: vault.get_storage_state(account_id),
                      save=lambda state: vault.put_storage_state(account_id, state))


@asynccontextmanager
async def open_session(ctx: RunContext, *, block_images: bool = True, **options: Any) -> AsyncIterator[PortalSession]:
    """A logged-in session for the run's account; on a portal failure, capture the page first.

    LayoutChanged and friends must leave evidence of what the page looked like (DESIGN §5),
    so the failing page is captured before the context closes, then the error propagates.
    """
    vault = Vault(ctx.db, ctx.keys)
    portal = portal_registry.get(ctx.account.portal)
    session = PortalSession(ctx.browser, portal, base_url=ctx.account.base_url,
                            credentials=vault.get_credentials(ctx.account.id),
                            state=state_store(vault, ctx.account.id), account_key=str(ctx.account.id),
                            totp=GUARD.using(StoredTotpSteps(ctx.db)), block_images=block_images, timeout_ms=TIMEOUT_MS,
                            on_failure=lambda failed, exc: capture_failure(ctx, failed, exc), **options)
    try:
        async with session:
            try:
                yield session
            except PortalError as exc:
                await capture_failure(ctx, session, exc)
                raise
    except PortalError as exc:
        exc.capability = session.capability_in_use or "login"  # what the fleet pauses on LayoutChanged
        log.warning("portal.failed", run_id=ctx.run_id, portal=portal.name, account=ctx.account.alias,
                    error=type(exc).__name__, consequence=exc.consequence.value)
        raise


async def capture_failure(ctx: RunContext, session: PortalSession, exc: PortalError) -> None:
    """Evidence of a failure: the page as it was and the typed error; never masks the error."""
    try:
        if session.context is not None:
            await ctx.evidence.capture_page(session.page, "failure")
        ctx.evidence.record_event("failure", "portal.failed",
                                  details={"error": type(exc).__name__, "consequence": exc.consequence.value,
                                           "landmark": getattr(exc, "landmark", "")})
    except Exception as capture_exc:  # evidence trouble must not hide the portal failure
        log.warning("evidence.failure_capture_failed", run_id=ctx.run_id, error=type(capture_exc).__name__)


async def checkpoint(ctx: RunContext, name: str, session: PortalSession | None = None, **links: Any) -> None:
    """Reach a named checkpoint: capture the page as evidence, then tell the fleet (crash point)."""
    if session is not None and session.context is not None:
        await ctx.evidence.capture_page(session.page, name, **links)
    ctx.checkpoint(name)
