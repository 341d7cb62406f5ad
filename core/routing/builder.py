"""Turn one finding into work-item rows: route, deadlines, priority, action, child tasks."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

from core.routing import deadlines as dl
from core.routing.config import RoutingConfig
from core.routing.priority import decide, score
from core.routing.table import Category


@dataclass(frozen=True)
class PayerInfo:
    id: int
    code: str | None
    name: str | None
    x12_id: str | None


@dataclass(frozen=True)
class Intake:
    """Everything known about one finding when it is routed."""

    dedupe_key: str
    kind: str  # denial | underpayment | rejection | pending
    intake_source: str  # 835 | 277CA | portal
    category: Category | None  # None: unknown CARC
    amount: Decimal
    payer: PayerInfo | None
    plan_type: str | None
    dos: date | None
    determined_on: date | None
    claim_id: int | None = None
    claim_payment_id: int | None = None
    line_payment_id: int | None = None
    rejection_id: int | None = None
    group_code: str | None = None
    carc: str | None = None
    rarc: str | None = None
    procedure_code: str | None = None
    # Rendering NPI / location pick the named documentation owner.
    provider_key: str | None = None
    location: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Routed:
    row: dict
    tasks: tuple[dict, ...]  # child rows; parent_id is filled in after the parent is inserted


def route(intake: Intake, config: RoutingConfig, *, today: date, now: datetime,
          learned: dict[tuple[int, str], float] | None = None, rules_cache: dict | None = None) -> Routed:
    """`rules_cache` (any dict the caller keeps for one run) saves re-resolving payer rules."""
    table = config.table
    reasons = [intake.reason] if intake.reason else []
    if intake.category is None and not intake.reason:
        reasons.append(f"unknown CARC {intake.carc}")
    if intake.dos is None:
        reasons.append("claim has no DOS")
    rule = None
    if intake.payer is None:
        reasons.append("no payer on record")
    else:
        cache = rules_cache if rules_cache is not None else {}
        slot = (intake.payer, intake.plan_type)
        if slot not in cache:
            key = config.payer_rules.match(intake.payer.code, intake.payer.x12_id, intake.payer.name)
            cache[slot] = config.payer_rules.rule(key, intake.plan_type) if key else None
        rule = cache[slot]
        if rule is None:
            reasons.append(f"no payer rules for payer {intake.payer.code or intake.payer.id}")
    triage = bool(reasons)
    category = table.category("triage") if triage or intake.category is None else intake.category

    deadlines = dl.Deadlines(None, None)
    if rule is not None:
        deadlines = dl.compute(rule, dos=intake.dos, determined_on=intake.determined_on)
        if intake.kind in ("rejection", "pending"):
            # Never adjudicated (or not yet): there is nothing to appeal, only the filing limit.
            deadlines = dl.Deadlines(deadlines.filing, None)
    works_by = intake.category.works_by if intake.category else category.works_by
    due_on = dl.due_date(works_by, deadlines, today)

    prior = (intake.category or category).prior
    recoverability = prior
    if learned and intake.payer and intake.carc:
        recoverability = learned.get((intake.payer.id, intake.carc), prior)

    team = category.team
    if triage:
        action, write_off_reason = "work_by_deadline", None
    else:
        decision = decide(category=category, kind=intake.kind, amount=intake.amount, due_on=due_on, today=today,
                          threshold=config.write_off_threshold, policy=table.priority)
        action, write_off_reason = decision.action, decision.write_off_reason
        if action == "write_off":
            team = "write_off"
            reasons.append(write_off_reason or "write-off policy")

    row = {
        "dedupe_key": intake.dedupe_key,
        "kind": intake.kind,
        "intake_source": intake.intake_source,
        "claim_id": intake.claim_id,
        "claim_payment_id": intake.claim_payment_id,
        "line_payment_id": intake.line_payment_id,
        "rejection_id": intake.rejection_id,
        "payer_id": intake.payer.id if intake.payer else None,
        "plan_type": rule.plan_type if rule else intake.plan_type,
        "category": category.name,
        "team": team,
        "owner": None,
        "group_code": intake.group_code,
        "carc": intake.carc,
        "rarc": (intake.rarc or None) and intake.rarc[:40],
        "procedure_code": intake.procedure_code,
        "amount": intake.amount,
        "dos": intake.dos,
        "filing_deadline": deadlines.filing,
        "appeal_deadline": deadlines.appeal,
        "sla_due_at": now + timedelta(hours=category.sla_hours) if category.sla_hours else None,
        "follow_up_on": None,
        "priority": score(intake.amount, due_on, today, recoverability, table.priority),
        "action": action,
        "state": "new",
        "parent_id": None,
        "reason": "; ".join(reasons)[:500] or None,
        "root_cause": None,
        "created_at": now,
        "updated_at": now,
        "determined_on": intake.determined_on,
        "due_on": due_on,
        "recoverability": recoverability,
        "recovered_amount": None,
        "is_open": True,
        "closed_at": None,
    }
    tasks = () if triage or action == "write_off" else _tasks(intake, category, row, config, today, now)
    return Routed(row=row, tasks=tasks)


def _tasks(intake: Intake, category: Category, parent: dict, config: RoutingConfig, today: date,
           now: datetime) -> tuple[dict, ...]:
    table = config.table
    docs = table.documentation
    owner = docs.owners.get(intake.provider_key or "") or docs.owners.get(intake.location or "") or docs.default_owner
    out = []
    if category.name in docs.categories:
        out.append(_task(parent, f"doc:{parent['dedupe_key']}", "documentation_retrieval", parent["team"], owner,
                         due_on=parent["due_on"], sla_due_at=now + timedelta(hours=docs.sla_hours), now=now))
    if category.name in table.peer_to_peer.categories:
        p2p_due = dl.peer_to_peer_due(parent["appeal_deadline"], today, table.peer_to_peer.lead_days)
        sla = datetime.combine(p2p_due, time.min, tzinfo=timezone.utc) if p2p_due else None
        out.append(_task(parent, f"p2p:{parent['dedupe_key']}", "peer_to_peer", parent["team"], owner,
                         due_on=p2p_due, sla_due_at=sla, now=now))
    return tuple(out)


def _task(parent: dict, key: str, category: str, team: str, owner: str, *, due_on: date | None,
          sla_due_at: datetime | None, now: datetime) -> dict:
    return {
        **parent,
        "dedupe_key": key[:200],
        "kind": "task",
        "category": category,
        "team": team,
        "owner": owner,
        "action": "work_today",
        "due_on": due_on,
        "sla_due_at": sla_due_at,
        "reason": None,
        "created_at": now,
        "updated_at": now,
    }
