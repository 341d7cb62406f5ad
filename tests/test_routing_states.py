"""Work-item state machine and payer touches: validated, audited, with follow-up dates."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

import routing_support as rs
from core.routing import Touch, load_config, record_touch, route_pending, transition
from core.routing.errors import InvalidTransition, TouchInvalid, WorkItemNotFound
from core.store.models import AuditEvent, PayerTouch
from core.store.models.work import WorkItem, WorkItemTransition

TODAY = date(2026, 11, 27)
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def config():
    return load_config()


@pytest.fixture
def item_id(db, config) -> int:
    with db.transaction() as s:
        aetna = rs.payer(s, "AETNA")
        rs.payment(s, rs.remittance(s, aetna), rs.claim(s, aetna), lines=[rs.denied_line("50", "900.00")])
        route_pending(s, TODAY, now=NOW, config=config)
        return s.scalar(select(WorkItem.id).where(WorkItem.kind == "denial"))


def _move(db, item_id, state, **kw):
    with db.transaction() as s:
        return transition(s, item_id, state, actor="biller-1", now=NOW, **kw).state


def test_full_path_to_recovered_is_recorded_and_audited(db, item_id):
    for state in ("assigned", "appealing", "submitted", "awaiting_payer", "paid"):
        assert _move(db, item_id, state) == state
    _move(db, item_id, "closed_recovered", recovered_amount=Decimal("900.00"))
    with db.transaction() as s:
        item = s.get(WorkItem, item_id)
        assert (item.state, item.is_open, item.recovered_amount) == ("closed_recovered", False, Decimal("900.00"))
        steps = s.execute(select(WorkItemTransition.from_state, WorkItemTransition.to_state)
                          .where(WorkItemTransition.work_item_id == item_id).order_by(WorkItemTransition.id)).all()
        assert [tuple(r) for r in steps][0] == ("new", "assigned") and steps[-1][1] == "closed_recovered"
        audits = s.scalars(select(AuditEvent.outcome).where(AuditEvent.action == "work_item.transition",
                                                            AuditEvent.record_id == str(item_id))).all()
        assert len(audits) == 6 and audits[-1] == "closed_recovered"


@pytest.mark.parametrize("path,bad", [
    ((), "paid"),
    (("assigned",), "awaiting_payer"),
    (("assigned", "appealing", "submitted"), "closed_recovered"),
    (("assigned", "appealing", "submitted", "awaiting_payer", "upheld"), "paid"),
])
def test_invalid_transitions_are_refused_and_change_nothing(db, item_id, path, bad):
    for state in path:
        _move(db, item_id, state)
    with pytest.raises(InvalidTransition, match="not allowed"):
        _move(db, item_id, bad)
    with db.transaction() as s:
        assert s.get(WorkItem, item_id).state == (path[-1] if path else "new")


def test_upheld_escalates_back_to_appealing(db, item_id):
    for state in ("assigned", "appealing", "submitted", "awaiting_payer", "upheld", "appealing"):
        assert _move(db, item_id, state) == state


def test_write_off_needs_a_reason_and_closes_for_good(db, item_id):
    with pytest.raises(InvalidTransition, match="reason"):
        _move(db, item_id, "closed_written_off")
    _move(db, item_id, "closed_written_off", reason="past appeal window; manager approved")
    with db.transaction() as s:
        item = s.get(WorkItem, item_id)
        assert (item.is_open, item.recovered_amount, item.reason) == (False, Decimal("0.00"),
                                                                      "past appeal window; manager approved")
    with pytest.raises(InvalidTransition, match="closed"):
        _move(db, item_id, "assigned")


def test_unknown_state_and_missing_item_are_typed_errors(db, item_id):
    with pytest.raises(InvalidTransition, match="unknown state"):
        _move(db, item_id, "done")
    with pytest.raises(WorkItemNotFound):
        _move(db, 999999, "assigned")


def _touch(db, item_id, config, **kw):
    with db.transaction() as s:
        record_touch(s, item_id, Touch(**kw), actor="biller-1", now=NOW, config=config)
    with db.transaction() as s:
        return s.get(WorkItem, item_id), s.scalars(select(PayerTouch).where(PayerTouch.work_item_id == item_id)
                                                   .order_by(PayerTouch.id)).all()[-1]


@pytest.mark.parametrize("channel,days", [("portal", 14), ("mail", 30), ("fax", 30)])
def test_submission_touch_sets_follow_up_by_channel(db, item_id, config, channel, days):
    submitted = date(2026, 11, 20)
    item, touch = _touch(db, item_id, config, submitted_on=submitted, channel=channel, confirmation_number="RCN-1",
                         next_action="check status", owner="appeals-1")
    assert item.state == "awaiting_payer" and item.owner == "appeals-1"
    assert item.follow_up_on == touch.follow_up_on == submitted + timedelta(days=days)
    assert touch.billed_amount == Decimal("900.00") and touch.confirmation_number == "RCN-1"


def test_outcome_touches_move_the_item_and_count_recovered_dollars(db, item_id, config):
    _touch(db, item_id, config, submitted_on=date(2026, 11, 20), channel="portal")
    item, _ = _touch(db, item_id, config, outcome="partially_paid", paid_amount=Decimal("400.00"))
    assert (item.state, item.recovered_amount) == ("partially_paid", Decimal("400.00"))
    _move(db, item_id, "closed_recovered")
    with db.transaction() as s:
        assert s.get(WorkItem, item_id).recovered_amount == Decimal("400.00")


def test_written_off_outcome_closes_with_the_reason_and_root_cause(db, item_id, config):
    _touch(db, item_id, config, submitted_on=date(2026, 11, 20), channel="mail")
    item, touch = _touch(db, item_id, config, outcome="written_off", write_off_reason="upheld at level 2",
                         root_cause="VOB missed plan termination")
    assert (item.state, item.is_open, item.root_cause) == ("closed_written_off", False, "VOB missed plan termination")
    assert touch.write_off_reason == "upheld at level 2"


@pytest.mark.parametrize("kw,message", [
    ({"submitted_on": date(2026, 11, 20)}, "channel"),
    ({"outcome": "paid"}, "paid amount"),
    ({"outcome": "written_off"}, "reason"),
    ({"outcome": "maybe"}, "unknown outcome"),
    ({"submitted_on": date(2026, 11, 20), "channel": "pigeon"}, "unknown channel"),
    ({"outcome": "paid", "paid_amount": Decimal("-1")}, "negative"),
    ({}, "submission, an outcome or a next action"),
])
def test_bad_touches_are_refused_and_nothing_is_written(db, item_id, config, kw, message):
    with pytest.raises(TouchInvalid, match=message):
        with db.transaction() as s:
            record_touch(s, item_id, Touch(**kw), actor="biller-1", now=NOW, config=config)
    with db.transaction() as s:
        assert s.scalars(select(PayerTouch)).all() == []
        assert s.get(WorkItem, item_id).state == "new"


def test_outcome_before_submission_is_an_invalid_transition(db, item_id, config):
    with pytest.raises(InvalidTransition):
        with db.transaction() as s:
            record_touch(s, item_id, Touch(outcome="upheld"), actor="biller-1", now=NOW, config=config)
    with db.transaction() as s:
        assert s.scalars(select(PayerTouch)).all() == []


def test_assigning_names_the_owner_and_follow_ups_come_due(db, item_id, config):
    from core.routing import summary

    with db.transaction() as s:
        transition(s, item_id, "assigned", actor="lead", now=NOW, owner="appeals-2")
        assert s.get(WorkItem, item_id).owner == "appeals-2"
    _touch(db, item_id, config, submitted_on=date(2026, 11, 1), channel="portal")
    with db.transaction() as s:
        assert summary(s, now=NOW).follow_ups_due == 1  # due 2026-11-15, today is 2026-11-27
        assert summary(s, now=datetime(2026, 11, 14, tzinfo=timezone.utc)).follow_ups_due == 0
