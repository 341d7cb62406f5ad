"""Run leases: a running run belongs to one worker for as long as that worker keeps saying it is alive.

A worker claims a run by writing its worker id and a lease expiry into the run's row, in one
conditional UPDATE that also refuses the claim while another run of the same account holds a live
lease: the per-account lock is the database's, so it holds across processes and machines (PostgreSQL
serialises claims per account with an advisory lock; SQLite has one writer). While the run executes,
its heartbeat renews the lease every `heartbeat_s`; outcome writes are conditional on still holding
it. Only a lapsed lease is recovered, so a live run of another process is never taken over.
Stamps are the workers' clocks: keep the machines NTP-synchronised (as the rate limits need too).
"""
from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import structlog
from sqlalchemy import and_, exists, or_, select, text, update
from sqlalchemy.orm import aliased

from core.errors import DatabaseUnavailable
from core.store.db import Database
from core.store.models import AutomationRun, utcnow

log = structlog.get_logger()

QUEUED, RUNNING, FAILED = "queued", "running", "failed"


def new_worker_id() -> str:
    """host:pid:random — unique per worker process, readable in the runs table."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _account_lock_key(account_id: int) -> int:
    digest = hashlib.sha256(f"payerfleet:account:{account_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def lapsed(now: datetime):
    """SQL condition: this row's lease has lapsed (or it never had one)."""
    return or_(AutomationRun.lease_expires_at.is_(None), AutomationRun.lease_expires_at <= now)


def claim(db: Database, run_id: str, worker_id: str, lease_s: float) -> bool:
    """queued (or running with a lapsed lease) -> running under our lease, attempts + 1.

    Refused (False) when the run is finished, held by a live lease, or another run of its account
    holds a live lease.
    """
    now = utcnow()
    other = aliased(AutomationRun)
    account_busy = exists().where(other.account_id == AutomationRun.account_id, other.id != run_id,
                                  other.state == RUNNING, other.lease_expires_at > now)
    with db.transaction() as s:
        if db.dialect == "postgresql":
            account_id = s.scalar(select(AutomationRun.account_id).where(AutomationRun.id == run_id))
            if account_id is not None:
                s.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _account_lock_key(account_id)})
        res = s.execute(update(AutomationRun)
                        .where(AutomationRun.id == run_id,
                               or_(AutomationRun.state == QUEUED, and_(AutomationRun.state == RUNNING, lapsed(now))),
                               ~account_busy)
                        .values(state=RUNNING, attempts=AutomationRun.attempts + 1, started_at=now, finished_at=None,
                                worker_id=worker_id, heartbeat_at=now,
                                lease_expires_at=now + timedelta(seconds=lease_s)))
        return res.rowcount == 1


def renew(db: Database, run_id: str, worker_id: str, lease_s: float) -> bool:
    """Extend our lease; False when it is no longer ours (lapsed and taken, or the run ended)."""
    now = utcnow()
    with db.transaction() as s:
        res = s.execute(update(AutomationRun)
                        .where(AutomationRun.id == run_id, AutomationRun.worker_id == worker_id,
                               AutomationRun.state == RUNNING)
                        .values(heartbeat_at=now, lease_expires_at=now + timedelta(seconds=lease_s)))
        return res.rowcount == 1


def held(run_id: str, worker_id: str):
    """SQL condition for writes only the lease holder may make."""
    return and_(AutomationRun.id == run_id, AutomationRun.worker_id == worker_id, AutomationRun.state == RUNNING)


def recover_lapsed(db: Database, backend: str, max_attempts: int, *,
                   silent_for_s: float | None = None) -> tuple[list[str], list[str]]:
    """Runs whose lease lapsed go back to the queue; a run interrupted max_attempts times fails.

    `silent_for_s` treats a lease as lapsed when its last heartbeat is older than that, for an
    operator who knows the worker is dead (`payerfleet reconcile --stalled-after 0`).
    Returns (requeued ids, abandoned ids).
    """
    now = utcnow()
    gone = lapsed(now) if silent_for_s is None else or_(
        lapsed(now), AutomationRun.heartbeat_at.is_(None),
        AutomationRun.heartbeat_at <= now - timedelta(seconds=silent_for_s))
    # Plain UPDATEs (no read first): on SQLite the first statement takes the write lock, so two
    # recovering processes cannot both requeue one run.
    base = (AutomationRun.state == RUNNING, AutomationRun.backend == backend, gone)
    with db.transaction() as s:
        abandoned = list(s.scalars(
            update(AutomationRun).where(*base, AutomationRun.attempts >= max_attempts)
            .values(state=FAILED, error_type="RunAbandoned", finished_at=now, worker_id=None, lease_expires_at=None,
                    error_message=f"interrupted {max_attempts} times, the most allowed (fleet max_attempts)")
            .returning(AutomationRun.id)))
        requeued = list(s.scalars(
            update(AutomationRun).where(*base).values(state=QUEUED, worker_id=None, lease_expires_at=None)
            .returning(AutomationRun.id)))
    for run_id in requeued:
        log.warning("run.recovered", action="requeue", run_id=run_id)
    for run_id in abandoned:
        log.error("run.abandoned", action="fail", run_id=run_id)
    return requeued, abandoned


async def keep_alive(db: Database, run_id: str, worker_id: str, lease_s: float, every_s: float,
                     on_lost: Callable[[], None], sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
    """Renew the run's lease every `every_s` until cancelled; call `on_lost` if it stops being ours.

    A database outage is not a lost lease: nobody can take the run while the database is away, so
    keep trying; when it returns the lease is renewed, or found taken.
    """
    while True:
        await sleep(every_s)
        try:
            ours = await asyncio.to_thread(renew, db, run_id, worker_id, lease_s)
        except DatabaseUnavailable:
            log.warning("run.heartbeat_failed", action="heartbeat", run_id=run_id, reason="database unreachable")
            continue
        if not ours:
            log.error("run.lease_lost", action="heartbeat", run_id=run_id)
            on_lost()
            return
