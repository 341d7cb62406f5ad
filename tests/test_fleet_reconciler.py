"""The reconciler's decisions and the in-doubt sweep (the portal-facing part runs in the crash tests)."""
from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlalchemy import select, update

from core.store.models import AuditEvent, AutomationRun, SubmissionIntent, utcnow
from fleet import reconciler, runs
from fleet.reconciler import Decision, decide
from fleet_support import add_account
from portals.capabilities import SubmittedAppealRow, appeal_fingerprint

FP = appeal_fingerprint("C100", "Additional Information")


def row(claim="C100", reason="Additional Information", number="T1", on=date(2026, 11, 20)):
    return SubmittedAppealRow(number, claim, reason, on, "Received")


def decided(rows, claimed=frozenset(), *, settled=True):
    state, match, reason = decide(FP, rows, set(claimed), settled=settled)
    return state, match.confirmation_number if match else None, reason


def test_one_matching_row_means_submitted_with_its_number():
    assert decided([row(claim="C999"), row(number="T7")]) == ("SUBMITTED", "T7", "one_match")
    # Found is found, settled or not.
    assert decided([row(number="T7")], settled=False) == ("SUBMITTED", "T7", "one_match")


def test_no_matching_row_means_safe_to_retry_only_once_the_click_has_settled():
    assert decided([row(claim="C999"), row(reason="Other")])[0] == "SAFE_TO_RETRY"
    # The same claim and reason, but a confirmation another intent already owns: a different act.
    assert decided([row(number="T1")], {"T1"})[0] == "SAFE_TO_RETRY"
    assert decided([row(number="T1"), row(number="T2")], {"T1"}) == ("SUBMITTED", "T2", "one_match")
    # Regression (issue 13): a POST still on its way is not "not received"; it stays in doubt.
    assert decided([row(claim="C999")], settled=False) == ("IN_DOUBT", None, "settling")


def test_settled_counts_from_the_latest_click():
    now = utcnow()
    assert reconciler.settled(now - timedelta(seconds=30), 60, now) is False
    assert reconciler.settled(now - timedelta(seconds=61), 60, now) is True
    # SQLite hands back naive UTC datetimes.
    assert reconciler.settled((now - timedelta(seconds=61)).replace(tzinfo=None), 60, now) is True


def test_several_matching_rows_go_to_a_person():
    assert decided([row(number="T1"), row(number="T2")]) == ("HUMAN_REVIEW", None, "several_matches")


def _intent(db, account_id: int, key: str, state: str, run_state: str | None, lease_left: timedelta) -> int:
    with db.transaction() as s:
        run_id = None
        if run_state is not None:
            run_id = str(uuid.uuid4())
            s.add(AutomationRun(id=run_id, automation="reconsideration_submit", account_id=account_id,
                                params={"claim_number": "C100"}, state=run_state, backend="local",
                                started_at=utcnow(), worker_id="w1", lease_expires_at=utcnow() + lease_left))
        intent = SubmissionIntent(idempotency_key=key, account_id=account_id, state=state, fingerprint=FP,
                                  run_id=run_id)
        s.add(intent)
        s.flush()
        return intent.id


def test_sweep_marks_submitting_in_doubt_only_when_its_run_holds_no_live_lease(db):
    acc = add_account(db, "uhc-1", "uhc")
    live = _intent(db, acc, "k-live-1", "SUBMITTING", runs.RUNNING, timedelta(seconds=50))
    lapsed = _intent(db, acc, "k-lapsed-2", "SUBMITTING", runs.RUNNING, -timedelta(seconds=1))
    requeued = _intent(db, acc, "k-requeued-3", "SUBMITTING", runs.QUEUED, timedelta(seconds=50))
    orphan = _intent(db, acc, "k-orphan-4", "SUBMITTING", None, timedelta(0))
    done = _intent(db, acc, "k-done-5", "SUBMITTED", runs.SUCCEEDED, timedelta(seconds=5))
    moved = reconciler.sweep_in_doubt(db)
    assert sorted(moved) == sorted([lapsed, requeued, orphan])
    with db.transaction() as s:
        states = dict(s.execute(select(SubmissionIntent.id, SubmissionIntent.state)).all())
    assert states[live] == "SUBMITTING" and states[done] == "SUBMITTED"
    assert reconciler.accounts_in_doubt(db) == ["uhc-1"]


def test_apply_is_compare_and_set_and_audited(db):
    acc = add_account(db, "uhc-1", "uhc")
    intent = _intent(db, acc, "k-1", "IN_DOUBT", runs.FAILED, timedelta(seconds=5))
    decision = Decision(intent, "SUBMITTED", "T42", "one_match")
    assert reconciler.apply(db, Decision(intent, "IN_DOUBT", None, "settling"), run_id="r",
                            today=date(2026, 11, 20)) is False
    assert reconciler.apply(db, decision, run_id="r", today=date(2026, 11, 20)) is True
    assert reconciler.apply(db, Decision(intent, "SAFE_TO_RETRY", None, "no_match"), run_id="r",
                            today=date(2026, 11, 20)) is False
    with db.transaction() as s:
        got = s.get(SubmissionIntent, intent)
        assert (got.state, got.confirmation_number) == ("SUBMITTED", "T42")
        assert s.scalar(select(AuditEvent.action).where(AuditEvent.record_id == str(intent))) == "appeal.submitted"


def test_safe_to_retry_is_resubmitted_once_with_the_original_params(db):
    acc = add_account(db, "uhc-1", "uhc")
    intent = _intent(db, acc, "k-1", "SAFE_TO_RETRY", runs.FAILED, timedelta(seconds=5))
    first = reconciler.resubmit_safe(db)
    again = reconciler.resubmit_safe(db)
    assert len(first) == 1 and first == again
    assert runs.get_run(db, first[0]).dedupe_key == f"resubmit:{intent}:attempt:1"
    run = runs.get_run(db, first[0])
    assert (run.automation, run.params, run.priority) == ("reconsideration_submit", {"claim_number": "C100"},
                                                          runs.Priority.ON_DEMAND)
    with db.transaction() as s:
        s.execute(update(SubmissionIntent).where(SubmissionIntent.id == intent).values(state="SUBMITTED"))
