"""Everything a worker process shares between runs, and the execution of one run."""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import structlog
from sqlalchemy import select

from automations.base import Account, RunContext
from core.config import Settings
from core.crypto import KeyRing
from core.errors import DatabaseUnavailable
from core.store.db import Database
from core.store.models import PortalAccount
from fleet import catalog, runs
from fleet.browser_pool import BrowserPool
from fleet.config import FleetConfig
from fleet.crash import CrashInjector
from fleet.errors import BrowserCrashed, RunTimedOut, UnknownAccount
from fleet.outcomes import classify
from fleet.rate_limit import PortalRateLimits

log = structlog.get_logger()

EvidenceFactory = Callable[["FleetRuntime", str, Account], Any]


@dataclass(frozen=True)
class RunEvent:
    """What a watcher of this process's runs hears: a run started, advanced or ended."""

    run_id: str
    automation: str
    account: str  # alias
    state: str  # runs.RUNNING, then runs.SUCCEEDED or runs.FAILED
    unit: str = ""  # what the run counts, as its automation names it ("claims", "files")
    done: int = 0
    total: int | None = None
    error_type: str | None = None


def default_evidence(runtime: "FleetRuntime", run_id: str, account: Account) -> Any:
    """The evidence package's recorder for this run."""
    from evidence.blobs import LocalBlobStore
    from evidence.recorder import EvidenceRecorder

    return EvidenceRecorder(runtime.db, LocalBlobStore(runtime.settings.blob_dir, runtime.keys),
                            run_id=run_id, portal=account.portal, account_alias=account.alias, actor="fleet")


@dataclass
class FleetRuntime:
    """Shared per worker process: store, keys, browser pool, rate limits, crash points, clock."""

    db: Database
    settings: Settings
    keys: KeyRing
    config: FleetConfig
    pool: BrowserPool
    limits: PortalRateLimits
    crash: CrashInjector = field(default_factory=CrashInjector.from_env)
    evidence_factory: EvidenceFactory = default_evidence
    today: Callable[[], date] = date.today
    resolve: Callable[[str], Any] = catalog.resolve
    # Hears each run's start, progress and end (a progress display); runs never wait on it.
    watch: Callable[[RunEvent], None] = lambda event: None


def load_account(db: Database, account_id: int | None) -> Account:
    with db.transaction() as s:
        row = s.scalar(select(PortalAccount).where(PortalAccount.id == account_id))
        if row is None or not row.enabled:
            raise UnknownAccount(f"portal account {account_id} is missing or disabled")
        return Account(id=row.id, alias=row.alias, portal=row.portal, base_url=row.base_url)


async def execute(runtime: FleetRuntime, run: runs.RunInfo) -> str:
    """Run an already-begun run to a recorded end state; returns that state.

    Every failure becomes a typed `failed` row; only a dead database leaves the row `running`
    (there is nowhere to write), and start-up recovery picks it up.
    """
    db = runtime.db
    bound = log.bind(run_id=run.id, automation=run.automation, attempt=run.attempts)
    bound.info("run.started", action="run")
    alias = ""

    def progress(unit: str, done: int, total: int | None = None) -> None:
        runtime.watch(RunEvent(run.id, run.automation, alias, runs.RUNNING, unit, done, total))

    try:
        automation = runtime.resolve(run.automation)
        account = load_account(db, run.account_id)
        alias = account.alias
        progress("", 0)
        evidence = runtime.evidence_factory(runtime, run.id, account)

        def checkpoint(name: str) -> None:
            runs.record_checkpoint(db, run.id, name)
            bound.info("run.checkpoint", action="checkpoint", checkpoint=name)
            runtime.crash.reached(run.automation, name)

        limiter = runtime.limits.for_portal(account.portal)
        async with runtime.pool.lease(limiter) as browser:
            ctx = RunContext(run_id=run.id, account=account, db=db, settings=runtime.settings,
                             keys=runtime.keys, browser=browser, evidence=evidence,
                             checkpoint=checkpoint, today=runtime.today(), progress=progress)
            try:
                result = await asyncio.wait_for(automation.run(ctx, dict(run.params)),
                                                timeout=runtime.config.run_timeout_s)
            except asyncio.TimeoutError:
                raise RunTimedOut(f"run exceeded {runtime.config.run_timeout_s:.0f}s") from None
            except Exception as exc:
                if runtime.pool.lost(browser):
                    raise BrowserCrashed() from exc
                if browser.limiter_error is not None:
                    # A request was refused because its rate limit could not be counted: that is the cause.
                    raise browser.limiter_error from exc
                raise
        runs.succeed(db, run.id, _jsonable(result))
        bound.info("run.succeeded", action="run")
        runtime.watch(RunEvent(run.id, run.automation, alias, runs.SUCCEEDED))
        return runs.SUCCEEDED
    except DatabaseUnavailable:
        bound.error("run.unrecorded", action="run", reason="database unreachable")
        return runs.RUNNING
    except Exception as exc:  # noqa: BLE001 - every failure must end as a typed row
        outcome = classify(exc)
        try:
            runs.fail(db, run.id, outcome.error_type, outcome.message)
        except DatabaseUnavailable:
            bound.error("run.unrecorded", action="run", reason="database unreachable")
            return runs.RUNNING
        bound.warning("run.failed", action="run", error_type=outcome.error_type, consequence=outcome.consequence)
        runtime.watch(RunEvent(run.id, run.automation, alias, runs.FAILED, error_type=outcome.error_type))
        return runs.FAILED


def _jsonable(result: Any) -> dict[str, Any]:
    if result is None:
        return {}
    if not isinstance(result, dict):
        return {"value": str(result)}
    return result
