"""Resolve submission intents whose outcome is unknown by reading the portal's own list.

DESIGN §5: a run that dies between committing SUBMITTING and recording SUBMITTED leaves the act
in doubt; no run may click again. Here:
1. `sweep_in_doubt` turns SUBMITTING intents whose run holds no live lease into IN_DOUBT.
2. The `reconcile_submissions` automation (a fleet run, so it holds the account's lock and a
   pooled browser like any other) lists the portal's submissions and decides each IN_DOUBT intent:
   exactly one matching row -> SUBMITTED (with its confirmation number);
   no matching row, and the click is older than the settle period -> SAFE_TO_RETRY;
   no matching row yet, the click younger than that -> still IN_DOUBT (the POST may still arrive);
   several rows, or a portal that cannot list submissions -> HUMAN_REVIEW.
3. `resubmit_safe` queues one new attempt per SAFE_TO_RETRY intent (deduplicated per attempt); that
   run reads the portal's list again right before its click (reconsideration_submit).
`reconcile_all(backend)` does the three in order, working the runs in this process.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

import structlog
from sqlalchemy import select, update

from automations import intents
from automations.intents import HUMAN_REVIEW, IN_DOUBT, SAFE_TO_RETRY, SUBMITTED, SUBMITTING
from core import audit
from core.store.db import Database
from core.store.models import AutomationRun, PortalAccount, SubmissionIntent, utcnow
from fleet import runs
from fleet.config import load_fleet_config

log = structlog.get_logger()

SUBMIT_AUTOMATION = "reconsideration_submit"
# Why a decision was taken, in codes (Decision.reason).
ONE_MATCH, NO_MATCH, SETTLING, SEVERAL, CANNOT_LIST = "one_match", "no_match", "settling", "several_matches", \
    "cannot_list"


@dataclass(frozen=True)
class Decision:
    intent_id: int
    # SUBMITTED | SAFE_TO_RETRY | HUMAN_REVIEW | IN_DOUBT (not yet: the click is still settling)
    state: str
    confirmation_number: str | None
    reason: str
    submitted_on: date | None = None


def decide(intent_fingerprint: dict, rows: list[Any], claimed: set[str], *, settled: bool) -> tuple[str, Any, str]:
    """The decision for one intent given the portal's rows (pure: the heart of the reconciler).

    `claimed` holds confirmation numbers other intents already own. No matching row proves nothing
    while the click may still arrive (`settled` False: younger than the settle period); after that it
    means the click never reached the payer. Returns (state, the matching row or None, reason).
    """
    matches = intents.unclaimed_matches(intent_fingerprint, rows, claimed)
    if len(matches) == 1:
        return SUBMITTED, matches[0], ONE_MATCH
    if matches:
        return HUMAN_REVIEW, None, SEVERAL
    return (SAFE_TO_RETRY, None, NO_MATCH) if settled else (IN_DOUBT, None, SETTLING)


def settled(submitting_at: datetime | None, settle_s: float, now: datetime) -> bool:
    """Has the latest click had its settle period (so a POST still on its way would have arrived)?"""
    return submitting_at is None or (now - _aware(submitting_at)).total_seconds() >= settle_s


def sweep_in_doubt(db: Database) -> list[int]:
    """SUBMITTING intents whose run no longer holds a live lease become IN_DOUBT.

    A live lease means a worker is still inside that run (it may be waiting for the confirmation);
    only once the lease has ended or lapsed can nobody record the outcome but the reconciler.
    """
    now = utcnow()
    moved = []
    with db.transaction() as s:
        for intent in s.scalars(select(SubmissionIntent).where(SubmissionIntent.state == SUBMITTING)):
            run = s.get(AutomationRun, intent.run_id) if intent.run_id else None
            alive = run is not None and run.state == runs.RUNNING and run.lease_expires_at is not None \
                and _aware(run.lease_expires_at) > now
            if not alive:
                intent.state, intent.updated_at = IN_DOUBT, utcnow()
                moved.append(intent.id)
    for intent_id in moved:
        log.warning("intent.in_doubt", action="sweep", intent_id=intent_id)
    return moved


def accounts_in_doubt(db: Database) -> list[str]:
    """Aliases of accounts with IN_DOUBT intents (each needs one reconcile run)."""
    with db.transaction() as s:
        q = (select(PortalAccount.alias).join(SubmissionIntent, SubmissionIntent.account_id == PortalAccount.id)
             .where(SubmissionIntent.state == IN_DOUBT).distinct().order_by(PortalAccount.alias))
        return list(s.scalars(q))


def apply(db: Database, decision: Decision, *, run_id: str, today: date) -> bool:
    """Record one decision; only an intent still IN_DOUBT changes (compare-and-set)."""
    if decision.state == IN_DOUBT:
        return False
    if decision.state == SUBMITTED:
        changed = intents.mark_submitted(db, decision.intent_id, allowed=(IN_DOUBT,),
                                         confirmation_number=decision.confirmation_number or "",
                                         submitted_on=decision.submitted_on or today, actor=f"run:{run_id}",
                                         how="reconciled")
    else:
        with db.transaction() as s:
            changed = s.execute(update(SubmissionIntent).where(SubmissionIntent.id == decision.intent_id,
                                                               SubmissionIntent.state == IN_DOUBT)
                                .values(state=decision.state, updated_at=utcnow())).rowcount == 1
            if changed:
                audit.record(s, actor=f"run:{run_id}", action="appeal.reconciled", record_type="submission_intent",
                             record_id=decision.intent_id, outcome=decision.state)
    if changed:
        log.info("intent.reconciled", action="reconcile", intent_id=decision.intent_id, state=decision.state,
                 reason=decision.reason)
    return changed


def resubmit_safe(db: Database, *, backend: str = "local") -> list[str]:
    """Queue one new attempt per SAFE_TO_RETRY intent, with its last run's parameters, on its account."""
    queued = []
    with db.transaction() as s:
        rows = [(i.id, i.run_id, i.account_id, i.attempts) for i in
                s.scalars(select(SubmissionIntent).where(SubmissionIntent.state == SAFE_TO_RETRY))]
        origin = {r.id: (r.automation, dict(r.params or {})) for r in
                  s.scalars(select(AutomationRun).where(AutomationRun.id.in_([r[1] for r in rows if r[1]])))}
        aliases = dict(s.execute(select(PortalAccount.id, PortalAccount.alias)).all())
    for intent_id, run_id, account_id, attempts in rows:
        if run_id not in origin or origin[run_id][0] != SUBMIT_AUTOMATION:
            continue
        key = f"resubmit:{intent_id}:attempt:{attempts + 1}"
        queued.append(runs.submit_run(db, SUBMIT_AUTOMATION, aliases[account_id], origin[run_id][1],
                                      runs.Priority.ON_DEMAND, key, backend=backend))
    return queued


class ReconcileSubmissions:
    """Fleet automation: decide this account's IN_DOUBT intents from the portal's submissions list."""

    name = "reconcile_submissions"
    checkpoints = ("session_open", "submissions_listed", "resolved")
    capabilities = ("appeals",)

    async def run(self, ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
        from automations.portal_session import checkpoint, open_session
        from portals.errors import CapabilityNotSupported

        settle_s = float(params.get("settle_s", load_fleet_config().settle_s))
        with ctx.db.transaction() as s:
            pending = [(i.id, dict(i.fingerprint or {}), i.submitting_at) for i in s.scalars(
                select(SubmissionIntent).where(SubmissionIntent.account_id == ctx.account.id,
                                               SubmissionIntent.state == IN_DOUBT).order_by(SubmissionIntent.id))]
        if not pending:
            return {"in_doubt": 0}
        decisions: list[Decision] = []
        async with open_session(ctx) as session:
            await checkpoint(ctx, "session_open")
            try:
                appeals = session.capability("appeals")
            except CapabilityNotSupported:
                appeals = None
            if appeals is None:
                decisions = [Decision(i, HUMAN_REVIEW, None, CANNOT_LIST) for i, _, _ in pending]
            else:
                rows = await session.read(lambda: appeals.list_submitted(None))
                await checkpoint(ctx, "submissions_listed", session)
                now = utcnow()
                for intent_id, fingerprint, submitting_at in pending:
                    claimed = intents.claimed_elsewhere(ctx.db, intent_id)
                    state, row, reason = decide(fingerprint, rows, claimed,
                                                settled=settled(submitting_at, settle_s, now))
                    decisions.append(Decision(intent_id, state, row.confirmation_number if row else None, reason,
                                              row.submitted_on if row else None))
        counts: dict[str, int] = {}
        for d in decisions:
            if apply(ctx.db, d, run_id=ctx.run_id, today=ctx.today):
                counts[d.state] = counts.get(d.state, 0) + 1
                ctx.evidence.record_event("reconcile", "submission.reconciled", details={
                    "intent_id": d.intent_id, "state": d.state, "reason": d.reason,
                    "confirmation_number": d.confirmation_number})
        ctx.checkpoint("resolved")
        return {"in_doubt": len(pending), "decided": counts,
                "settling": sum(1 for d in decisions if d.reason == SETTLING)}


RECONCILE_SUBMISSIONS = ReconcileSubmissions()


async def reconcile_all(backend: Any) -> dict:
    """Finish recovered runs, sweep dead SUBMITTING intents to IN_DOUBT, reconcile every account that
    has some, re-submit the safe ones; all worked in this process. Idempotent: run it any time."""
    db = backend.runtime.db
    # Recovered runs first: a re-run submit finds its intent SUBMITTING and stops (never clicks);
    # only once no run holds an intent can the sweep call it in doubt.
    await backend.run_until_idle()
    swept = sweep_in_doubt(db)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H%M%S.%f")
    for alias in accounts_in_doubt(db):
        run_id = runs.submit_run(db, ReconcileSubmissions.name, alias, {}, runs.Priority.ON_DEMAND,
                                 f"reconcile:{alias}:{stamp}", backend=backend.name)
        await backend.dispatch(run_id)
    await backend.run_until_idle()
    resubmitted = resubmit_safe(db, backend=backend.name)
    for run_id in resubmitted:
        await backend.dispatch(run_id)
    await backend.run_until_idle()
    with db.transaction() as s:
        states = [st for st in s.scalars(select(SubmissionIntent.state))]
    return {"swept_in_doubt": len(swept), "resubmitted": len(resubmitted),
            "intents": {st: states.count(st) for st in sorted(set(states))}}


def _aware(dt: datetime) -> datetime:
    # SQLite hands back naive datetimes even for timezone=True columns; they are UTC.
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
