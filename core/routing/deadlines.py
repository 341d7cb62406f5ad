"""Date rules: filing and appeal deadlines from DOS or the payer's determination date."""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from core.routing.payer_rules import PayerRule, Window


def add_months(start: date, months: int) -> date:
    """Calendar months, clamped to the last day of a shorter month (Jan 31 + 1 month = Feb 28/29)."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def window_end(window: Window, *, dos: date | None, determined_on: date | None) -> date | None:
    """Last day of the window, or None when its basis date is unknown."""
    basis = dos if window.basis == "dos" else determined_on
    if basis is None:
        return None
    if window.days is not None:
        return basis + timedelta(days=window.days)
    return add_months(basis, window.months or 0)


@dataclass(frozen=True)
class Deadlines:
    filing: date | None  # last day to file (or re-file a corrected claim)
    appeal: date | None  # last day for the first-level appeal / reconsideration


def compute(rule: PayerRule, *, dos: date | None, determined_on: date | None) -> Deadlines:
    return Deadlines(
        filing=window_end(rule.timely_filing, dos=dos, determined_on=determined_on),
        appeal=window_end(rule.appeal, dos=dos, determined_on=determined_on),
    )


def due_date(works_by: str, deadlines: Deadlines, today: date) -> date | None:
    """The deadline that drives urgency: the filing limit for a resubmission while it is still
    open (a corrected claim), otherwise the first-level appeal window."""
    if works_by == "resubmit" and deadlines.filing is not None and deadlines.filing >= today:
        return deadlines.filing
    return deadlines.appeal or deadlines.filing


def peer_to_peer_due(appeal_deadline: date | None, today: date, lead_days: int) -> date | None:
    """Book the peer-to-peer inside the first appeal window, lead_days before it closes."""
    if appeal_deadline is None:
        return None
    return max(today, appeal_deadline - timedelta(days=lead_days))
