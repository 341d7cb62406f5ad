"""Everything a worker process shares between runs, and the execution of one run."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import structlog
from sqlalchemy import select

from automations.base import Account, RunContext
from core import alerts, notify as notifiers
from core.config import Settings
from core.crypto import KeyRing
from core.errors import DatabaseUnavailable
from core.store.db import Database
from core.store.models import PortalAccount
from fleet import catalog, leases, runs
from fleet.browser_pool import BrowserPool
from fleet.config import FleetConfig
from fleet.crash import CrashInjector
from fleet.errors import BrowserCrashed, CapabilityPaused, RunTimedOut
from fleet.outcomes import Outcome, carry_out, classify
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
    # This process's name on the leases it holds (fleet/leases.py).
    worker_id: str = field(default_factory=leases.new_worker_id)
    # Sends raised alerts through the notifiers of payerfleet.toml's [alerts] (after commit).
    notify: Callable[[list[Any]], Any] = field(default=lambda raised: notifiers.notify(notifiers.load_alerts_config(),
                                                                                      raised))
    # Injected so tests can drive the outage backoff without waiting.
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep


def load_account(db: Database, account_id: int | None) -> Account:
    """The run's account, refused (typed) when it is disabled, removed or not authorised."""
    with db.transaction() as s:
        row = s.scalar(select(PortalAccount).where(PortalAccount.id == account_id))
        runs.check_usable(row, row.alias if row is not None else f"#{account_id}")
        return Account(id=row.id, alias=row.alias, portal=row.portal, base_url=row.base_url)


@dataclass(frozen=True)
class Ended:
    """How an attempt ended, before it is written down."""

    # succeeded | failed | requeue (the database went away mid-run: run it again when it returns)
    state: str
    result: dict[str, Any] = field(default_factory=dict)
    outcome: Outcome | None = None
    account: Account | None = None
    # The portal capability in use when a portal error struck ("login" before any).
    capability: str | None = None


async def execute(runtime: FleetRuntime, run: runs.RunInfo) -> str:
    """Run a claimed run to a recorded end state; returns that state.

    The run's lease is renewed while it executes and until its outcome is written; if the lease is
    lost (another worker recovered the run), the attempt is cancelled and writes nothing. Every
    failure becomes a typed `failed` row with its consequence carried out; an outage of the database
    sends the run back to the queue once the database returns. If the outcome still cannot be written
    after `run_timeout_s`, the row keeps its lapsing lease and recovery runs it again.
    """
    cfg = runtime.config
    bound = log.bind(run_id=run.id, automation=run.automation, attempt=run.attempts)
    work = asyncio.ensure_future(_attempt(runtime, run, bound))
    lost = asyncio.Event()

    def on_lost() -> None:
        lost.set()
        work.cancel()

    heartbeat = asyncio.create_task(leases.keep_alive(runtime.db, run.id, runtime.worker_id, cfg.stalled_after_s,
                                                      cfg.heartbeat_s, on_lost))
    try:
        try:
            ended = await work
        except asyncio.CancelledError:
            if lost.is_set():
                return "lost"
            raise
        return await _record(runtime, run, ended, bound)
    finally:
        heartbeat.cancel()
        await asyncio.gather(heartbeat, return_exceptions=True)


async def _attempt(runtime: FleetRuntime, run: runs.RunInfo, bound: Any) -> Ended:
    db = runtime.db
    bound.info("run.started", action="run")
    account: Account | None = None

    def progress(unit: str, done: int, total: int | None = None) -> None:
        runtime.watch(RunEvent(run.id, run.automation, account.alias if account else "", runs.RUNNING, unit, done,
                               total))

    try:
        automation = runtime.resolve(run.automation)
        account = load_account(db, run.account_id)
        progress("", 0)
        capabilities = ("login", *getattr(automation, "capabilities", ()))
        stopped = alerts.paused(db, account.portal, capabilities)
        if stopped is not None:
            raise CapabilityPaused(f"{stopped} is paused on {account.portal} after a layout change; "
                                   f"acknowledge its alert (`payerfleet alerts list`) to resume")
        evidence = runtime.evidence_factory(runtime, run.id, account)

        def checkpoint(name: str) -> None:
            runs.record_checkpoint(db, run.id, runtime.worker_id, name)
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
        return Ended(runs.SUCCEEDED, result=_jsonable(result), account=account)
    except DatabaseUnavailable:
        return Ended("requeue")
    except Exception as exc:  # noqa: BLE001 - every failure must end as a typed row
        return Ended(runs.FAILED, outcome=classify(exc), account=account, capability=getattr(exc, "capability", None))


async def _record(runtime: FleetRuntime, run: runs.RunInfo, ended: Ended, bound: Any) -> str:
    """Write the attempt's end, retrying with backoff while the database is away."""
    deadline = time.monotonic() + runtime.config.run_timeout_s
    wait = 0.5
    while True:
        try:
            state = await asyncio.to_thread(_write, runtime, run, ended, bound)
        except DatabaseUnavailable:
            if time.monotonic() + wait > deadline:
                bound.error("run.unrecorded", action="run", reason="database unreachable; recovery will rerun it")
                return runs.RUNNING
            bound.warning("run.record_waiting", action="run", reason="database unreachable", retry_in_s=wait)
            await runtime.sleep(wait)
            wait = min(wait * 2, 15.0)
            continue
        if state in (runs.SUCCEEDED, runs.FAILED):
            runtime.watch(RunEvent(run.id, run.automation, ended.account.alias if ended.account else "", state,
                                   error_type=ended.outcome.error_type if ended.outcome else None))
        return state


def _write(runtime: FleetRuntime, run: runs.RunInfo, ended: Ended, bound: Any) -> str:
    db, worker = runtime.db, runtime.worker_id
    if ended.state == runs.SUCCEEDED:
        if not runs.succeed(db, run.id, worker, ended.result):
            bound.error("run.lease_lost", action="record")
            return "lost"
        bound.info("run.succeeded", action="run")
        return runs.SUCCEEDED
    if ended.state == "requeue":
        runs.release(db, run.id, worker)
        bound.warning("run.requeued", action="run", reason="database unreachable during the run")
        return runs.QUEUED
    outcome = ended.outcome
    assert outcome is not None
    with db.transaction() as s:
        if not runs.fail_in(s, run.id, outcome.error_type, outcome.message, worker_id=worker):
            bound.error("run.lease_lost", action="record")
            return "lost"
        raised = [] if ended.account is None else carry_out(
            s, outcome, run_id=run.id, automation=run.automation, account=ended.account, capability=ended.capability)
    bound.warning("run.failed", action="run", error_type=outcome.error_type, consequence=outcome.consequence)
    if raised:
        runtime.notify(raised)
    return runs.FAILED


def _jsonable(result: Any) -> dict[str, Any]:
    if result is None:
        return {}
    if not isinstance(result, dict):
        return {"value": str(result)}
    return result
