"""Run rows: the one way to submit a run, and the state transitions every backend shares.

A run is `queued -> running -> succeeded | failed` (or `cancelled`). The row is written
before any backend hears of it, so a run is never lost between "asked for" and "queued".
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import Any

import structlog
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from core.store.db import Database
from core.store.models import AutomationRun, PortalAccount, utcnow
from fleet import catalog
from fleet.errors import AccountNotAuthorised, UnknownAccount

log = structlog.get_logger()

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = "queued", "running", "succeeded", "failed", "cancelled"
FINISHED = (SUCCEEDED, FAILED, CANCELLED)


class Priority(IntEnum):
    """Higher runs first: a person waiting beats the nightly batch."""

    SCHEDULED = 0
    FOLLOW_UP = 5
    ON_DEMAND = 10


@dataclass(frozen=True)
class RunInfo:
    """A run as callers see it (no PHI: params hold opaque ids only)."""

    id: str
    automation: str
    account_id: int | None
    # Opaque ids and dates only (claim ids, appeal ids, since-dates); never PHI.
    params: dict[str, Any]
    priority: int
    dedupe_key: str | None
    state: str
    backend: str
    attempts: int
    checkpoint: str | None
    error_type: str | None
    error_message: str | None
    result: dict[str, Any]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, row: AutomationRun) -> "RunInfo":
        return cls(row.id, row.automation, row.account_id, dict(row.params or {}), row.priority, row.dedupe_key, row.state,
                   row.backend, row.attempts, row.checkpoint, row.error_type, row.error_message,
                   dict(row.result or {}), row.created_at, row.started_at, row.finished_at)


def dedupe_key(automation: str, account_alias: str, day: Any) -> str:
    """The scheduled-run key: one run per (automation, account, date)."""
    return f"{automation}:{account_alias}:{day}"


def submit_run(db: Database, automation: str, account_alias: str, params: dict[str, Any] | None = None,
               priority: int = Priority.ON_DEMAND, dedupe_key: str | None = None,
               backend: str = "local", *, require_authorised: bool = False) -> str:
    """Write a queued run and return its id; with a dedupe key already used, return that run's id.

    The database's unique constraint decides duplicates, so two schedulers racing on two
    machines still produce one run.
    """
    catalog.check(automation)
    with db.transaction() as s:
        account = s.scalar(select(PortalAccount).where(PortalAccount.alias == account_alias,
                                                       PortalAccount.enabled.is_(True)))
        if account is None:
            raise UnknownAccount(f"no enabled portal account {account_alias!r}")
        if require_authorised and not account.authorised:
            raise AccountNotAuthorised(f"account {account_alias!r} is not marked authorised for automation")
        account_id = account.id
    run_id = str(uuid.uuid4())
    try:
        with db.transaction() as s:
            s.add(AutomationRun(id=run_id, automation=automation, account_id=account_id,
                                params=dict(params or {}), priority=int(priority), dedupe_key=dedupe_key,
                                state=QUEUED, backend=backend))
    except IntegrityError:
        if dedupe_key is None:
            raise
        with db.transaction() as s:
            existing = s.scalar(select(AutomationRun.id).where(AutomationRun.dedupe_key == dedupe_key))
        if existing is None:  # the conflict was something else; surface it
            raise
        log.info("run.deduplicated", action="submit", run_id=existing, automation=automation)
        return existing
    log.info("run.queued", action="submit", run_id=run_id, automation=automation, account=account_alias,
             priority=int(priority))
    return run_id


def get_run(db: Database, run_id: str) -> RunInfo | None:
    with db.transaction() as s:
        row = s.get(AutomationRun, run_id)
        return None if row is None else RunInfo.of(row)


def list_runs(db: Database, *, states: tuple[str, ...] | None = None) -> list[RunInfo]:
    with db.transaction() as s:
        q = select(AutomationRun).order_by(AutomationRun.created_at, AutomationRun.id)
        if states:
            q = q.where(AutomationRun.state.in_(states))
        return [RunInfo.of(r) for r in s.scalars(q)]


def begin(db: Database, run_id: str, *, takeover: bool = False) -> RunInfo | None:
    """queued -> running (attempts + 1); with takeover also running -> running.

    Takeover is for a backend that knows the previous holder is dead (Procrastinate's stalled
    job recovery). Returns None when the run is finished or held by someone else.
    """
    allowed = (QUEUED, RUNNING) if takeover else (QUEUED,)
    with db.transaction() as s:
        res = s.execute(update(AutomationRun)
                        .where(AutomationRun.id == run_id, AutomationRun.state.in_(allowed))
                        .values(state=RUNNING, attempts=AutomationRun.attempts + 1, started_at=utcnow(),
                                finished_at=None))
        if res.rowcount != 1:
            return None
        return RunInfo.of(s.get(AutomationRun, run_id))


def record_checkpoint(db: Database, run_id: str, checkpoint: str) -> None:
    with db.transaction() as s:
        s.execute(update(AutomationRun).where(AutomationRun.id == run_id).values(checkpoint=checkpoint))


def succeed(db: Database, run_id: str, result: dict[str, Any]) -> None:
    with db.transaction() as s:
        s.execute(update(AutomationRun).where(AutomationRun.id == run_id, AutomationRun.state == RUNNING)
                  .values(state=SUCCEEDED, result=result, error_type=None, error_message=None,
                          finished_at=utcnow()))


def fail(db: Database, run_id: str, error_type: str, message: str, result: dict[str, Any] | None = None) -> None:
    with db.transaction() as s:
        values: dict[str, Any] = {"state": FAILED, "error_type": error_type[:80], "error_message": message[:1000],
                                  "finished_at": utcnow()}
        if result is not None:
            values["result"] = result
        s.execute(update(AutomationRun).where(AutomationRun.id == run_id, AutomationRun.state.in_((QUEUED, RUNNING)))
                  .values(**values))


def cancel(db: Database, run_id: str) -> bool:
    """Cancel a run that has not started; a running run is never interrupted from here."""
    with db.transaction() as s:
        res = s.execute(update(AutomationRun).where(AutomationRun.id == run_id, AutomationRun.state == QUEUED)
                        .values(state=CANCELLED, finished_at=utcnow()))
        return res.rowcount == 1


def requeue_interrupted(db: Database, backend: str, max_attempts: int) -> tuple[list[str], list[str]]:
    """Start-up recovery: runs left `running` by a dead process go back to the queue.

    A run already interrupted `max_attempts` times fails as RunAbandoned instead (a poison run
    must not crash-loop the fleet). Returns (requeued ids, abandoned ids).
    """
    requeued, abandoned = [], []
    with db.transaction() as s:
        rows = list(s.scalars(select(AutomationRun).where(AutomationRun.state == RUNNING,
                                                          AutomationRun.backend == backend)))
        for row in rows:
            if row.attempts >= max_attempts:
                row.state, row.error_type, row.finished_at = FAILED, "RunAbandoned", utcnow()
                row.error_message = f"interrupted {row.attempts} times (last checkpoint {row.checkpoint})"
                abandoned.append(row.id)
            else:
                row.state = QUEUED
                requeued.append(row.id)
    for run_id in requeued:
        log.warning("run.recovered", action="requeue", run_id=run_id)
    for run_id in abandoned:
        log.error("run.abandoned", action="fail", run_id=run_id)
    return requeued, abandoned


def next_queued(db: Database, backend: str, busy_accounts: set[int], limit: int) -> list[RunInfo]:
    """Queued runs in priority order, skipping accounts that already have a session open."""
    with db.transaction() as s:
        q = (select(AutomationRun).where(AutomationRun.state == QUEUED, AutomationRun.backend == backend)
             .order_by(AutomationRun.priority.desc(), AutomationRun.created_at, AutomationRun.id))
        picked: list[RunInfo] = []
        accounts = set(busy_accounts)
        for row in s.scalars(q):
            if row.account_id in accounts:
                continue
            picked.append(RunInfo.of(row))
            accounts.add(row.account_id)
            if len(picked) >= limit:
                break
        return picked
