"""A team's queue as people work it: filtered, sorted, paged by keyset, exported, claimed, moved in bulk.

Paging never uses OFFSET: a page asks for the rows after (or before) the last row it showed, by the
sort key and the item id, so page 2,000 costs what page 1 costs. The default sort walks
ix_work_queue_page (team, priority, work_item_id) and joins work_items by primary key, stopping at
the first `limit` rows that pass the filters. Moves go through the state machine (states.py), each
item in its own savepoint, so one refused move does not undo the others.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, literal, select, true, tuple_
from sqlalchemy.orm import Session

from core import audit
from core.routing.errors import InvalidTransition, WorkItemNotFound
from core.routing.queues import QueueRow
from core.routing.states import get_item, move
from core.store.models import Payer
from core.store.models.work import WorkItem, WorkQueueEntry

SORTS = ("priority", "due", "amount")
# Index entries a filtered page walks before it reads the filter's matches instead (see _read_segment).
WINDOW = 2000
# The owner filter's value for items nobody owns yet.
UNASSIGNED = "(unassigned)"


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
    """Where a page starts after (or ends before): the row's segment of the order, sort key and id."""

    segment: int
    key: str
    id: int

    def encode(self) -> str:
        return f"{self.segment}~{self.key}~{self.id}"

    @classmethod
    def decode(cls, text: str) -> "Cursor":
        segment, key, ident = text.split("~")
        return cls(int(segment), key, int(ident))


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    # Cursor for the next page (None on the last page) and for the previous one (None on the first).
    next: Cursor | None
    previous: Cursor | None


def _order(view: QueueView):
    """(descending?, id column, segments): the order is the segments one after another, each walked along
    one index by (key, id). Due dates: dated items soonest first, then the undated ones by id (NULLs sort
    differently on the two backends, so they get their own segment rather than a COALESCE no index serves)."""
    if view.sort == "priority":
        return True, WorkQueueEntry.work_item_id, [(None, WorkQueueEntry.priority)]
    if view.sort == "amount":
        return True, WorkItem.id, [(None, WorkItem.amount)]
    return False, WorkItem.id, [(WorkItem.due_on.is_not(None), WorkItem.due_on), (WorkItem.due_on.is_(None), None)]


def _key_value(view: QueueView, text: str):
    if view.sort == "priority":
        return float(text)
    if view.sort == "due":
        return date.fromisoformat(text)
    return Decimal(text)


def _key_text(view: QueueView, row: QueueRow, key) -> str:
    if key is None:
        return ""
    if view.sort == "priority":
        return repr(row.priority)
    if view.sort == "due":
        return row.due_on.isoformat()
    return str(row.amount)


def _filters(session: Session, view: QueueView) -> list | None:
    """The view's conditions on work_items; None when a named payer does not exist."""
    conditions = []
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
    return conditions


def _rows(source, *conditions):
    """The page columns, read from `source` joined to work_items, work_queue and payers."""
    stmt = select(WorkItem.id, WorkItem.kind, WorkItem.team, WorkItem.category, WorkItem.carc, Payer.code,
                  WorkItem.amount, WorkItem.appeal_deadline, WorkItem.due_on, WorkItem.sla_due_at,
                  WorkQueueEntry.priority, WorkItem.action, WorkItem.state, WorkItem.owner, WorkItem.parent_id,
                  WorkItem.reason, WorkItem.rarc)
    if source is None:
        stmt = stmt.select_from(WorkQueueEntry).join(WorkItem, WorkItem.id == WorkQueueEntry.work_item_id)
    else:
        stmt = (stmt.select_from(source).join(WorkItem, WorkItem.id == source.c.id)
                .join(WorkQueueEntry, WorkQueueEntry.work_item_id == WorkItem.id))
    return stmt.outerjoin(Payer, Payer.id == WorkItem.payer_id).where(*conditions)


def _read_segment(session: Session, view: QueueView, filters: list, segment: int, *, bound: Cursor | None,
                  backwards: bool, limit: int) -> list[tuple[int, QueueRow]]:
    """Up to `limit` rows of one segment past `bound`, in page order.

    Unfiltered, that is one walk along the segment's index. Filtered, the walk first looks at the next
    WINDOW index entries only: enough for a filter most items pass. When fewer than `limit` of them
    pass, the filter is selective, and the rest is read the other way round: the items that pass (found
    by the filters' own indexes, materialised) ordered by the sort key."""
    descending, ident, segments = _order(view)
    condition, key = segments[segment]
    down = descending != backwards
    columns = (ident,) if key is None else (key, ident)

    def beyond(at: tuple | None, inclusive: bool = False) -> list:
        if at is None:
            return []
        pair = columns[0] if key is None else tuple_(*columns)
        value = literal(at[0]) if key is None else tuple_(*map(literal, at))
        if inclusive:
            return [pair <= value if not down else pair >= value]
        return [pair < value if down else pair > value]

    start = None if bound is None else ((bound.id,) if key is None else (_key_value(view, bound.key), bound.id))
    # The queue's own conditions: its team (and, walking work_items' indexes, open items only).
    where = [WorkQueueEntry.team == view.team] if view.sort == "priority" else [
        WorkItem.team == view.team, WorkItem.is_open == true()]
    if condition is not None:
        where.append(condition)
    order = [c.desc() if down else c.asc() for c in columns]

    def run(stmt, n):
        return [(segment, QueueRow(*row)) for row in session.execute(stmt.order_by(*order).limit(n))]

    if not filters:
        return run(_rows(None, *where, *beyond(start)), limit)
    driving = WorkQueueEntry if view.sort == "priority" else WorkItem
    last = session.execute(select(*columns).select_from(driving).where(*where, *beyond(start))
                           .order_by(*order).offset(WINDOW - 1).limit(1)).first()
    window = [] if last is None else [*beyond(tuple(last), inclusive=True)]
    got = run(_rows(None, *where, *beyond(start), *window, *filters), limit)
    if last is None or len(got) >= limit:
        return got
    matched = (select(WorkItem.id).where(WorkItem.team == view.team, WorkItem.is_open == true(),
                                         *([condition] if condition is not None else []), *filters)
               .cte("matched").prefix_with("MATERIALIZED"))
    return got + run(_rows(matched, *beyond(tuple(last))), limit - len(got))


def queue_view_page(session: Session, view: QueueView, *, after: Cursor | None = None,
                    before: Cursor | None = None, limit: int = 50) -> QueuePage:
    """One page of the view: the first, the one after `after`, or the one before `before`."""
    filters = _filters(session, view)
    if filters is None:
        return QueuePage([], None, None)
    segments = len(_order(view)[2])
    backwards = before is not None
    at = before if backwards else after
    start = at.segment if at is not None else 0
    order = range(start, -1, -1) if backwards else range(start, segments)
    got: list[tuple[int, QueueRow]] = []
    for segment in order:
        got += _read_segment(session, view, filters, segment, bound=at if segment == start else None,
                             backwards=backwards, limit=limit + 1 - len(got))
        if len(got) > limit:
            break
    more = len(got) > limit
    got = got[:limit]
    if backwards:
        got.reverse()
        has_next, has_previous = True, more
    else:
        has_next, has_previous = more, after is not None
    keys = _order(view)[2]

    def cursor(segment: int, row: QueueRow) -> Cursor:
        return Cursor(segment, _key_text(view, row, keys[segment][1]), row.id)

    return QueuePage([row for _, row in got], cursor(*got[-1]) if got and has_next else None,
                     cursor(*got[0]) if got and has_previous else None)


def iter_view(session: Session, view: QueueView, *, batch: int = 1000) -> Iterator[QueueRow]:
    """Every row of the view in order, read in keyset batches (for exports)."""
    after = None
    while True:
        page = queue_view_page(session, view, after=after, limit=batch)
        yield from page.rows
        if page.next is None:
            return
        after = page.next


def team_size(session: Session, team: str, *, cap: int = 10_000) -> int:
    """Open items in a team's queue, counted up to `cap` (an index range count; bounded so a page
    header stays cheap at a million items)."""
    capped = select(WorkQueueEntry.work_item_id).where(WorkQueueEntry.team == team).limit(cap).subquery()
    return session.scalar(select(func.count()).select_from(capped)) or 0


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
