"""route_pending: read what ingestion stored since the last run and turn it into work items.

Idempotent twice over: every source row read is marked in routing_marks, and every work item has
a source-derived dedupe_key that the database keeps unique.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from decimal import Decimal

import structlog
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from core.routing.builder import Intake, PayerInfo, Routed, route
from core.routing.classify import Adj, LineView, PaymentView, classify_payment, status_kind
from core.routing.clusters import cluster_root_causes
from core.routing.config import RoutingConfig, load_config
from core.routing.reprioritise import enqueue
from core.routing.sql import insert_ignore
from core.store.models import (
    Adjustment,
    Claim,
    ClaimLine,
    ClaimPayment,
    ClaimStatusEvent,
    LinePayment,
    Payer,
    Plan,
    Rejection,
    RemarkCode,
    Remittance,
)
from core.store.models.work import RecoverabilityStat, RoutingMark, WorkItem

log = structlog.get_logger()
ZERO = Decimal("0")


@dataclass
class RoutingReport:
    """What one routing run did; counts only, no PHI."""

    sources_read: Counter = field(default_factory=Counter)
    created: Counter = field(default_factory=Counter)  # by kind
    triage: int = 0
    write_off: int = 0
    root_causes: int = 0
    clustered: int = 0

    @property
    def total_created(self) -> int:
        return sum(self.created.values())

    def as_dict(self) -> dict:
        return {"sources_read": dict(self.sources_read), "created": dict(self.created), "triage": self.triage,
                "write_off": self.write_off, "root_causes": self.root_causes, "clustered": self.clustered}


def route_pending(session: Session, today: date, *, now: datetime | None = None,
                  config: RoutingConfig | None = None, batch_size: int = 2000) -> RoutingReport:
    """Route every rejection, claim payment and status event not yet routed; returns counts."""
    now = now or datetime.combine(today, time.min, tzinfo=timezone.utc)
    router = _Router(session, config or load_config(), today, now)
    last_id = session.scalar(select(func.max(WorkItem.id))) or 0
    for kind, loader in (("rejection", router.rejections), ("claim_payment", router.payments),
                         ("status_event", router.status_events)):
        for ids, intakes in loader(batch_size):
            router.store(kind, ids, intakes)
    clusters = cluster_root_causes(session, router.config, today=today, now=now)
    router.report.root_causes, router.report.clustered = clusters
    enqueue(session, after_id=last_id)
    log.info("routing.routed", **router.report.as_dict())
    return router.report


class _Router:
    def __init__(self, session: Session, config: RoutingConfig, today: date, now: datetime):
        self.session, self.config, self.today, self.now = session, config, today, now
        self.report = RoutingReport()
        self._payers: dict[int, PayerInfo] = {
            r.id: PayerInfo(r.id, r.code, r.name, r.x12_id)
            for r in session.execute(select(Payer.id, Payer.code, Payer.name, Payer.x12_id))}
        self._plan_types: dict[int, str] = dict(session.execute(select(Plan.id, Plan.plan_type)).all())
        self._rules: dict = {}
        self._learned = {(r.payer_id, r.carc): r.probability for r in session.execute(
            select(RecoverabilityStat.payer_id, RecoverabilityStat.carc, RecoverabilityStat.probability))}

    # ---- writing ----------------------------------------------------------------------------

    def store(self, source: str, ids: list[int], intakes: Iterable[Intake]) -> None:
        routed = [route(i, self.config, today=self.today, now=self.now, learned=self._learned,
                        rules_cache=self._rules) for i in intakes]
        fresh = self._new_only(routed)
        insert_ignore(self.session, WorkItem.__table__, [r.row for r in fresh], ["dedupe_key"])
        tasks = [t for r in fresh for t in r.tasks]
        if tasks:
            parents = dict(self.session.execute(select(WorkItem.dedupe_key, WorkItem.id).where(
                WorkItem.dedupe_key.in_({r.row["dedupe_key"] for r in fresh if r.tasks}))).all())
            rows = [{**t, "parent_id": parents[r.row["dedupe_key"]]} for r in fresh for t in r.tasks]
            insert_ignore(self.session, WorkItem.__table__, rows, ["dedupe_key"])
        insert_ignore(self.session, RoutingMark.__table__,
                      [{"source": source, "source_id": i, "routed_at": self.now} for i in ids],
                      ["source", "source_id"])
        self.report.sources_read[source] += len(ids)
        for r in fresh:
            self.report.created[r.row["kind"]] += 1
            self.report.triage += r.row["team"] == "triage"
            self.report.write_off += r.row["team"] == "write_off"
            for t in r.tasks:
                self.report.created["task"] += 1

    def _new_only(self, routed: list[Routed]) -> list[Routed]:
        """Drop findings whose item already exists (re-routing a source that was never marked)."""
        unique = {r.row["dedupe_key"]: r for r in routed}
        if not unique:
            return []
        existing = set(self.session.scalars(select(WorkItem.dedupe_key).where(WorkItem.dedupe_key.in_(unique))))
        return [r for key, r in unique.items() if key not in existing]

    # ---- reading ----------------------------------------------------------------------------

    def _unrouted(self, model, source: str, batch_size: int, *columns, join=None) -> Iterator[list]:
        """Batches of source rows with no routing mark, in id order (keyset, one pass)."""
        after = 0
        mark = and_(RoutingMark.source == source, RoutingMark.source_id == model.id)
        base = select(*columns).select_from(model)
        if join is not None:
            base = base.join(*join)
        while True:
            rows = self.session.execute(
                base.outerjoin(RoutingMark, mark).where(RoutingMark.source_id.is_(None), model.id > after)
                .order_by(model.id).limit(batch_size)).all()
            if not rows:
                return
            after = rows[-1].id
            yield rows

    def _claims(self, claim_ids: Iterable[int | None]) -> dict[int, object]:
        wanted = {i for i in claim_ids if i is not None}
        if not wanted:
            return {}
        return {r.id: r for r in self.session.execute(
            select(Claim.id, Claim.payer_id, Claim.plan_id, Claim.dos_from, Claim.billed_amount,
                   Claim.contracted_amount, Claim.rendering_npi, Claim.location).where(Claim.id.in_(wanted)))}

    def _plan_type(self, claim) -> str | None:
        return self._plan_types.get(claim.plan_id) if claim is not None and claim.plan_id else None

    def rejections(self, batch_size: int) -> Iterator[tuple[list[int], list[Intake]]]:
        cols = (Rejection.id, Rejection.payer_id, Rejection.claim_id, Rejection.level, Rejection.status,
                Rejection.amount, Rejection.effective_date, Rejection.created_at)
        for rows in self._unrouted(Rejection, "rejection", batch_size, *cols):
            claims = self._claims(r.claim_id for r in rows)
            intakes = []
            for r in rows:
                claim = claims.get(r.claim_id)
                payer_id = r.payer_id or (claim.payer_id if claim else None)
                intakes.append(Intake(
                    dedupe_key=f"277:{r.id}", kind="rejection", intake_source="277CA",
                    category=self.config.table.category("rejection"),
                    amount=r.amount if r.amount is not None else (claim.billed_amount if claim else ZERO),
                    payer=self._payers.get(payer_id), plan_type=self._plan_type(claim),
                    dos=claim.dos_from if claim else None,
                    determined_on=r.effective_date or _day(r.created_at, self.today),
                    claim_id=r.claim_id, rejection_id=r.id,
                    provider_key=claim.rendering_npi if claim else None, location=claim.location if claim else None,
                    reason=None if claim or r.level in ("claim", "line") else f"{r.level}-level rejection"))
            yield [r.id for r in rows], intakes

    def payments(self, batch_size: int) -> Iterator[tuple[list[int], list[Intake]]]:
        cols = (ClaimPayment.id, ClaimPayment.claim_id, ClaimPayment.status_code, ClaimPayment.charge,
                ClaimPayment.paid, ClaimPayment.service_from, ClaimPayment.rendering_npi, ClaimPayment.reversed,
                Remittance.payer_id, Remittance.payment_date, Remittance.created_at)
        for rows in self._unrouted(ClaimPayment, "claim_payment", batch_size, *cols,
                                   join=(Remittance, Remittance.id == ClaimPayment.remittance_id)):
            yield [r.id for r in rows], self._payment_intakes(rows)

    def _payment_intakes(self, rows) -> list[Intake]:
        ids = [r.id for r in rows]
        wanted = set(ids)
        lines: dict[int, list] = defaultdict(list)
        for ln in self.session.execute(select(
                LinePayment.id, LinePayment.claim_payment_id, LinePayment.seq, LinePayment.procedure_code,
                LinePayment.charge, LinePayment.paid, LinePayment.service_from)
                .where(_among(LinePayment.claim_payment_id, ids)).order_by(LinePayment.seq)):
            if ln.claim_payment_id in wanted:
                lines[ln.claim_payment_id].append(ln)
        adjs: dict[tuple[int, int | None], list[Adj]] = defaultdict(list)
        for a in self.session.execute(select(Adjustment.claim_payment_id, Adjustment.line_payment_id,
                                             Adjustment.group_code, Adjustment.reason_code, Adjustment.amount)
                                      .where(_among(Adjustment.claim_payment_id, ids))):
            if a.claim_payment_id in wanted:
                adjs[(a.claim_payment_id, a.line_payment_id)].append(Adj(a.group_code, a.reason_code, a.amount))
        remarks: dict[tuple[int, int | None], list[str]] = defaultdict(list)
        for m in self.session.execute(select(RemarkCode.claim_payment_id, RemarkCode.line_payment_id, RemarkCode.code)
                                      .where(_among(RemarkCode.claim_payment_id, ids))):
            if m.claim_payment_id in wanted:
                remarks[(m.claim_payment_id, m.line_payment_id)].append(m.code.upper())
        claims = self._claims(r.claim_id for r in rows)
        contracted = self._line_contracts(claims)
        out: list[Intake] = []
        for r in rows:
            if r.reversed:
                continue  # the payer took this adjudication back; its replacement is routed instead
            claim = claims.get(r.claim_id)
            line_views = tuple(LineView(
                id=ln.id, seq=ln.seq, procedure_code=ln.procedure_code, charge=ln.charge, paid=ln.paid,
                contracted=contracted.get((r.claim_id, ln.seq)), adjustments=tuple(adjs.get((r.id, ln.id), ())),
                rarcs=tuple(remarks.get((r.id, ln.id), ()))) for ln in lines.get(r.id, ()))
            view = PaymentView(id=r.id, status_code=r.status_code, charge=r.charge, paid=r.paid,
                               contracted=claim.contracted_amount if claim else None,
                               adjustments=tuple(adjs.get((r.id, None), ())),
                               rarcs=tuple(remarks.get((r.id, None), ())), lines=line_views)
            line_dos = {ln.id: ln.service_from for ln in lines.get(r.id, ())}
            payer = self._payers.get(r.payer_id or (claim.payer_id if claim else None))
            for f in classify_payment(view, self.config.table):
                dos = line_dos.get(f.line_payment_id) or r.service_from or (claim.dos_from if claim else None)
                out.append(Intake(
                    dedupe_key=f"835:{r.id}:{f.dedupe_suffix()}", kind=f.kind, intake_source="835",
                    category=f.category, amount=f.amount, payer=payer, plan_type=self._plan_type(claim), dos=dos,
                    determined_on=r.payment_date or _day(r.created_at, self.today), claim_id=r.claim_id,
                    claim_payment_id=r.id, line_payment_id=f.line_payment_id, group_code=f.group_code, carc=f.carc,
                    rarc=",".join(f.rarcs) or None, procedure_code=f.procedure_code,
                    provider_key=r.rendering_npi or (claim.rendering_npi if claim else None),
                    location=claim.location if claim else None, reason=f.reason))
        return out

    def _line_contracts(self, claims: dict[int, object]) -> dict[tuple[int, int], Decimal]:
        if not claims:
            return {}
        return {(r.claim_id, r.line_number): r.contracted_amount for r in self.session.execute(
            select(ClaimLine.claim_id, ClaimLine.line_number, ClaimLine.contracted_amount)
            .where(ClaimLine.claim_id.in_(list(claims)), ClaimLine.contracted_amount.is_not(None)))}

    def status_events(self, batch_size: int) -> Iterator[tuple[list[int], list[Intake]]]:
        cols = (ClaimStatusEvent.id, ClaimStatusEvent.claim_id, ClaimStatusEvent.patient_control_number,
                ClaimStatusEvent.category, ClaimStatusEvent.status_code, ClaimStatusEvent.billed,
                ClaimStatusEvent.as_of)
        for rows in self._unrouted(ClaimStatusEvent, "status_event", batch_size, *cols):
            claims = self._claims(r.claim_id for r in rows)
            intakes = []
            for r in rows:
                kind = status_kind(r.category)
                if kind is None:
                    continue
                claim = claims.get(r.claim_id)
                # One pending item per claim however many daily pulls say "pending".
                subject = f"c{r.claim_id}" if r.claim_id else f"e{r.id}"
                key = f"status:{kind}:{subject}" + (f":{r.category}:{r.status_code}" if kind == "rejection" else "")
                amount = r.billed if r.billed is not None else (claim.billed_amount if claim else ZERO)
                intakes.append(Intake(
                    dedupe_key=key[:200], kind=kind, intake_source="portal",
                    category=self.config.table.category(kind), amount=amount,
                    payer=self._payers.get(claim.payer_id) if claim else None, plan_type=self._plan_type(claim),
                    dos=claim.dos_from if claim else None, determined_on=r.as_of, claim_id=r.claim_id,
                    provider_key=claim.rendering_npi if claim else None, location=claim.location if claim else None,
                    reason=None if claim else "status event not linked to a claim"))
            yield [r.id for r in rows], intakes


def _among(column, ids: list[int]):
    """Batches are id-ordered and usually dense: a range then reads their children without a
    5,000-item IN list (callers drop rows outside `ids`); sparse batches use the IN list."""
    if ids[-1] - ids[0] < 4 * len(ids):
        return column.between(ids[0], ids[-1])
    return column.in_(ids)


def _day(moment: datetime | None, fallback: date) -> date:
    return moment.date() if moment is not None else fallback
