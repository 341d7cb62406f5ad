"""Run rows: the one way to submit a run, and the state transitions every backend shares.

A run is `queued -> running -> succeeded | failed` (or `cancelled`). The row is written
before any backend hears of it, so a run is never lost between "asked for" and "queued".
"""
from __future__ import annotations

import ipaddress
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import Any
from urllib.parse import urlsplit

import structlog
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.store.db import Database
from core.vault import REMOVED
from core.store.models import AutomationRun, PortalAccount, utcnow
from fleet import catalog, leases
from fleet.errors import AccountDisabled, AccountNotAuthorised, UnknownAccount

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
    # The worker holding (or that last held) the run's lease, and when that lease lapses.
    worker_id: str | None = None
    lease_expires_at: datetime | None = None

    @classmethod
    def of(cls, row: AutomationRun) -> "RunInfo":
        return cls(row.id, row.automation, row.account_id, dict(row.params or {}), row.priority, row.dedupe_key, row.state,
                   row.backend, row.attempts, row.checkpoint, row.error_type, row.error_message,
                   dict(row.result or {}), row.created_at, row.started_at, row.finished_at, row.worker_id,
                   row.lease_expires_at)


def dedupe_key(automation: str, account_alias: str, day: Any) -> str:
    """The scheduled-run key: one run per (automation, account, date)."""
    return f"{automation}:{account_alias}:{day}"


def submit_run(db: Database, automation: str, account_alias: str, params: dict[str, Any] | None = None,
               priority: int = Priority.ON_DEMAND, dedupe_key: str | None = None,
               backend: str = "local") -> str:
    """Write a queued run and return its id; with a dedupe key already used, return that run's id.

    The database's unique constraint decides duplicates, so two schedulers racing on two
    machines still produce one run.
    """
    catalog.check(automation)
    with db.transaction() as s:
        account = s.scalar(select(PortalAccount).where(PortalAccount.alias == account_alias))
        check_usable(account, account_alias)
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


def is_loopback(base_url: str) -> bool:
    """A portal on this machine (the sandbox): automated access needs no operator confirmation."""
    host = urlsplit(base_url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_usable(account: PortalAccount | None, alias: str) -> None:
    """Refuse an account that is missing, removed, disabled, or not authorised for automation (DESIGN §6)."""
    if account is None or account.disabled_reason == REMOVED:
        raise UnknownAccount(f"no portal account {alias!r}; see `payerfleet accounts list`")
    if not account.enabled:
        raise AccountDisabled(f"account {alias!r} is disabled ({account.disabled_reason or 'by an operator'}); "
                              f"`payerfleet accounts enable {alias}` once it is fixed")
    if not account.authorised and not is_loopback(account.base_url):
        raise AccountNotAuthorised(f"account {alias!r} is not marked authorised for automation; once automated access "
                                   f"is confirmed, set the flag: `payerfleet accounts authorise {alias}` "
                                   f"(or `accounts add --authorised`)")


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


def begin(db: Database, run_id: str, worker_id: str, lease_s: float) -> RunInfo | None:
    """Claim the run under this worker's lease (fleet.leases.claim); None when it is not ours to run."""
    if not leases.claim(db, run_id, worker_id, lease_s):
        return None
    return get_run(db, run_id)


def record_checkpoint(db: Database, run_id: str, worker_id: str, checkpoint: str) -> None:
    with db.transaction() as s:
        s.execute(update(AutomationRun).where(leases.held(run_id, worker_id)).values(checkpoint=checkpoint))


def succeed(db: Database, run_id: str, worker_id: str, result: dict[str, Any]) -> bool:
    """Record success if this worker still holds the run; False when its lease was lost."""
    with db.transaction() as s:
        return s.execute(update(AutomationRun).where(leases.held(run_id, worker_id))
                         .values(state=SUCCEEDED, result=result, error_type=None, error_message=None,
                                 finished_at=utcnow(), lease_expires_at=None)).rowcount == 1


def fail(db: Database, run_id: str, error_type: str, message: str, *, worker_id: str | None = None,
         result: dict[str, Any] | None = None) -> bool:
    """Record a typed failure: by the lease holder, or (no worker) for a run that never started."""
    with db.transaction() as s:
        return fail_in(s, run_id, error_type, message, worker_id=worker_id, result=result)


def fail_in(s: Session, run_id: str, error_type: str, message: str, *, worker_id: str | None = None,
            result: dict[str, Any] | None = None) -> bool:
    """`fail` inside the caller's transaction (so a consequence commits with it)."""
    values: dict[str, Any] = {"state": FAILED, "error_type": error_type[:80], "error_message": message[:1000],
                              "finished_at": utcnow(), "lease_expires_at": None}
    if result is not None:
        values["result"] = result
    where = leases.held(run_id, worker_id) if worker_id is not None else \
        (AutomationRun.id == run_id) & AutomationRun.state.in_((QUEUED, RUNNING))
    return s.execute(update(AutomationRun).where(where).values(**values)).rowcount == 1


def release(db: Database, run_id: str, worker_id: str) -> bool:
    """Give a held run back to the queue (its attempt was cut short by an outage, not by the run)."""
    with db.transaction() as s:
        return s.execute(update(AutomationRun).where(leases.held(run_id, worker_id))
                         .values(state=QUEUED, worker_id=None, lease_expires_at=None)).rowcount == 1


def cancel(db: Database, run_id: str) -> bool:
    """Cancel a run that has not started; a running run is never interrupted from here."""
    with db.transaction() as s:
        res = s.execute(update(AutomationRun).where(AutomationRun.id == run_id, AutomationRun.state == QUEUED)
                        .values(state=CANCELLED, finished_at=utcnow()))
        return res.rowcount == 1


def pending(db: Database, backend: str) -> bool:
    """Any run of this backend still queued or running (in any process)?"""
    with db.transaction() as s:
        return s.scalar(select(AutomationRun.id).where(AutomationRun.backend == backend,
                                                       AutomationRun.state.in_((QUEUED, RUNNING))).limit(1)) is not None


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
