"""Payer touches: every submission and every payer answer on a work item, with follow-up dates."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from core.routing.config import RoutingConfig, load_config
from core.routing.errors import TouchInvalid
from core.routing.states import get_item, move
from core.store.models import PayerTouch

CHANNELS = ("portal", "mail", "fax", "phone")
# Touch outcome -> the state it puts the item in.
OUTCOME_STATE = {
    "paid": "paid",
    "partially_paid": "partially_paid",
    "upheld": "upheld",
    "more_info": "more_info_requested",
    "written_off": "closed_written_off",
}


@dataclass(frozen=True)
class Touch:
    """One payer touch as a person or an automation reports it."""

    submitted_on: date | None = None
    confirmation_number: str | None = None
    channel: str | None = None
    next_action: str | None = None
    owner: str | None = None
    outcome: str | None = None
    paid_amount: Decimal | None = None
    billed_amount: Decimal | None = None
    write_off_reason: str | None = None
    root_cause: str | None = None
    appeal_id: int | None = None


def record_touch(session: Session, item_id: int, touch: Touch, *, actor: str, now: datetime,
                 config: RoutingConfig | None = None) -> PayerTouch:
    """Store the touch and move the item accordingly: a submission puts it in awaiting_payer with a
    follow-up date (14 days portal, 30 mail/fax); an outcome moves it to paid / partially_paid /
    upheld / more_info_requested, or closes it as written off."""
    _validate(touch)
    config = config or load_config()
    item = get_item(session, item_id)
    follow_up = None
    if touch.submitted_on is not None:
        follow_up = touch.submitted_on + timedelta(days=config.table.follow_up_days(touch.channel or "mail"))
        if item.state in ("new", "assigned"):
            move(session, item, _work_state(item.category, config), actor=actor, now=now)
        if item.state in ("correcting", "appealing"):
            move(session, item, "submitted", actor=actor, now=now)
        if item.state == "submitted":
            move(session, item, "awaiting_payer", actor=actor, now=now)
        item.follow_up_on = follow_up
    row = PayerTouch(
        work_item_id=item.id, appeal_id=touch.appeal_id, submitted_on=touch.submitted_on,
        confirmation_number=touch.confirmation_number, channel=touch.channel, follow_up_on=follow_up,
        next_action=touch.next_action, owner=touch.owner, outcome=touch.outcome, paid_amount=touch.paid_amount,
        billed_amount=touch.billed_amount if touch.billed_amount is not None else item.amount,
        write_off_reason=touch.write_off_reason, root_cause=touch.root_cause, created_at=now)
    session.add(row)
    session.flush()
    if touch.owner:
        item.owner = touch.owner
    if touch.root_cause:
        item.root_cause = touch.root_cause[:200]
    if touch.outcome:
        target = OUTCOME_STATE[touch.outcome]
        if item.state == "submitted" and target != "closed_written_off":
            move(session, item, "awaiting_payer", actor=actor, now=now)
        move(session, item, target, actor=actor, now=now, reason=touch.write_off_reason)
        if touch.paid_amount is not None and target != "closed_written_off":
            item.recovered_amount = (item.recovered_amount or Decimal("0")) + touch.paid_amount
        item.follow_up_on = None if target == "closed_written_off" else item.follow_up_on
    item.updated_at = now
    session.flush()
    return row


def _work_state(category: str, config: RoutingConfig) -> str:
    """A corrected claim is "correcting"; an appeal or dispute is "appealing"."""
    try:
        works_by = config.table.category(category).works_by
    except KeyError:  # tasks and root-cause items carry non-table categories
        return "appealing"
    return "correcting" if works_by == "resubmit" else "appealing"


def _validate(touch: Touch) -> None:
    if touch.channel is not None and touch.channel not in CHANNELS:
        raise TouchInvalid(f"unknown channel {touch.channel!r}; channels: {', '.join(CHANNELS)}")
    if touch.submitted_on is not None and touch.channel is None:
        raise TouchInvalid("a submission needs its channel (portal, mail, fax or phone)")
    if touch.outcome is not None and touch.outcome not in OUTCOME_STATE:
        raise TouchInvalid(f"unknown outcome {touch.outcome!r}; outcomes: {', '.join(OUTCOME_STATE)}")
    if touch.outcome in ("paid", "partially_paid") and touch.paid_amount is None:
        raise TouchInvalid(f"outcome {touch.outcome} needs the paid amount")
    if touch.outcome == "written_off" and not (touch.write_off_reason and touch.write_off_reason.strip()):
        raise TouchInvalid("a write-off needs its reason")
    for name in ("paid_amount", "billed_amount"):
        value = getattr(touch, name)
        if value is not None and value < 0:
            raise TouchInvalid(f"{name} cannot be negative")
    if touch.submitted_on is None and touch.outcome is None and not touch.next_action:
        raise TouchInvalid("a touch records a submission, an outcome or a next action")
