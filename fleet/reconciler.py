"""Resolve submission intents whose outcome is unknown by reading the portal's own list.

DESIGN §5: a run that dies between committing SUBMITTING and recording SUBMITTED leaves the act
in doubt; no run may click again. Here:
1. `sweep_in_doubt` turns SUBMITTING intents whose run is dead into IN_DOUBT.
2. The `reconcile_submissions` automation (a fleet run, so it holds the account's lock and a
   pooled browser like any other) lists the portal's submissions and decides each IN_DOUBT intent:
   exactly one matching row -> SUBMITTED (with its confirmation number);
   no matching row -> SAFE_TO_RETRY (the click never reached the payer);
   several rows, or a portal that cannot list submissions -> HUMAN_REVIEW.
3. `resubmit_safe` queues one fresh submission run per SAFE_TO_RETRY intent (deduplicated).
`reconcile_all(backend)` does the three in order, working the runs in this process.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

import structlog
from sqlalchemy import select

from core import audit
from core.store.db import Database
from core.store.models import Appeal, AutomationRun, PayerTouch, PortalAccount, SubmissionIntent, utcnow
from fleet import runs

log = structlog.get_logger()

IN_DOUBT, SUBMITTING = "IN_DOUBT", "SUBMITTING"
SUBMITTED, SAFE_TO_RETRY, HUMAN_REVIEW = "SUBMITTED", "SAFE_TO_RETRY", "HUMAN_REVIEW"
SUBMIT_AUTOMATION = "reconsideration_submit"
# Same follow-up rule as a confirmed portal submission (seed: 14 days).
FOLLOW_UP_DAYS = 14


@dataclass(frozen=True)
class Decision:
    intent_id: int
    # SUBMITTED | SAFE_TO_RETRY | HUMAN_REVIEW
    state: str
    confirmation_number: str | None
    # Why, in codes: "one_match", "no_match", "several_matches", "cannot_list".
    reason: str


def decide(intent_fingerprint: dict, rows: list[Any], claimed: set[str]) -> tuple[str, str | None, str]:
    """The decision for one intent given the portal's rows (pure: the heart of the reconciler).

    `claimed` holds confirmation numbers other intents already own: a portal row for the same
    claim and reason that an earlier, confirmed act produced is not this act. Dates are not
    compared: the portal's clock and ours need not agree.
    """
    matches = [r for r in rows if r.fingerprint() == intent_fingerprint and r.confirmation_number not in claimed]
    if len(matches) == 1:
        return SUBMITTED, matches[0].confirmation_number, "one_match"
    if not matches:
        return SAFE_TO_RETRY, None, "no_match"
    return HUMAN_REVIEW, None, "several_matches"


def sweep_in_doubt(db: Database, *, stale_after: timedelta) -> list[int]:
    """SUBMITTING intents whose run is no longer running (or ran past any timeout) become IN_DOUBT."""
    cutoff = utcnow() - stale_after
    moved = []
    with db.transaction() as s:
        for intent in s.scalars(select(SubmissionIntent).where(SubmissionIntent.state == SUBMITTING)):
            run = s.get(AutomationRun, intent.run_id) if intent.run_id else None
            alive = run is not None and run.state == runs.RUNNING and run.started_at is not None \
                and _aware(run.started_at) > cutoff
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
    with db.transaction() as s:
        intent = s.get(SubmissionIntent, decision.intent_id)
        if intent is None or intent.state != IN_DOUBT:
            return False
        intent.state, intent.updated_at = decision.state, utcnow()
        if decision.state == SUBMITTED:
            intent.confirmation_number = decision.confirmation_number
            intent.submitted_at = utcnow()
            appeal = s.get(Appeal, intent.appeal_id) if intent.appeal_id else None
            if appeal is not None:
                appeal.state = "submitted"
                appeal.details = {**(appeal.details or {}), "confirmation_number": decision.confirmation_number,
                                  "intent_id": intent.id, "reconciled": True}
                s.add(PayerTouch(work_item_id=appeal.work_item_id, appeal_id=appeal.id, submitted_on=today,
                                 confirmation_number=decision.confirmation_number, channel="portal",
                                 follow_up_on=today + timedelta(days=FOLLOW_UP_DAYS),
                                 next_action="check appeal status"))
            audit.record(s, actor=f"run:{run_id}", action="appeal.submitted", record_type="submission_intent",
                         record_id=intent.id, outcome="reconciled")
    log.info("intent.reconciled", action="reconcile", intent_id=decision.intent_id, state=decision.state,
             reason=decision.reason)
    return True


def resubmit_safe(db: Database, *, backend: str = "local") -> list[str]:
    """Queue one new submission run per SAFE_TO_RETRY intent, with its original run's parameters."""
    queued = []
    with db.transaction() as s:
        rows = [(i.id, i.run_id, i.account_id) for i in
                s.scalars(select(SubmissionIntent).where(SubmissionIntent.state == SAFE_TO_RETRY))]
        origin = {r.id: (r.automation, dict(r.params or {})) for r in
                  s.scalars(select(AutomationRun).where(AutomationRun.id.in_([r[1] for r in rows if r[1]])))}
        aliases = dict(s.execute(select(PortalAccount.id, PortalAccount.alias)).all())
    for intent_id, run_id, account_id in rows:
        if run_id not in origin or origin[run_id][0] != SUBMIT_AUTOMATION:
            continue
        key = f"resubmit:{intent_id}:after:{run_id}"
        queued.append(runs.submit_run(db, SUBMIT_AUTOMATION, aliases[account_id], origin[run_id][1],
                                      runs.Priority.ON_DEMAND, key, backend=backend))
    return queued


class ReconcileSubmissions:
    """Fleet automation: decide this account's IN_DOUBT intents from the portal's submissions list."""

    name = "reconcile_submissions"
    checkpoints = ("session_open", "submissions_listed", "resolved")

    async def run(self, ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
        from automations.portal_session import checkpoint, open_session
        from portals.errors import CapabilityNotSupported

        with ctx.db.transaction() as s:
            pending = [(i.id, dict(i.fingerprint or {})) for i in s.scalars(
                select(SubmissionIntent).where(SubmissionIntent.account_id == ctx.account.id,
                                               SubmissionIntent.state == IN_DOUBT).order_by(SubmissionIntent.id))]
            claimed = set(s.scalars(select(SubmissionIntent.confirmation_number).where(
                SubmissionIntent.account_id == ctx.account.id, SubmissionIntent.confirmation_number.is_not(None))))
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
                decisions = [Decision(i, HUMAN_REVIEW, None, "cannot_list") for i, _ in pending]
            else:
                rows = await session.read(lambda: appeals.list_submitted(None))
                await checkpoint(ctx, "submissions_listed", session)
                for intent_id, fingerprint in pending:
                    state, number, reason = decide(fingerprint, rows, claimed)
                    decisions.append(Decision(intent_id, state, number, reason))
        counts: dict[str, int] = {}
        for d in decisions:
            if apply(ctx.db, d, run_id=ctx.run_id, today=ctx.today):
                counts[d.state] = counts.get(d.state, 0) + 1
                ctx.evidence.record_event("reconcile", "submission.reconciled", details={
                    "intent_id": d.intent_id, "state": d.state, "reason": d.reason,
                    "confirmation_number": d.confirmation_number})
        ctx.checkpoint("resolved")
        return {"in_doubt": len(pending), "decided": counts}


RECONCILE_SUBMISSIONS = ReconcileSubmissions()


async def reconcile_all(backend: Any) -> dict:
    """Finish recovered runs, sweep dead SUBMITTING intents to IN_DOUBT, reconcile every account that
    has some, re-submit the safe ones; all worked in this process. Idempotent: run it any time."""
    db = backend.runtime.db
    # Recovered runs first: a re-run submit finds its intent SUBMITTING and stops (never clicks);
    # only once no run holds an intent can the sweep call it in doubt.
    await backend.run_until_idle()
    swept = sweep_in_doubt(db, stale_after=timedelta(seconds=backend.runtime.config.run_timeout_s + 60))
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
