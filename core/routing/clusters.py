"""Root-cause clusters: many denials of one category from one payer in a short window become one
root-cause item that its members link to (seed: "87 eligibility denials from one payer in two
weeks -> root cause, then bulk correct")."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import and_, func, select, true, update
from sqlalchemy.orm import Session

from core.routing.config import RoutingConfig
from core.routing.priority import score
from core.routing.reprioritise import set_queue_priority
from core.routing.sql import insert_ignore
from core.store.models.work import WorkItem

MEMBER_KINDS = ("denial", "rejection")


def cluster_root_causes(session: Session, config: RoutingConfig, *, today: date, now: datetime) -> tuple[int, int]:
    """Create or extend root-cause items; returns (root-cause items created, members linked)."""
    rules = config.table.clustering
    since = today - timedelta(days=rules.window_days)
    candidate = and_(WorkItem.is_open == true(), WorkItem.kind.in_(MEMBER_KINDS), WorkItem.parent_id.is_(None),
                     WorkItem.category.in_(rules.categories), WorkItem.payer_id.is_not(None),
                     WorkItem.action != "write_off", WorkItem.determined_on >= since)
    groups = session.execute(select(WorkItem.payer_id, WorkItem.category, func.count())
                             .where(candidate).group_by(WorkItem.payer_id, WorkItem.category)).all()
    created = linked = 0
    for payer_id, category, count in groups:
        parent_id = session.scalar(select(WorkItem.id).where(
            WorkItem.kind == "root_cause", WorkItem.is_open == true(), WorkItem.payer_id == payer_id,
            WorkItem.category == category).order_by(WorkItem.id).limit(1))
        if parent_id is None:
            if count < rules.min_members:
                continue
            parent_id = _create_parent(session, config, payer_id, category, today, now)
            created += 1
        result = session.execute(update(WorkItem).where(candidate, WorkItem.payer_id == payer_id,
                                                        WorkItem.category == category)
                                 .values(parent_id=parent_id, action="root_cause", updated_at=now)
                                 .execution_options(synchronize_session=False))
        linked += result.rowcount or 0
        _refresh_parent(session, parent_id, config, today, now)
    return created, linked


def _create_parent(session: Session, config: RoutingConfig, payer_id: int, category: str, today: date,
                   now: datetime) -> int:
    cat = config.table.category(category)
    key = f"rc:{payer_id}:{category}:{today.isoformat()}"
    insert_ignore(session, WorkItem.__table__, [{
        "dedupe_key": key, "kind": "root_cause", "intake_source": "routing", "payer_id": payer_id,
        "category": category, "team": cat.team, "amount": Decimal("0"), "priority": 0.0, "action": "root_cause",
        "state": "new", "recoverability": cat.prior, "is_open": True, "created_at": now, "updated_at": now,
        "sla_due_at": now + timedelta(hours=cat.sla_hours) if cat.sla_hours else None,
    }], ["dedupe_key"])
    return session.scalar(select(WorkItem.id).where(WorkItem.dedupe_key == key))


def _refresh_parent(session: Session, parent_id: int, config: RoutingConfig, today: date, now: datetime) -> None:
    """The parent carries its open members' dollars and earliest deadline, scored like any item."""
    amount, due, n = session.execute(
        select(func.coalesce(func.sum(WorkItem.amount), 0), func.min(WorkItem.due_on), func.count())
        .where(WorkItem.parent_id == parent_id, WorkItem.is_open == true(), WorkItem.kind.in_(MEMBER_KINDS))).one()
    if isinstance(due, str):  # SQLite aggregate of a DATE column comes back as text
        due = date.fromisoformat(due)
    amount = Decimal(str(amount)).quantize(Decimal("0.01"))
    recoverability = session.scalar(select(WorkItem.recoverability).where(WorkItem.id == parent_id))
    window = config.table.clustering.window_days
    priority = score(amount, due, today, recoverability, config.table.priority)
    set_queue_priority(session, parent_id, priority)
    session.execute(update(WorkItem).where(WorkItem.id == parent_id).values(
        amount=amount, priority=priority, due_on=due,
        reason=f"{n} open members: repeat cluster from one payer within {window} days", updated_at=now)
        .execution_options(synchronize_session=False))
