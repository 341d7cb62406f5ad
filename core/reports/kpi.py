"""The billing manager's KPIs over a period, each with its formula, its period and what it is missing.

Every figure is computed from the store's rows (claims, work items, their transitions); a KPI whose
inputs the store does not hold yet says so instead of showing a number. The web dashboard and
`payerfleet report kpi` both call `kpis()`.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from statistics import mean, median

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.store.models import Claim, Payer
from core.store.models.work import WorkItem, WorkItemTransition

# A claim counts as denied when the payer refused any of it (a task or root-cause parent repeats these).
REFUSED_KINDS = ("denial", "rejection")
RESOLVED_WITHIN_DAYS = 30


@dataclass(frozen=True)
class Kpi:
    key: str
    name: str
    formula: str
    # The figure (a ratio 0..1, a number of days, ...); None when it cannot be computed.
    value: float | None
    unit: str
    # What the figure counts, e.g. {"denied": 12, "submitted": 300}.
    counts: dict = field(default_factory=dict)
    # Breakdowns, e.g. {"by_payer": {"AETNA": 0.5}}.
    detail: dict = field(default_factory=dict)
    # Why there is no figure (or what it lacks), in words.
    missing: str | None = None

    def as_json(self) -> dict:
        out = asdict(self)
        out["counts"] = {k: str(v) if isinstance(v, Decimal) else v for k, v in self.counts.items()}
        return out


@dataclass(frozen=True)
class KpiReport:
    since: date
    until: date
    kpis: tuple[Kpi, ...]

    def as_json(self) -> dict:
        return {"since": self.since.isoformat(), "until": self.until.isoformat(),
                "kpis": [k.as_json() for k in self.kpis]}


def _ratio(part, whole) -> float | None:
    return float(part) / float(whole) if whole else None


def _day(value) -> date:
    return value.date() if isinstance(value, datetime) else value


def initial_denial_rate(session: Session, since: date, until: date) -> Kpi:
    """Claims submitted in the period that the payer refused in whole or part, by count and by dollars."""
    in_period = (Claim.submitted_on >= since, Claim.submitted_on < until)
    submitted = session.execute(select(func.count(), func.coalesce(func.sum(Claim.billed_amount), 0))
                                .where(*in_period)).one()
    refused = (select(WorkItem.claim_id, func.sum(WorkItem.amount).label("refused"))
               .where(WorkItem.kind.in_(REFUSED_KINDS), WorkItem.claim_id.in_(select(Claim.id).where(*in_period)))
               .group_by(WorkItem.claim_id).subquery())
    denied, dollars = session.execute(select(func.count(), func.coalesce(func.sum(refused.c.refused), 0))).one()
    n, billed = submitted[0], Decimal(str(submitted[1])).quantize(Decimal("0.01"))
    dollars = Decimal(str(dollars)).quantize(Decimal("0.01"))
    return Kpi("initial_denial_rate", "Initial denial rate",
               "claims submitted in the period with a denial or rejection ÷ claims submitted in the period "
               "(by dollars: refused dollars ÷ billed dollars of those claims)",
               _ratio(denied, n), "ratio", {"denied": denied, "submitted": n, "refused_dollars": dollars,
                                             "billed_dollars": billed},
               {"by_dollars": _ratio(dollars, billed)},
               None if n else "no claims were submitted in the period")


def clean_claim_rate(session: Session, since: date, until: date) -> Kpi:
    """Claims submitted in the period with no rejection and no denial on file."""
    claims = select(Claim.id).where(Claim.submitted_on >= since, Claim.submitted_on < until)
    n = session.scalar(select(func.count()).select_from(claims.subquery()))
    refused = session.scalar(select(func.count(func.distinct(WorkItem.claim_id)))
                             .where(WorkItem.kind.in_(REFUSED_KINDS), WorkItem.claim_id.in_(claims)))
    return Kpi("clean_claim_rate", "Clean claim rate",
               "claims submitted in the period with no 277CA/999 rejection and no denial on file ÷ claims submitted",
               _ratio(n - refused, n), "ratio", {"clean": n - refused, "submitted": n},
               missing="an upper bound: the store records rejections, not each claim's 277CA acceptance, so a "
                       "claim the payer has not answered yet counts as clean")


def _appealed(session: Session) -> dict[int, tuple[datetime, str, str | None, str, date | None, datetime | None]]:
    """Items that went to appeal: id -> (first appeal move, state, payer code, category, determined on, closed at)."""
    first = (select(WorkItemTransition.work_item_id, func.min(WorkItemTransition.at).label("at"))
             .where(WorkItemTransition.to_state == "appealing").group_by(WorkItemTransition.work_item_id).subquery())
    rows = session.execute(select(WorkItem.id, first.c.at, WorkItem.state, Payer.code, WorkItem.category,
                                  WorkItem.determined_on, WorkItem.closed_at)
                           .join(first, first.c.work_item_id == WorkItem.id)
                           .outerjoin(Payer, Payer.id == WorkItem.payer_id))
    return {row[0]: row[1:] for row in rows}


def appeal_success_rate(session: Session, since: date, until: date) -> Kpi:
    """Appealed items closed in the period: recovered ÷ closed, by payer and by denial category."""
    decided = {i: r for i, r in _appealed(session).items()
               if r[1] in ("closed_recovered", "closed_written_off") and r[5] and since <= _day(r[5]) < until}
    won = {i for i, r in decided.items() if r[1] == "closed_recovered"}

    def by(index: int) -> dict[str, float]:
        groups: dict[str, list[int]] = {}
        for i, r in decided.items():
            groups.setdefault(r[index] or "unknown", []).append(i)
        return {k: len([i for i in ids if i in won]) / len(ids) for k, ids in sorted(groups.items())}

    return Kpi("appeal_success_rate", "Appeal success rate",
               "appealed items closed in the period as recovered ÷ appealed items closed in the period",
               _ratio(len(won), len(decided)), "ratio", {"won": len(won), "decided": len(decided)},
               {"by_payer": by(2), "by_category": by(3)},
               None if decided else "no appealed item was closed in the period")


def resolution_days(session: Session, since: date, until: date) -> Kpi:
    """Items closed in the period: days from the payer's determination (else routing) to closing."""
    rows = session.execute(select(WorkItem.determined_on, WorkItem.created_at, WorkItem.closed_at)
                           .where(WorkItem.kind.in_(("denial", "rejection", "underpayment")),
                                  WorkItem.closed_at.is_not(None))).all()
    days = [(_day(closed) - (determined or _day(created))).days for determined, created, closed in rows
            if since <= _day(closed) < until]
    within = sum(1 for d in days if d <= RESOLVED_WITHIN_DAYS)
    return Kpi("days_to_resolution", "Average days to resolution",
               "mean of (closed on − determination date, else routed on) over items closed in the period; "
               f"share resolved within {RESOLVED_WITHIN_DAYS} days",
               mean(days) if days else None, "days", {"resolved": len(days), "within_30_days": within},
               {"share_within_30_days": _ratio(within, len(days)), "median": median(days) if days else None},
               None if days else "no item was closed in the period")


def denial_to_appeal_days(session: Session, since: date, until: date) -> Kpi:
    """HFMA Claim Integrity Task Force: time from the initial denial to the appeal."""
    days = [(_day(at) - determined).days for at, _, _, _, determined, _ in _appealed(session).values()
            if determined is not None and since <= _day(at) < until]
    return Kpi("denial_to_appeal_days", "Time from initial denial to appeal",
               "mean of (first move to appealing − payer determination date) over items appealed in the period",
               mean(days) if days else None, "days", {"appealed": len(days)},
               {"median": median(days) if days else None},
               None if days else "no item was appealed in the period")


def prevented_denial_rate(session: Session, since: date, until: date) -> Kpi:
    """A recurring pattern's rate before vs after its root cause was closed."""
    return Kpi("prevented_denial_rate", "Prevented-denial rate",
               "per closed root cause: its pattern's denials per week before closure vs after; 1 − after ÷ before",
               None, "ratio", missing="needs the date each root cause was closed (root-cause closure is not "
                                      "recorded in the store yet)")


def kpis(session: Session, since: date, until: date) -> KpiReport:
    """Every KPI for [since, until)."""
    return KpiReport(since, until, tuple(f(session, since, until) for f in (
        initial_denial_rate, clean_claim_rate, appeal_success_rate, resolution_days, denial_to_appeal_days,
        prevented_denial_rate)))
