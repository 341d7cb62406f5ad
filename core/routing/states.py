"""The work-item state machine: validated, audited transitions until final disposition.

new -> assigned -> in progress (correcting | appealing) -> submitted -> awaiting_payer ->
paid | partially_paid | upheld (escalate) | more_info_requested -> closed_recovered | closed_written_off
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import structlog
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import audit
from core.routing.errors import InvalidTransition, WorkItemNotFound
from core.routing.reprioritise import dequeue
from core.store.models import PayerTouch
from core.store.models.work import WorkItem, WorkItemTransition

log = structlog.get_logger()

CLOSED = frozenset({"closed_recovered", "closed_written_off"})
# A documented write-off decision may close any open item (seed step 6: "the team makes a
# documented write-off decision"); everything else moves along the arrows below.
TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"assigned", "correcting", "appealing"}),
    "assigned": frozenset({"correcting", "appealing"}),
    "correcting": frozenset({"submitted"}),
    "appealing": frozenset({"submitted"}),
    "submitted": frozenset({"awaiting_payer"}),
    "awaiting_payer": frozenset({"paid", "partially_paid", "upheld", "more_info_requested"}),
    "paid": frozenset({"closed_recovered"}),
    "partially_paid": frozenset({"closed_recovered", "appealing"}),
    "upheld": frozenset({"appealing"}),  # escalate to the next level
    "more_info_requested": frozenset({"correcting", "appealing"}),
    "closed_recovered": frozenset(),
    "closed_written_off": frozenset(),
}
STATES = tuple(TRANSITIONS)


def allowed(from_state: str, to_state: str) -> bool:
    if from_state in CLOSED:
        return False
    return to_state == "closed_written_off" or to_state in TRANSITIONS.get(from_state, frozenset())


def get_item(session: Session, item_id: int, *, lock: bool = True) -> WorkItem:
    stmt = select(WorkItem).where(WorkItem.id == item_id)
    if lock:
        stmt = stmt.with_for_update()
    item = session.scalar(stmt)
    if item is None:
        raise WorkItemNotFound(f"work item {item_id} does not exist")
    return item


def transition(session: Session, item_id: int, to_state: str, *, actor: str, now: datetime,
               reason: str | None = None, recovered_amount: Decimal | None = None,
               owner: str | None = None) -> WorkItem:
    """Move one item (optionally naming its owner), or raise InvalidTransition and change nothing."""
    item = get_item(session, item_id)
    moved = move(session, item, to_state, actor=actor, now=now, reason=reason, recovered_amount=recovered_amount)
    if owner:
        moved.owner = owner[:80]
    return moved


def move(session: Session, item: WorkItem, to_state: str, *, actor: str, now: datetime,
         reason: str | None = None, recovered_amount: Decimal | None = None) -> WorkItem:
    if to_state not in TRANSITIONS:
        raise InvalidTransition(f"unknown state {to_state!r}; states: {', '.join(STATES)}")
    if not allowed(item.state, to_state):
        nxt = sorted(TRANSITIONS.get(item.state, ())) + ([] if item.state in CLOSED else ["closed_written_off"])
        raise InvalidTransition(f"work item {item.id}: {item.state} -> {to_state} is not allowed"
                                f" (allowed: {', '.join(nxt) or 'none, it is closed'})")
    if to_state == "closed_written_off" and not (reason and reason.strip()):
        raise InvalidTransition("a write-off needs a documented reason")
    from_state = item.state
    item.state = to_state
    item.updated_at = now
    if to_state in CLOSED:
        dequeue(session, item.id)
        item.is_open = False
        item.closed_at = now
        if recovered_amount is None:
            recovered_amount = _paid_so_far(session, item.id) if to_state == "closed_recovered" else None
        if recovered_amount is not None:
            item.recovered_amount = recovered_amount
        elif item.recovered_amount is None:
            item.recovered_amount = Decimal("0.00")
        if to_state == "closed_written_off":
            item.reason = reason[:500] if reason else item.reason
    session.add(WorkItemTransition(work_item_id=item.id, from_state=from_state, to_state=to_state, actor=actor,
                                   at=now, reason=reason[:500] if reason else None))
    audit.record(session, actor=actor, action="work_item.transition", record_type="work_item",
                 record_id=item.id, outcome=to_state[:20])
    session.flush()
    log.info("work_item.moved", item=item.id, from_state=from_state, to_state=to_state)
    return item


def _paid_so_far(session: Session, item_id: int) -> Decimal:
    total = session.scalar(select(func.coalesce(func.sum(PayerTouch.paid_amount), 0))
                           .where(PayerTouch.work_item_id == item_id))
    return Decimal(str(total)).quantize(Decimal("0.01"))
