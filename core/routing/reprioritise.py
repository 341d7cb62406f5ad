"""Full re-prioritisation: relearn recoverability from outcomes, then rescore every open item in
one UPDATE (bulk SQL, so a million items take seconds, not a Python loop)."""
from __future__ import annotations

from datetime import date, datetime, time, timezone

import structlog
from sqlalchemy import Float, and_, case, cast, delete, func, literal, select, true, update
from sqlalchemy.orm import Session

from core.routing.config import RoutingConfig, load_config
from core.routing.priority import smoothed
from core.routing.sql import days_until, insert_ignore
from core.store.models.work import RecoverabilityStat, WorkItem

log = structlog.get_logger()

CLOSED_STATES = ("closed_recovered", "closed_written_off")
LEARN_KINDS = ("denial", "underpayment")


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
    """Relearn, then rescore recoverability, priority and the work-today flag of every open item."""
    now = now or datetime.combine(today, time.min, tzinfo=timezone.utc)
    config = config or load_config()
    learned = learn(session, config, now=now)
    table = config.table
    policy = table.priority
    stat = RecoverabilityStat.__table__
    items = WorkItem.__table__
    learned_p = (select(stat.c.probability)
                 .where(and_(stat.c.payer_id == items.c.payer_id, stat.c.carc == items.c.carc))
                 .scalar_subquery())
    prior = case({c.name: c.prior for c in table.categories}, value=items.c.category,
                 else_=table.category("triage").prior)
    # Tasks and root-cause parents keep their own recoverability (set from their category).
    recoverability = case((items.c.kind.in_(("task", "root_cause")), items.c.recoverability),
                          else_=func.coalesce(learned_p, prior))
    days = func.coalesce(days_until(session, items.c.due_on, today), policy.no_deadline_days)
    clamped = case((days < 0, 0), else_=days)
    horizon = float(policy.urgency_horizon_days)
    urgency = literal(horizon) / (literal(horizon) + cast(clamped, Float))
    priority = cast(items.c.amount, Float) * urgency * recoverability
    work_today = and_(items.c.amount >= policy.work_today_min_amount, clamped <= policy.work_today_max_days)
    action = case((items.c.action.in_(("work_today", "work_by_deadline")) & (items.c.kind != "task"),
                   case((work_today, "work_today"), else_="work_by_deadline")), else_=items.c.action)
    result = session.execute(update(items).where(items.c.is_open == true()).values(
        recoverability=recoverability, priority=priority, action=action, updated_at=now))
    count = result.rowcount or 0
    log.info("routing.reprioritised", items=count, learned_pairs=learned)
    return count
