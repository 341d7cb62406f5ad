"""A team's queue as people work it: filtered, sorted, paged by keyset, exported, claimed, moved in bulk.

Paging never uses OFFSET: a page asks for the rows after (or before) the last row it showed, by the
sort key and the item id, so page 2,000 costs what page 1 costs. The default sort walks
ix_work_queue_page (team, priority, work_item_id) and joins work_items by primary key, stopping at
the first `limit` rows that pass the filters. Moves go through the state machine (states.py), each
item in its own savepoint, so one refused move does not undo the others.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import and_, func, literal, or_, select, tuple_
from sqlalchemy.orm import Session

from core import audit
from core.routing.errors import InvalidTransition, WorkItemNotFound
from core.routing.queues import QueueRow
from core.routing.states import get_item, move
from core.store.models import Payer
from core.store.models.work import WorkItem, WorkQueueEntry

SORTS = ("priority", "due", "amount")
# The owner filter's value for items nobody owns yet.
UNASSIGNED = "(unassigned)"
# Sorts items without a deadline after every dated one.
NO_DUE = date(9999, 12, 31)


@dataclass(frozen=True)
class QueueView:
    """Which team's queue, filtered how and sorted by what (all optional but the team)."""

    team: str
    payer: str | None = None
    category: str | None = None
    # A user name, or UNASSIGNED.
    owner: str | None = None
    state: str | None = None
    due_before: date | None = None
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    # priority (highest first) | due (soonest first) | amount (largest first)
    sort: str = "priority"

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            raise ValueError(f"sort must be one of {', '.join(SORTS)}")


@dataclass(frozen=True)
class Cursor:
    """The sort key and id of a row a page starts after (or ends before)."""

    key: str
    id: int

    def encode(self) -> str:
        return f"{self.key}~{self.id}"

    @classmethod
    def decode(cls, text: str) -> "Cursor":
        key, _, ident = text.rpartition("~")
        return cls(key, int(ident))


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    # Cursor for the next page (None on the last page) and for the previous one (None on the first).
    next: Cursor | None
    previous: Cursor | None


def _sort_column(view: QueueView):
    if view.sort == "priority":
        return WorkQueueEntry.priority
    if view.sort == "due":
        return func.coalesce(WorkItem.due_on, literal(NO_DUE))
    return WorkItem.amount


def _key_value(view: QueueView, text: str):
    if view.sort == "priority":
        return float(text)
    if view.sort == "due":
        return date.fromisoformat(text)
    return Decimal(text)


def _key_text(view: QueueView, row: QueueRow) -> str:
    if view.sort == "priority":
        return repr(row.priority)
    if view.sort == "due":
        return (row.due_on or NO_DUE).isoformat()
    return str(row.amount)


def _filtered(session: Session, view: QueueView):
    """SELECT of the view's rows, unordered; None when a named payer does not exist."""
    conditions = [WorkQueueEntry.team == view.team]
    if view.payer:
        payer_id = session.scalar(select(Payer.id).where(Payer.code == view.payer))
        if payer_id is None:
            return None
        conditions.append(WorkItem.payer_id == payer_id)
    if view.category:
        conditions.append(WorkItem.category == view.category)
    if view.owner == UNASSIGNED:
        conditions.append(WorkItem.owner.is_(None))
    elif view.owner:
        conditions.append(WorkItem.owner == view.owner)
    if view.state:
        conditions.append(WorkItem.state == view.state)
    if view.due_before:
        conditions.append(WorkItem.due_on < view.due_before)
    if view.min_amount is not None:
        conditions.append(WorkItem.amount >= view.min_amount)
    if view.max_amount is not None:
        conditions.append(WorkItem.amount <= view.max_amount)
    return (select(WorkItem.id, WorkItem.kind, WorkItem.team, WorkItem.category, WorkItem.carc, Payer.code,
                   WorkItem.amount, WorkItem.appeal_deadline, WorkItem.due_on, WorkItem.sla_due_at,
                   WorkQueueEntry.priority, WorkItem.action, WorkItem.state, WorkItem.owner, WorkItem.parent_id,
                   WorkItem.reason, WorkItem.rarc)
            .select_from(WorkQueueEntry).join(WorkItem, WorkItem.id == WorkQueueEntry.work_item_id)
            .outerjoin(Payer, Payer.id == WorkItem.payer_id).where(and_(*conditions)))


def _ordered(view: QueueView, stmt, *, after: Cursor | None, before: Cursor | None):
    """Order by the sort key (due ascending; priority and amount descending), id breaking ties."""
    col, ident = _sort_column(view), WorkQueueEntry.work_item_id
    ascending = view.sort == "due"
    backwards = before is not None
    if after is not None or before is not None:
        at = after or before
        pair, bound = tuple_(col, ident), tuple_(literal(_key_value(view, at.key)), literal(at.id))
        stmt = stmt.where(pair > bound if ascending != backwards else pair < bound)
    if ascending != backwards:
        return stmt.order_by(col.asc(), ident.asc())
    return stmt.order_by(col.desc(), ident.desc())


def queue_view_page(session: Session, view: QueueView, *, after: Cursor | None = None,
                    before: Cursor | None = None, limit: int = 50) -> QueuePage:
    """One page of the view: the first, the one after `after`, or the one before `before`."""
    stmt = _filtered(session, view)
    if stmt is None:
        return QueuePage([], None, None)
    got = [QueueRow(*r) for r in session.execute(
        _ordered(view, stmt, after=after, before=before).limit(limit + 1))]
    more = len(got) > limit
    rows = got[:limit]
    if before is not None:
        rows.reverse()
        has_next, has_previous = True, more
    else:
        has_next, has_previous = more, after is not None
    cursor = lambda row: Cursor(_key_text(view, row), row.id)  # noqa: E731
    return QueuePage(rows, cursor(rows[-1]) if rows and has_next else None,
                     cursor(rows[0]) if rows and has_previous else None)


def iter_view(session: Session, view: QueueView, *, batch: int = 1000) -> Iterator[QueueRow]:
    """Every row of the view in order, read in keyset batches (for exports)."""
    after = None
    while True:
        page = queue_view_page(session, view, after=after, limit=batch)
        yield from page.rows
        if page.next is None:
            return
        after = page.next


def team_size(session: Session, team: str) -> int:
    """Open items in a team's queue (an index-only count)."""
    return session.scalar(select(func.count()).select_from(WorkQueueEntry).where(WorkQueueEntry.team == team)) or 0


@dataclass(frozen=True)
class BulkResult:
    done: list[int]
    # item id -> why it was refused
    refused: dict[int, str]


def assign(session: Session, item_id: int, owner: str, *, actor: str, now: datetime) -> WorkItem:
    """Give an item an owner; a new item becomes assigned (the state machine's first step)."""
    item = get_item(session, item_id)
    if not item.is_open:
        raise InvalidTransition(f"work item {item_id} is closed; it cannot be assigned")
    if item.state == "new":
        move(session, item, "assigned", actor=actor, now=now, reason=f"assigned to {owner}"[:500])
    item.owner = owner[:80]
    item.updated_at = now
    audit.record(session, actor=actor, action="work_item.assigned", record_type="work_item", record_id=item.id)
    return item


def bulk(session: Session, item_ids: list[int], action, *, allowed_teams: frozenset[str] | None) -> BulkResult:
    """Apply `action(item_id)` to each item in its own savepoint; refusals are collected, not raised.

    allowed_teams (None = any) keeps a person to the queues they may work."""
    done, refused = [], {}
    for item_id in dict.fromkeys(item_ids):
        try:
            with session.begin_nested():
                if allowed_teams is not None:
                    team = session.scalar(select(WorkItem.team).where(WorkItem.id == item_id))
                    if team not in allowed_teams:
                        raise WorkItemNotFound(f"work item {item_id} is not in your teams' queues")
                action(item_id)
            done.append(item_id)
        except (InvalidTransition, WorkItemNotFound) as exc:
            refused[item_id] = str(exc)
    return BulkResult(done, refused)


def with_sort(view: QueueView, sort: str) -> QueueView:
    return replace(view, sort=sort)
