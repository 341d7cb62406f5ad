"""The distributed backend: Procrastinate jobs on PostgreSQL, `payerfleet worker` on any machine.

The run row stays the source of truth; a Procrastinate job only carries its run id. Design
choices around Procrastinate's sharp edges:
- No `queueing_lock`: duplicates are refused by automation_runs.dedupe_key, so a retried or
  recovered job never collides with a queueing lock (procrastinate#1446, #1543).
- No Procrastinate retries (`retry=False`), hence no job waiting in backoff with a future
  `scheduled_at` while holding its account `lock` and blocking every ready job of that account
  (procrastinate#1599). Transient read failures are retried inside the run (tenacity); a failed
  run is a typed row that the next schedule or a person re-submits.
- A job carries `lock=account:<id>`: one portal session per account across all workers.
- Stalled jobs (worker gone silent) are put back to `todo` immediately by a periodic task with
  neither lock nor queueing lock, so the recovery task itself can never be blocked (#1408).
- A run row whose job was never deferred (process died between the two commits) is found and
  deferred by the same periodic task.
"""
from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import select, text

from core.errors import DatabaseUnavailable
from core.store.models import AutomationRun, utcnow
from fleet import leases, runs
from fleet.errors import BackendUnavailable
from fleet.procrastinate_schema import ensure_schema
from fleet.runtime import FleetRuntime, execute

log = structlog.get_logger()

QUEUE = "payerfleet"
RUN_TASK = "payerfleet.run"
RECOVER_TASK = "payerfleet.recover"
# A queued run older than this without a job is an orphan (its deferral was lost).
ORPHAN_AFTER = timedelta(seconds=30)
# Backoff between reconnection attempts after the database went away (doubling, capped).
RECONNECT_FIRST_S, RECONNECT_MAX_S = 1.0, 30.0


def _reconnectable() -> tuple[type[BaseException], ...]:
    import procrastinate.exceptions
    import psycopg
    import sqlalchemy.exc

    return (DatabaseUnavailable, sqlalchemy.exc.OperationalError, psycopg.OperationalError, OSError,
            procrastinate.exceptions.ConnectorException)


RECONNECTABLE = _reconnectable()


def libpq_url(db_url: str) -> str:
    for prefix in ("postgresql+psycopg://", "postgresql+psycopg2://", "postgres://"):
        if db_url.startswith(prefix):
            return "postgresql://" + db_url[len(prefix):]
    return db_url


def make_app(db_url: str) -> Any:
    import procrastinate

    if not db_url.startswith(("postgresql", "postgres")):
        raise BackendUnavailable("the Procrastinate backend needs PostgreSQL; use backend = \"local\" with SQLite")
    return procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=libpq_url(db_url)))


class ProcrastinateBackend:
    name = "procrastinate"

    def __init__(self, runtime: FleetRuntime, *, app: Any | None = None):
        if runtime.db.dialect != "postgresql":
            raise BackendUnavailable("the Procrastinate backend needs PostgreSQL; use backend = \"local\" with SQLite")
        self.runtime = runtime
        self.app = app or make_app(runtime.db.url)
        self._register()
        self._opened = False

    # -- tasks ------------------------------------------------------------------------------
    def _register(self) -> None:
        app = self.app

        @app.task(name=RUN_TASK, queue=QUEUE, retry=False, pass_context=False)
        async def run_task(run_id: str) -> str:
            return await self._run(run_id)

        # Every minute; no lock/queueing lock on purpose (see module docstring). The periodic
        # deferrer's own unique key already makes one job per tick across all workers.
        @app.periodic(cron="* * * * *", periodic_id="recover")
        @app.task(name=RECOVER_TASK, queue=QUEUE, retry=False, pass_context=False)
        async def recover_task(timestamp: int) -> dict:
            return await self.recover()

    async def _run(self, run_id: str) -> str:
        """Claim the run under this worker's lease and execute it.

        A run still held by a live lease elsewhere is left to its holder (a lapsed lease is recovered
        by the periodic task); a run whose account another run holds waits for that lease to end.
        """
        db, cfg, worker = self.runtime.db, self.runtime.config, self.runtime.worker_id
        while True:
            current = runs.get_run(db, run_id)
            if current is None or current.state in runs.FINISHED:
                return current.state if current else "missing"
            if current.state == runs.RUNNING and current.attempts >= cfg.max_attempts:
                leases.recover_lapsed(db, self.name, cfg.max_attempts)
                return "recovered"
            begun = runs.begin(db, run_id, worker, cfg.stalled_after_s)
            if begun is not None:
                return await execute(self.runtime, begun)
            if current.state == runs.RUNNING:
                return "held"
            await asyncio.sleep(cfg.heartbeat_s)  # the account is busy under a live lease: wait for it

    # -- API --------------------------------------------------------------------------------
    async def open(self) -> None:
        if not self._opened:
            await asyncio.to_thread(ensure_schema, self.runtime.db)
            await self.app.open_async()
            self._opened = True

    async def close(self) -> None:
        if self._opened:
            await self.app.close_async()
            self._opened = False

    async def dispatch(self, run_id: str) -> None:
        await self.open()
        run = runs.get_run(self.runtime.db, run_id)
        if run is None or run.state != runs.QUEUED:
            return
        await self._defer(run)

    async def _defer(self, run: runs.RunInfo) -> int:
        lock = f"account:{run.account_id}" if run.account_id is not None else None
        return await self.app.configure_task(RUN_TASK, lock=lock, priority=run.priority, queue=QUEUE) \
            .defer_async(run_id=run.id)

    async def recover(self, *, stalled_after_s: float | None = None) -> dict:
        """Put stalled jobs back to `todo` now, requeue runs whose lease lapsed, defer queued runs without a job."""
        await self.open()
        seconds = self.runtime.config.stalled_after_s if stalled_after_s is None else stalled_after_s
        manager = self.app.job_manager
        retried = 0
        for job in await manager.get_stalled_jobs(queue=QUEUE, seconds_since_heartbeat=seconds):
            try:
                await manager.retry_job(job)  # retry_at = now: no backoff window holding the lock
                retried += 1
                log.warning("fleet.job_recovered", action="recover", job_id=job.id)
            except Exception:  # noqa: BLE001 - another worker recovered it first
                continue
        await manager.prune_stalled_workers(seconds)
        requeued, abandoned = await asyncio.to_thread(
            leases.recover_lapsed, self.runtime.db, self.name, self.runtime.config.max_attempts,
            silent_for_s=stalled_after_s)
        for run_id in requeued:  # their old job is finished or stalled: give each a new one
            await self.dispatch(run_id)
        orphans = 0
        for run in await asyncio.to_thread(self._orphans):
            await self._defer(run)
            orphans += 1
            log.warning("fleet.run_redeferred", action="recover", run_id=run.id)
        return {"stalled_jobs_retried": retried, "lapsed_runs_requeued": len(requeued),
                "runs_abandoned": len(abandoned), "orphan_runs_deferred": orphans}

    def _orphans(self) -> list[runs.RunInfo]:
        """Queued runs older than ORPHAN_AFTER without a job (their deferral was lost)."""
        cutoff = utcnow() - ORPHAN_AFTER
        no_job = text("NOT EXISTS (SELECT 1 FROM procrastinate_jobs j WHERE j.task_name = :task "
                      "AND j.status IN ('todo', 'doing') AND j.args->>'run_id' = automation_runs.id)")
        with self.runtime.db.transaction() as s:
            rows = s.scalars(select(AutomationRun).where(
                AutomationRun.state == runs.QUEUED, AutomationRun.backend == self.name,
                AutomationRun.created_at < cutoff, no_job.bindparams(task=RUN_TASK)))
            return [runs.RunInfo.of(r) for r in rows]

    async def run_until_idle(self) -> None:
        """Work until no job is waiting. Procrastinate's `wait=False` stops at the first fetch that
        finds nothing, which includes jobs only blocked by a running job of the same account; so
        run it again while that made progress."""
        await self.open()
        while True:
            _, done_before = self._counts()
            await self.app.run_worker_async(queues=[QUEUE], concurrency=self.runtime.pool.max_contexts,
                                            wait=False, install_signal_handlers=False, **self._worker_opts())
            waiting, done_after = self._counts()
            # Stop when nothing waits, or when nothing finished (what waits is blocked elsewhere).
            if waiting == 0 or done_after == done_before:
                return

    def _counts(self) -> tuple[int, int]:
        """(jobs waiting, jobs finished) in the fleet's queue."""
        with self.runtime.db.engine.connect() as conn:
            row = conn.execute(text("SELECT count(*) FILTER (WHERE status = 'todo'), "
                                    "count(*) FILTER (WHERE status NOT IN ('todo', 'doing')) "
                                    "FROM procrastinate_jobs WHERE queue_name = :q"), {"q": QUEUE}).one()
            return int(row[0]), int(row[1])

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Work until `stop`; when the database goes away, reconnect with backoff and keep going.

        Procrastinate's worker stops when its connection drops (a failed listener or heartbeat); this
        loop starts it again once the database answers, after requeueing runs whose lease lapsed.
        """
        wait = RECONNECT_FIRST_S
        while not stop.is_set():
            started = time.monotonic()
            try:
                await self.open()
                await self.recover()
                if await self._work_until(stop):
                    return
                log.warning("fleet.worker_stopped", action="reconnect", retry_in_s=wait)
            except RECONNECTABLE as exc:
                log.error("fleet.database_lost", action="reconnect", error=type(exc).__name__, retry_in_s=wait)
            if time.monotonic() - started > RECONNECT_MAX_S * 2:
                wait = RECONNECT_FIRST_S  # it had been working: start the backoff over
            try:
                await asyncio.wait_for(stop.wait(), timeout=wait)
            except asyncio.TimeoutError:
                pass
            wait = min(wait * 2, RECONNECT_MAX_S)

    async def _work_until(self, stop: asyncio.Event) -> bool:
        """Run Procrastinate's worker until it stops (False) or `stop` is set (True)."""
        worker = asyncio.create_task(self.app.run_worker_async(
            queues=[QUEUE], concurrency=self.runtime.pool.max_contexts, wait=True,
            install_signal_handlers=False, **self._worker_opts()))
        stopper = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait([worker, stopper], return_when=asyncio.FIRST_COMPLETED)
            if not worker.done():
                worker.cancel()
                await asyncio.gather(worker, return_exceptions=True)
                return True
            worker.result()  # a worker that died of a lost connection raises here
            return stop.is_set()
        finally:
            stopper.cancel()

    def _worker_opts(self) -> dict:
        cfg = self.runtime.config
        return {"update_heartbeat_interval": cfg.heartbeat_s, "stalled_worker_timeout": cfg.stalled_after_s}
