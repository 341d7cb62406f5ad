"""Priority = dollars x urgency x recoverability; Beta-smoothed learning; action and write-off policy."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from core.routing.priority import decide, score, smoothed, urgency
from core.routing.table import load_routing_table

TODAY = date(2026, 11, 27)


@pytest.fixture(scope="module")
def table():
    return load_routing_table()


def test_seed_example_4800_due_in_5_days_at_60_outranks_200_due_in_90_at_90(table):
    policy = table.priority
    big = score(Decimal("4800"), TODAY + timedelta(days=5), TODAY, 0.60, policy)
    small = score(Decimal("200"), TODAY + timedelta(days=90), TODAY, 0.90, policy)
    assert big > small


def test_urgency_falls_as_the_deadline_moves_away(table):
    policy = table.priority
    values = [urgency(d, policy) for d in (0, 1, 5, 30, 90, 365)]
    assert values == sorted(values, reverse=True)
    assert values[0] == 1.0 and urgency(policy.urgency_horizon_days, policy) == 0.5
    # Past the deadline counts as due now, not as more than due.
    assert score(Decimal("100"), TODAY - timedelta(days=3), TODAY, 1.0, policy) == 100.0


def test_item_without_deadline_is_scored_as_due_in_the_default_days(table):
    policy = table.priority
    assert score(Decimal("100"), None, TODAY, 1.0, policy) == score(
        Decimal("100"), TODAY + timedelta(days=policy.no_deadline_days), TODAY, 1.0, policy)


def test_beta_smoothing_starts_at_the_prior_and_moves_slowly():
    assert smoothed(0.5, 0, 0.0, 10) == 0.5
    # Two wins do not make a payer "always pays".
    assert 0.5 < smoothed(0.5, 2, 2.0, 10) < 0.6
    # Many losses do pull it down hard.
    assert smoothed(0.5, 200, 10.0, 10) < 0.1
    # Partial recoveries count as fractions.
    assert smoothed(0.5, 10, 5.0, 10) == pytest.approx(0.5)


def _decide(table, category, amount, due_in, *, kind="denial", org="practice"):
    return decide(category=table.category(category), kind=kind, amount=Decimal(amount),
                  due_on=TODAY + timedelta(days=due_in) if due_in is not None else None, today=TODAY,
                  threshold=table.write_off.threshold(org), policy=table.priority)


def test_write_off_threshold_is_policy_by_organisation_type(table):
    assert _decide(table, "medical_necessity", "24.99", 30).action == "write_off"
    assert _decide(table, "medical_necessity", "25.00", 30).action == "work_by_deadline"
    assert _decide(table, "medical_necessity", "150.00", 30, org="hospital").action == "write_off"
    assert "threshold" in _decide(table, "medical_necessity", "10", 30).write_off_reason


def test_rejections_are_corrected_whatever_their_amount(table):
    assert _decide(table, "rejection", "5.00", 30, kind="rejection").action == "correct_resubmit"


def test_non_recoverable_category_goes_straight_to_write_off(table):
    d = _decide(table, "non_covered", "900.00", 60)
    assert d.action == "write_off" and "non_covered" in d.write_off_reason


def test_closed_window_goes_to_write_off_with_the_date(table):
    d = _decide(table, "medical_necessity", "900.00", -1)
    assert d.action == "write_off" and (TODAY - timedelta(days=1)).isoformat() in d.write_off_reason


def test_action_classes(table):
    assert _decide(table, "medical_necessity", "4800", 5).action == "work_today"
    assert _decide(table, "medical_necessity", "4800", 60).action == "work_by_deadline"
    assert _decide(table, "coding", "4800", 5).action == "correct_resubmit"
    assert _decide(table, "pending", "4800", 5, kind="pending").action == "work_by_deadline"
