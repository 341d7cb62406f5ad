"""Open a worker's runtime and backend, and submit runs through it: the fleet's public entry."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol

from core.config import Settings
from core.crypto import KeyRing
from core.store.db import Database
from fleet import runs
from fleet.browser_pool import BrowserPool
from fleet.config import FleetConfig
from fleet.rate_limit import PortalRateLimits
from fleet.runtime import FleetRuntime


class Backend(Protocol):
    """What the local and Procrastinate backends both offer (one contract test suite)."""

    name: str
    runtime: FleetRuntime

    async def dispatch(self, run_id: str) -> None: ...
    async def run_until_idle(self) -> None: ...


def make_backend(runtime: FleetRuntime, name: str | None = None) -> Any:
    name = name or runtime.config.backend
    if name == "procrastinate":
        from fleet.procrastinate_backend import ProcrastinateBackend

        return ProcrastinateBackend(runtime)
    from fleet.local import LocalBackend

    return LocalBackend(runtime)


async def submit(backend: Any, automation: str, account_alias: str, params: dict | None = None,
                 priority: int = runs.Priority.ON_DEMAND, dedupe_key: str | None = None) -> str:
    """Write the run row (durable first), then tell the backend; returns the run id."""
    run_id = runs.submit_run(backend.runtime.db, automation, account_alias, params, priority, dedupe_key,
                             backend=backend.name)
    await backend.dispatch(run_id)
    return run_id


@asynccontextmanager
async def open_fleet(db: Database, settings: Settings, keys: KeyRing, config: FleetConfig, *,
                     pool: BrowserPool | None = None, backend: str | None = None,
                     **runtime_kwargs: Any) -> AsyncIterator[Any]:
    """A backend with its runtime (browser pool, rate limits); everything closed on exit."""
    own_pool = pool is None
    if pool is None:
        pool = await BrowserPool.chromium(executable=settings.browser_executable,
                                          max_contexts=config.max_contexts, recycle_after=config.recycle_after)
    runtime = FleetRuntime(db=db, settings=settings, keys=keys, config=config, pool=pool,
                           limits=PortalRateLimits(db, config.rate_limits), **runtime_kwargs)
    chosen = make_backend(runtime, backend)
    try:
        yield chosen
    finally:
        close = getattr(chosen, "close", None)
        if close is not None:
            await close()
        if own_pool:
            await pool.close()
