"""Priority = dollars at risk x deadline urgency x recoverability; action class and write-off policy."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from core.routing.table import Category, PriorityPolicy

ACTIONS = ("work_today", "root_cause", "correct_resubmit", "work_by_deadline", "write_off")


def days_left(due_on: date | None, today: date, policy: PriorityPolicy) -> int:
    """Days until the deadline, never negative; no deadline counts as policy.no_deadline_days."""
    if due_on is None:
        return policy.no_deadline_days
    return max((due_on - today).days, 0)


def urgency(days: int, policy: PriorityPolicy) -> float:
    """1.0 when due now, 0.5 at the horizon, falling smoothly after it."""
    horizon = policy.urgency_horizon_days
    return horizon / (horizon + max(days, 0))


def score(amount: Decimal, due_on: date | None, today: date, recoverability: float,
          policy: PriorityPolicy) -> float:
    return float(amount) * urgency(days_left(due_on, today, policy), policy) * recoverability


def smoothed(prior: float, outcomes: int, recovered: float, strength: float) -> float:
    """Posterior mean of Beta(strength*prior, strength*(1-prior)) after the recorded outcomes.

    `recovered` is the sum over outcomes of the fraction of dollars that came back (0..1 each).
    """
    return (recovered + strength * prior) / (outcomes + strength)


@dataclass(frozen=True)
class Decision:
    action: str
    write_off_reason: str | None = None


def decide(*, category: Category, kind: str, amount: Decimal, due_on: date | None, today: date,
           threshold: Decimal, policy: PriorityPolicy) -> Decision:
    """Action class for a fresh item (root-cause clustering may later override it)."""
    if kind == "pending":
        return Decision("work_by_deadline")
    if not category.recoverable:
        return Decision("write_off", f"non-recoverable category {category.name}")
    if kind in ("denial", "underpayment") and amount < threshold:
        return Decision("write_off", f"below write-off threshold {threshold}")
    if due_on is not None and due_on < today and kind != "rejection":
        return Decision("write_off", f"deadline passed on {due_on.isoformat()}")
    if category.works_by == "resubmit":
        return Decision("correct_resubmit")
    if amount >= policy.work_today_min_amount and days_left(due_on, today, policy) <= policy.work_today_max_days:
        return Decision("work_today")
    return Decision("work_by_deadline")
