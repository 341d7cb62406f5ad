"""Full re-prioritisation: relearn recoverability from outcomes, then rescore every open item with
bulk SQL (a million items take seconds, not a Python loop); the work_queue table helpers."""
from __future__ import annotations

from datetime import date, datetime, time, timezone

import structlog
from sqlalchemy import Float, and_, case, cast, delete, func, insert, literal, select, text, true, update
from sqlalchemy.orm import Session

from core.routing.config import RoutingConfig, load_config
from core.routing.priority import smoothed
from core.routing.sql import days_until, insert_ignore
from core.store.models.work import RecoverabilityStat, WorkItem, WorkQueueEntry

log = structlog.get_logger()

CLOSED_STATES = ("closed_recovered", "closed_written_off")
LEARN_KINDS = ("denial", "underpayment")
# Columns of ix_work_queue_page (migration 0005), recreated by the PostgreSQL rebuild.
PAGE_INDEX = ("team", "priority", "work_item_id")


def learn(session: Session, config: RoutingConfig, *, now: datetime) -> int:
    """Rebuild recoverability_stats from closed items per payer x CARC; returns rows written."""
    amount = cast(WorkItem.amount, Float)
    recovered = cast(func.coalesce(WorkItem.recovered_amount, 0), Float)
    fraction = case((amount <= 0, 0.0), (recovered >= amount, 1.0), else_=recovered / amount)
    groups = session.execute(
        select(WorkItem.payer_id, WorkItem.carc, func.count(), func.sum(fraction))
        .where(WorkItem.state.in_(CLOSED_STATES), WorkItem.kind.in_(LEARN_KINDS),
               WorkItem.payer_id.is_not(None), WorkItem.carc.is_not(None))
        .group_by(WorkItem.payer_id, WorkItem.carc)).all()
    table = config.table
    strength = table.recoverability.prior_strength
    rows = []
    for payer_id, carc, n, got in groups:
        prior = (table.category_for(carc) or table.category("triage")).prior
        rows.append({"payer_id": payer_id, "carc": carc, "outcomes": n, "recovered": float(got or 0.0),
                     "probability": smoothed(prior, n, float(got or 0.0), strength), "updated_at": now})
    session.execute(delete(RecoverabilityStat))
    insert_ignore(session, RecoverabilityStat.__table__, rows, ["payer_id", "carc"])
    return len(rows)


def reprioritise(session: Session, today: date, *, now: datetime | None = None,
                 config: RoutingConfig | None = None) -> int:
    """Relearn recoverability, then rescore every open item: the few items whose recoverability or
    work-today flag changed are updated in place, and the narrow work_queue table is rebuilt whole
    (a bulk INSERT ... SELECT, far cheaper than rewriting a million wide rows)."""
    now = now or datetime.combine(today, time.min, tzinfo=timezone.utc)
    config = config or load_config()
    learned = learn(session, config, now=now)
    table = config.table
    policy = table.priority
    stat = RecoverabilityStat.__table__
    items = WorkItem.__table__
    queue = WorkQueueEntry.__table__
    is_open = items.c.is_open == true()

    # 1. Recoverability from the learned table, else the category prior. Tasks and root-cause
    #    parents keep theirs. Only rows whose value moves are written.
    learned_p = (select(stat.c.probability)
                 .where(and_(stat.c.payer_id == items.c.payer_id, stat.c.carc == items.c.carc))
                 .scalar_subquery())
    prior = case({c.name: c.prior for c in table.categories}, value=items.c.category,
                 else_=table.category("triage").prior)
    fresh = func.coalesce(learned_p, prior)
    session.execute(update(items).where(is_open, items.c.kind.not_in(("task", "root_cause")),
                                        items.c.recoverability != fresh)
                    .values(recoverability=fresh, updated_at=now))

    # 2. Urgency moves every day: flip work_today <-> work_by_deadline where it changed.
    days = func.coalesce(days_until(session, items.c.due_on, today), policy.no_deadline_days)
    clamped = case((days < 0, 0), else_=days)
    due_soon = and_(items.c.amount >= policy.work_today_min_amount, clamped <= policy.work_today_max_days)
    wanted = case((due_soon, "work_today"), else_="work_by_deadline")
    session.execute(update(items).where(is_open, items.c.kind != "task",
                                        items.c.action.in_(("work_today", "work_by_deadline")),
                                        items.c.action != wanted)
                    .values(action=wanted, updated_at=now))

    # 3. Rebuild the queue: amount x urgency x recoverability for every open item.
    horizon = float(policy.urgency_horizon_days)
    urgency = literal(horizon) / (literal(horizon) + cast(clamped, Float))
    score = cast(items.c.amount, Float) * urgency * items.c.recoverability
    refill = insert(queue).from_select(["work_item_id", "team", "priority"],
                                       select(items.c.id, items.c.team, score).where(is_open))
    if session.get_bind().dialect.name == "postgresql":
        # Filling an unindexed table and indexing it once is several times faster than a million
        # random-order index inserts. TRUNCATE and DROP INDEX lock work_queue until commit, so a
        # queue page read during the rebuild waits a few seconds instead of seeing a half queue.
        session.execute(text("TRUNCATE work_queue"))
        session.execute(text("DROP INDEX ix_work_queue_page"))
        session.execute(refill)
        session.execute(text(f"CREATE INDEX ix_work_queue_page ON work_queue ({', '.join(PAGE_INDEX)})"))
        session.execute(text("ANALYZE work_queue"))
    else:
        session.execute(delete(queue))  # SQLite empties a table in one step when there is no WHERE
        session.execute(refill)
    # psycopg reports no rowcount for INSERT ... SELECT; count the rebuilt queue instead.
    count = session.scalar(select(func.count()).select_from(queue)) or 0
    log.info("routing.reprioritised", items=count, learned_pairs=learned)
    return count


def enqueue(session: Session, *, after_id: int) -> None:
    """Queue every open item with id > after_id that is not queued yet, at its routed priority."""
    items = WorkItem.__table__
    queue = WorkQueueEntry.__table__
    missing = (select(items.c.id, items.c.team, items.c.priority)
               .outerjoin(queue, queue.c.work_item_id == items.c.id)
               .where(items.c.id > after_id, items.c.is_open == true(), queue.c.work_item_id.is_(None)))
    session.execute(insert(queue).from_select(["work_item_id", "team", "priority"], missing))


def dequeue(session: Session, item_id: int) -> None:
    session.execute(delete(WorkQueueEntry).where(WorkQueueEntry.work_item_id == item_id))


def set_queue_priority(session: Session, item_id: int, priority: float) -> None:
    session.execute(update(WorkQueueEntry).where(WorkQueueEntry.work_item_id == item_id).values(priority=priority))
