"""Weekly root-cause analysis: denials grouped by what they share, against the previous period, with outliers.

Denials and rejections determined (else routed) in [since, until) are grouped by one dimension at a time;
each group has its count and dollars now and in the period of the same length before, and the change.
A rendering provider (or location) is an outlier for a denial category when its rate (that category's
denials in the period per claim it submitted in the CLAIM_WINDOW days up to the period's end: denials
lag submission by weeks) is at least OUTLIER_RATIO times its peers' rate (every other provider's, or
location's, together) — the seed's example (one physician's authorization denials 3x the others').
Each group lists its items and the root-cause items they belong to. The authorization type is not
recorded in the store, so there is no group by it (MISSING says so).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.store.models import Claim, Payer
from core.store.models.work import WorkItem

DIMENSIONS = ("payer", "cpt", "location", "provider", "reason", "intake", "category", "dos_week")
REFUSED_KINDS = ("denial", "rejection")
OUTLIER_RATIO = 3.0
# Fewer denials than this in a group say nothing about a provider's rate.
OUTLIER_MIN_DENIALS = 3
CLAIM_WINDOW = 90
MISSING = {"authorization_type": "the store does not record a claim's authorization type"}


@dataclass(frozen=True)
class Group:
    dimension: str
    value: str
    count: int
    dollars: Decimal
    previous_count: int
    previous_dollars: Decimal
    # Work item ids in the group (the page links to them) and open root-cause items of its payer x category.
    items: tuple[int, ...]
    root_causes: tuple[int, ...]

    @property
    def change(self) -> int:
        return self.count - self.previous_count

    def as_json(self) -> dict:
        out = asdict(self)
        out.update(dollars=str(self.dollars), previous_dollars=str(self.previous_dollars), change=self.change,
                   items=list(self.items), root_causes=list(self.root_causes))
        return out


@dataclass(frozen=True)
class Outlier:
    dimension: str  # provider | location
    value: str
    category: str
    denials: int
    claims: int
    rate: float
    peer_rate: float

    @property
    def ratio(self) -> float:
        return self.rate / self.peer_rate if self.peer_rate else float("inf")

    def as_json(self) -> dict:
        return {**asdict(self), "ratio": round(self.ratio, 2) if self.peer_rate else None}


@dataclass(frozen=True)
class RcaReport:
    since: date
    until: date
    groups: tuple[Group, ...]
    outliers: tuple[Outlier, ...]

    def as_json(self) -> dict:
        return {"since": self.since.isoformat(), "until": self.until.isoformat(),
                "groups": [g.as_json() for g in self.groups], "outliers": [o.as_json() for o in self.outliers],
                "missing": MISSING}


def _day(value) -> date:
    return value.date() if isinstance(value, datetime) else value


def _denials(session: Session, since: date, until: date) -> list[dict]:
    """Refused items whose determination (else routing) date is in [since, until), with their claim's facts."""
    rows = session.execute(
        select(WorkItem.id, WorkItem.amount, WorkItem.procedure_code, WorkItem.carc, WorkItem.category,
               WorkItem.intake_source, WorkItem.determined_on, WorkItem.created_at, WorkItem.dos, Payer.code,
               Claim.location, Claim.rendering_npi, WorkItem.parent_id)
        .outerjoin(Payer, Payer.id == WorkItem.payer_id).outerjoin(Claim, Claim.id == WorkItem.claim_id)
        .where(WorkItem.kind.in_(REFUSED_KINDS))).all()
    out = []
    for (item_id, amount, cpt, carc, category, intake, determined, created, dos, payer, location, npi, parent) in rows:
        on = determined or _day(created)
        if since <= on < until:
            week = dos - timedelta(days=dos.weekday()) if dos else None
            out.append({"id": item_id, "amount": amount, "payer": payer, "cpt": cpt, "location": location,
                        "provider": npi, "reason": f"CARC {carc}" if carc else None, "intake": intake,
                        "category": category, "dos_week": week.isoformat() if week else None, "parent": parent})
    return out


def rca(session: Session, since: date, until: date) -> RcaReport:
    """Groups by every dimension (largest first) and the provider/location outliers, for [since, until)."""
    now = _denials(session, since, until)
    before = _denials(session, since - (until - since), since)
    groups = []
    for dim in DIMENSIONS:
        current: dict[str, list[dict]] = {}
        for row in now:
            current.setdefault(row[dim] or "unknown", []).append(row)
        previous: dict[str, list[dict]] = {}
        for row in before:
            previous.setdefault(row[dim] or "unknown", []).append(row)
        for value in sorted(set(current) | set(previous)):
            got, had = current.get(value, []), previous.get(value, [])
            groups.append(Group(dim, value, len(got), sum((r["amount"] for r in got), Decimal("0.00")),
                                len(had), sum((r["amount"] for r in had), Decimal("0.00")),
                                tuple(sorted(r["id"] for r in got)),
                                tuple(sorted({r["parent"] for r in got if r["parent"]}))))
    groups.sort(key=lambda g: (DIMENSIONS.index(g.dimension), -g.count, -g.dollars, g.value))
    return RcaReport(since, until, tuple(groups), tuple(_outliers(session, now, since, until)))


def _outliers(session: Session, denials: list[dict], since: date, until: date) -> list[Outlier]:
    out = []
    for dim, column in (("provider", Claim.rendering_npi), ("location", Claim.location)):
        claims = dict(session.execute(select(column, func.count()).where(
            Claim.submitted_on >= until - timedelta(days=CLAIM_WINDOW), Claim.submitted_on < until, column.is_not(None))
            .group_by(column)).all())
        total_claims = sum(claims.values())
        for category in sorted({r["category"] for r in denials}):
            counts: dict[str, int] = {}
            for r in denials:
                if r["category"] == category and r[dim]:
                    counts[r[dim]] = counts.get(r[dim], 0) + 1
            total = sum(counts.values())
            for value, n in sorted(counts.items()):
                mine, peers = claims.get(value, 0), total_claims - claims.get(value, 0)
                if n < OUTLIER_MIN_DENIALS or not mine:
                    continue
                rate, peer_rate = n / mine, ((total - n) / peers if peers else 0.0)
                if peer_rate == 0 or rate >= OUTLIER_RATIO * peer_rate:
                    out.append(Outlier(dim, value, category, n, mine, rate, peer_rate))
    return sorted(out, key=lambda o: -o.ratio if o.peer_rate else float("-inf"))
