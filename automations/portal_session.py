"""Joins a run to its portal: opens a PortalSession with vault credentials and saved state."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog

from automations.base import RunContext
from core.vault import Vault
from portals import registry as portal_registry
from portals.errors import PortalError
from portals.session import PortalSession, StateStore
from portals.totp import DEFAULT_GUARD, TotpGuard

log = structlog.get_logger()

# The process's TOTP guard: one login per TOTP step per account across every run in this worker.
GUARD: TotpGuard = DEFAULT_GUARD
# How long a landmark may take to show before the page counts as changed (or, if busy, as down).
TIMEOUT_MS = 10_000


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
                            totp=GUARD, block_images=block_images, timeout_ms=TIMEOUT_MS,
                            on_failure=lambda failed, exc: capture_failure(ctx, failed, exc), **options)
    try:
        async with session:
            try:
                yield session
            except PortalError as exc:
                await capture_failure(ctx, session, exc)
                raise
    except PortalError as exc:
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
