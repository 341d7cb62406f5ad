"""Read side: each team's ordered work queue and the recovered / lost / at-risk summary."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import case, false, func, select, true
from sqlalchemy.orm import Session

from core.store.models import Payer
from core.store.models.work import WorkItem, WorkQueueEntry

# Kinds whose dollars were refused (tasks and root-cause parents repeat their members'; a pending
# claim is not refused yet).
MONEY_KINDS = ("denial", "underpayment", "rejection")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class QueueRow:
    id: int
    kind: str
    team: str
    category: str
    carc: str | None
    payer: str | None
    amount: Decimal
    appeal_deadline: date | None
    due_on: date | None
    sla_due_at: datetime | None
    priority: float
    action: str
    state: str
    owner: str | None
    parent_id: int | None
    reason: str | None
    rarc: str | None = None

    def as_json(self) -> dict:
        out = asdict(self)
        out["amount"] = str(self.amount)
        for key in ("appeal_deadline", "due_on", "sla_due_at"):
            out[key] = out[key].isoformat() if out[key] is not None else None
        out["priority"] = round(self.priority, 4)
        return out


def queue_page(session: Session, team: str, *, limit: int = 50) -> list[QueueRow]:
    """One team's open items, highest current priority first: one range scan of
    ix_work_queue_page, then `limit` primary-key lookups into work_items."""
    page = (select(WorkQueueEntry.work_item_id, WorkQueueEntry.priority).where(WorkQueueEntry.team == team)
            .order_by(WorkQueueEntry.priority.desc(), WorkQueueEntry.work_item_id.desc()).limit(limit).subquery())
    stmt = (select(WorkItem.id, WorkItem.kind, WorkItem.team, WorkItem.category, WorkItem.carc, Payer.code,
                   WorkItem.amount, WorkItem.appeal_deadline, WorkItem.due_on, WorkItem.sla_due_at,
                   page.c.priority, WorkItem.action, WorkItem.state, WorkItem.owner, WorkItem.parent_id,
                   WorkItem.reason)
            .select_from(page).join(WorkItem, WorkItem.id == page.c.work_item_id)
            .outerjoin(Payer, Payer.id == WorkItem.payer_id)
            .order_by(page.c.priority.desc(), page.c.work_item_id.desc()))
    return [QueueRow(*row) for row in session.execute(stmt)]


def current_priority(session: Session, item_id: int) -> float | None:
    """The item's score in the queue now; None once it is closed."""
    return session.scalar(select(WorkQueueEntry.priority).where(WorkQueueEntry.work_item_id == item_id))


def teams_with_work(session: Session, teams: list[str]) -> list[str]:
    """The given teams that have queued items (one index probe each, never a table scan)."""
    return [team for team in teams if session.scalar(
        select(WorkQueueEntry.work_item_id).where(WorkQueueEntry.team == team).limit(1)) is not None]


@dataclass(frozen=True)
class TeamCount:
    team: str
    open: int
    past_sla: int
    at_risk: Decimal


@dataclass(frozen=True)
class Summary:
    denied: Decimal
    recovered: Decimal
    written_off: Decimal
    at_risk: Decimal
    open_items: int
    past_sla: int
    # Open items whose payer follow-up date has come (seed step 6: 14 days portal, 30 days mail).
    follow_ups_due: int
    teams: tuple[TeamCount, ...]

    def as_json(self) -> dict:
        return {
            "denied": str(self.denied), "recovered": str(self.recovered), "written_off": str(self.written_off),
            "at_risk": str(self.at_risk), "open_items": self.open_items, "past_sla": self.past_sla,
            "follow_ups_due": self.follow_ups_due,
            "teams": [{"team": t.team, "open": t.open, "past_sla": t.past_sla, "at_risk": str(t.at_risk)}
                      for t in self.teams],
        }


def summary(session: Session, *, now: datetime) -> Summary:
    """Dollars denied, recovered, written off (lost) and still at risk; counts per queue; past SLA."""
    money = WorkItem.kind.in_(MONEY_KINDS)
    recovered = func.coalesce(WorkItem.recovered_amount, 0)
    lost = case(((WorkItem.is_open == false()) & (WorkItem.amount > recovered), WorkItem.amount - recovered), else_=0)
    denied, got, written, risk = session.execute(select(
        func.coalesce(func.sum(WorkItem.amount), 0), func.coalesce(func.sum(recovered), 0),
        func.coalesce(func.sum(lost), 0),
        func.coalesce(func.sum(case((WorkItem.is_open == true(), WorkItem.amount), else_=0)), 0),
    ).where(money)).one()
    past = (WorkItem.sla_due_at < now)
    teams = tuple(TeamCount(team, n, int(late or 0), _money(risk_t)) for team, n, late, risk_t in session.execute(
        select(WorkItem.team, func.count(), func.sum(case((past, 1), else_=0)),
               func.coalesce(func.sum(case((money, WorkItem.amount), else_=0)), 0))
        .where(WorkItem.is_open == true()).group_by(WorkItem.team).order_by(WorkItem.team)))
    follow_ups = session.scalar(select(func.count()).select_from(WorkItem).where(
        WorkItem.is_open == true(), WorkItem.follow_up_on <= now.date()))
    return Summary(denied=_money(denied), recovered=_money(got), written_off=_money(written), at_risk=_money(risk),
                   open_items=sum(t.open for t in teams), past_sla=sum(t.past_sla for t in teams),
                   follow_ups_due=follow_ups or 0, teams=teams)


def _money(value) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT)
