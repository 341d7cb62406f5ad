"""The exactly-once journal of portal submissions (DESIGN §5): every state change of a SubmissionIntent.

PLANNED -> SUBMITTING (committed before each click: the attempt's account, run and time) -> SUBMITTED,
or FAILED_BEFORE_SUBMIT (nothing was sent; a new attempt may start, on another account if no click was
ever sent). A click without a confirmation leaves IN_DOUBT; only the reconciler resolves it from the
portal's own list: SUBMITTED, SAFE_TO_RETRY (not listed after the settle period; a new attempt may
start on the same account) or HUMAN_REVIEW. `mark_submitted` is the one place an intent becomes
SUBMITTED, whoever learnt the confirmation number.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from automations.errors import InvalidParams, SubmissionNotAllowed
from core import audit
from core.store.db import Database
from core.store.models import Appeal, PayerTouch, SubmissionIntent, utcnow

PLANNED, SUBMITTING, SUBMITTED = "PLANNED", "SUBMITTING", "SUBMITTED"
FAILED_BEFORE_SUBMIT, IN_DOUBT = "FAILED_BEFORE_SUBMIT", "IN_DOUBT"
SAFE_TO_RETRY, HUMAN_REVIEW = "SAFE_TO_RETRY", "HUMAN_REVIEW"
# States from which a new attempt may start; SUBMITTING / IN_DOUBT / HUMAN_REVIEW never.
STARTABLE = (PLANNED, FAILED_BEFORE_SUBMIT, SAFE_TO_RETRY)
# Days to the follow-up of a portal submission (seed: 14 days portal, 30 days mail).
PORTAL_FOLLOW_UP_DAYS = 14


@dataclass(frozen=True)
class Intent:
    id: int
    state: str
    confirmation_number: str | None
    account_id: int
    # Clicks sent so far; with any, only the account that sent them may try again (its list shows them).
    attempts: int


def plan(db: Database, *, key: str, appeal_id: int | None, account_id: int, fingerprint: dict,
         run_id: str) -> Intent:
    """The intent for this act, created PLANNED if new; a startable one is taken by this run."""
    for _ in range(2):
        try:
            with db.transaction() as s:
                row = s.scalar(select(SubmissionIntent).where(SubmissionIntent.idempotency_key == key))
                if row is None:
                    row = SubmissionIntent(idempotency_key=key, appeal_id=appeal_id, account_id=account_id,
                                           state=PLANNED, fingerprint=fingerprint, run_id=run_id)
                    s.add(row)
                    s.flush()
                elif row.fingerprint != fingerprint:
                    raise InvalidParams(f"intent {key!r} exists for a different claim or reason")
                elif row.state in STARTABLE:
                    if row.account_id != account_id and row.attempts:
                        raise SubmissionNotAllowed(
                            f"intent {row.id} was already sent from another account; only that account's list can "
                            f"show it, so a new attempt must use it")
                    row.run_id, row.account_id = run_id, account_id
                return Intent(row.id, row.state, row.confirmation_number, row.account_id, row.attempts)
        except IntegrityError:
            continue  # another run created it between our read and insert: read it again
    raise SubmissionNotAllowed(f"intent {key!r} could not be planned")


def move(db: Database, intent_id: int, allowed: tuple[str, ...], to: str, **values: Any) -> None:
    """Compare-and-set the intent's state in its own committed transaction."""
    with db.transaction() as s:
        _move(s, intent_id, allowed, to, **values)


def _move(s: Session, intent_id: int, allowed: tuple[str, ...], to: str, **values: Any) -> None:
    changed = s.execute(update(SubmissionIntent)
                        .where(SubmissionIntent.id == intent_id, SubmissionIntent.state.in_(allowed))
                        .values(state=to, updated_at=utcnow(), **values)).rowcount
    if changed != 1:
        current = s.scalar(select(SubmissionIntent.state).where(SubmissionIntent.id == intent_id))
        raise SubmissionNotAllowed(f"intent {intent_id} is {current}, not one of {allowed}; refusing to submit")


def begin_attempt(db: Database, intent_id: int, *, run_id: str, account_id: int) -> None:
    """SUBMITTING, committed before the click: this attempt's account, run and time are journalled first,
    so whatever happens next the reconciler knows a click may have gone out, from where, and when."""
    with db.transaction() as s:
        _move(s, intent_id, STARTABLE, SUBMITTING, run_id=run_id, account_id=account_id,
              attempts=SubmissionIntent.attempts + 1, submitting_at=utcnow())


def claimed_elsewhere(db: Database, intent_id: int) -> set[str]:
    """Confirmation numbers other intents own: a matching portal row with one of these is another act."""
    with db.transaction() as s:
        return set(s.scalars(select(SubmissionIntent.confirmation_number).where(
            SubmissionIntent.id != intent_id, SubmissionIntent.confirmation_number.is_not(None))))


def unclaimed_matches(fingerprint: dict, rows: list[Any], claimed: set[str]) -> list[Any]:
    """Portal rows that could be this intent's act: same fingerprint, not owned by another intent.

    Dates are not compared: the portal's clock and ours need not agree.
    """
    return [r for r in rows if r.fingerprint() == fingerprint and r.confirmation_number not in claimed]


def mark_submitted(db: Database, intent_id: int, *, allowed: tuple[str, ...], confirmation_number: str,
                   submitted_on: date, actor: str, how: str) -> bool:
    """The one place an intent becomes SUBMITTED: the intent, its appeal and the payer touch, atomically.

    `how` says who learnt the number: "confirmed" (the run read it after its click), "reconciled" (the
    portal's list, for an act in doubt), "found_before_resend" (an earlier attempt arrived after all).
    Returns False when the intent was no longer in an allowed state (someone else decided first).
    """
    with db.transaction() as s:
        changed = s.execute(update(SubmissionIntent)
                            .where(SubmissionIntent.id == intent_id, SubmissionIntent.state.in_(allowed))
                            .values(state=SUBMITTED, confirmation_number=confirmation_number,
                                    submitted_at=utcnow(), updated_at=utcnow())).rowcount
        if changed != 1:
            return False
        appeal_id = s.scalar(select(SubmissionIntent.appeal_id).where(SubmissionIntent.id == intent_id))
        appeal = s.get(Appeal, appeal_id) if appeal_id is not None else None
        if appeal is not None:
            appeal.state = "submitted"
            appeal.details = {**(appeal.details or {}), "confirmation_number": confirmation_number,
                              "submitted_on": submitted_on.isoformat(), "intent_id": intent_id, "how": how}
            s.add(PayerTouch(work_item_id=appeal.work_item_id, appeal_id=appeal.id, submitted_on=submitted_on,
                             confirmation_number=confirmation_number, channel="portal",
                             follow_up_on=submitted_on + timedelta(days=PORTAL_FOLLOW_UP_DAYS),
                             next_action="check appeal status"))
        audit.record(s, actor=actor, action="appeal.submitted", record_type="submission_intent",
                     record_id=intent_id, outcome=how)
    return True
