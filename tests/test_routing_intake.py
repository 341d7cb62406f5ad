"""route_pending on the store: rows inserted directly, routed into work items (both backends)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.config import Settings
from core.routing import load_config, route_pending
from core.store.models.work import WorkItem
import routing_support as rs

TODAY = date(2026, 11, 27)
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def config():
    return load_config(Settings(org_type="practice"))


def _utc(moment):
    """SQLite hands back naive UTC datetimes; PostgreSQL aware ones."""
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _items(db, **where):
    with db.transaction() as s:
        stmt = select(WorkItem).order_by(WorkItem.id)
        for key, value in where.items():
            stmt = stmt.where(getattr(WorkItem, key) == value)
        return list(s.scalars(stmt))


def _route(db, config, today=TODAY, now=NOW):
    with db.transaction() as s:
        return route_pending(s, today, now=now, config=config)


def test_rejection_goes_to_billing_edits_with_a_24_hour_sla(db, config):
    with db.transaction() as s:
        aetna = rs.payer(s, "AETNA")
        rs.rejection(s, aetna, rs.claim(s, aetna, dos=date(2026, 11, 1)), amount="120.00")
    report = _route(db, config)
    [item] = _items(db)
    assert report.created["rejection"] == 1
    assert (item.kind, item.team, item.category, item.action) == ("rejection", "billing_edits", "rejection",
                                                                   "correct_resubmit")
    assert _utc(item.sla_due_at) == NOW + timedelta(hours=24)
    assert item.filing_deadline == date(2026, 11, 1) + timedelta(days=90)
    assert item.appeal_deadline is None and item.due_on == item.filing_deadline


def test_denied_lines_become_one_item_each_with_deadlines(db, config):
    with db.transaction() as s:
        aetna = rs.payer(s, "AETNA")
        claim = rs.claim(s, aetna, dos=date(2026, 10, 1))
        remit = rs.remittance(s, aetna, paid_on=date(2026, 11, 2))
        rs.payment(s, remit, claim, lines=[
            {"charge": "100", "paid": "70", "adjustments": [("PR", "2", "30")]},
            rs.denied_line("197", "4800.00"),
            rs.denied_line("27", "200.00"),
        ])
    _route(db, config)
    items = {i.carc: i for i in _items(db, kind="denial")}
    assert set(items) == {"197", "27"}  # the PR-2 coinsurance line is not a denial
    auth, elig = items["197"], items["27"]
    assert (auth.team, auth.category, auth.amount) == ("prior_auth", "authorization", Decimal("4800.00"))
    assert auth.appeal_deadline == date(2026, 11, 2) + timedelta(days=180)
    assert auth.filing_deadline == date(2026, 10, 1) + timedelta(days=90)
    assert auth.dos == date(2026, 10, 1) and auth.determined_on == date(2026, 11, 2)
    assert (elig.team, elig.action, _utc(elig.sla_due_at)) == ("front_desk", "correct_resubmit", NOW + timedelta(hours=24))
    assert auth.priority > 0 and auth.recoverability == config.table.category("authorization").prior


def test_routing_twice_creates_nothing_new_and_new_rows_are_picked_up(db, config):
    with db.transaction() as s:
        uhc = rs.payer(s, "UHC")
        remit = rs.remittance(s, uhc)
        rs.payment(s, remit, rs.claim(s, uhc), lines=[rs.denied_line("50", "900")])
    first = _route(db, config)
    second = _route(db, config)
    assert first.total_created >= 1 and second.total_created == 0
    count = len(_items(db))
    with db.transaction() as s:
        uhc_id = s.scalar(select(WorkItem.payer_id).limit(1))
        from core.store.models import Payer
        uhc = s.get(Payer, uhc_id)
        rs.payment(s, rs.remittance(s, uhc), rs.claim(s, uhc), lines=[rs.denied_line("4", "300")])
    third = _route(db, config)
    assert third.created == {"denial": 1}
    assert len(_items(db)) == count + 1


@pytest.mark.parametrize("setup,reason", [
    (lambda s: (rs.payer(s, "AETNA"), "Z99", date(2026, 10, 1)), "unknown CARC Z99"),
    (lambda s: (rs.payer(s, "ACME", "Acme Health"), "50", date(2026, 10, 1)), "no payer rules for payer ACME"),
    (lambda s: (rs.payer(s, "AETNA"), "50", None), "claim has no DOS"),
])
def test_bad_input_enters_the_store_routed_to_triage_with_the_reason(db, config, setup, reason):
    with db.transaction() as s:
        payer, carc, dos = setup(s)
        rs.payment(s, rs.remittance(s, payer), rs.claim(s, payer, dos=dos), lines=[rs.denied_line(carc, "700")])
    report = _route(db, config)
    [item] = _items(db)
    assert report.triage == 1
    assert (item.team, item.category) == ("triage", "triage")
    assert reason in item.reason
    assert item.amount == Decimal("700.00")


def test_payment_without_claim_uses_the_remittance_service_date(db, config):
    with db.transaction() as s:
        cigna = rs.payer(s, "CIGNA")
        rs.payment(s, rs.remittance(s, cigna, paid_on=date(2026, 11, 1)), None, service_from=date(2026, 9, 1),
                   lines=[rs.denied_line("18", "80")])
    _route(db, config)
    [item] = _items(db)
    assert (item.team, item.dos, item.appeal_deadline) == ("billing_ops", date(2026, 9, 1), date(2027, 4, 30))


def test_underpayment_from_line_contract_rates(db, config):
    with db.transaction() as s:
        anthem = rs.payer(s, "ANTHEM")
        claim = rs.claim(s, anthem, lines=[("99214", "250", "180"), ("99213", "150", "100")])
        rs.payment(s, rs.remittance(s, anthem), claim, lines=[
            {"proc": "99214", "charge": "250", "paid": "120", "adjustments": [("CO", "45", "130")]},
            {"proc": "99213", "charge": "150", "paid": "100", "adjustments": [("CO", "45", "50")]},
        ])
    _route(db, config)
    [item] = _items(db)
    assert (item.kind, item.team, item.amount, item.procedure_code) == ("underpayment", "contract_mgmt",
                                                                        Decimal("60.00"), "99214")


def test_small_denial_goes_straight_to_write_off_with_the_reason(db, config):
    with db.transaction() as s:
        aetna = rs.payer(s, "AETNA")
        rs.payment(s, rs.remittance(s, aetna), rs.claim(s, aetna), lines=[rs.denied_line("16", "12.00")])
    report = _route(db, config)
    [item] = _items(db)
    assert report.write_off == 1
    assert (item.team, item.action, item.category) == ("write_off", "write_off", "coding")
    assert "threshold 25.00" in item.reason


def test_medical_necessity_gets_documentation_and_peer_to_peer_tasks(db):
    owners = Settings()
    config = load_config(owners)
    docs = config.table.documentation.model_copy(update={"owners": {"1234567893": "dr-lee-docs"}})
    config = type(config)(table=config.table.model_copy(update={"documentation": docs}),
                          payer_rules=config.payer_rules)
    with db.transaction() as s:
        aetna = rs.payer(s, "AETNA")
        rs.payment(s, rs.remittance(s, aetna, paid_on=date(2026, 11, 20)), rs.claim(s, aetna, dos=date(2026, 11, 1)),
                   lines=[rs.denied_line("50", "1500")])
    report = _route(db, config)
    [parent] = _items(db, kind="denial")
    tasks = {t.category: t for t in _items(db, kind="task")}
    assert report.created["task"] == 2
    doc, p2p = tasks["documentation_retrieval"], tasks["peer_to_peer"]
    assert doc.parent_id == parent.id and doc.owner == "dr-lee-docs"
    assert _utc(doc.sla_due_at) == NOW + timedelta(hours=48)
    assert p2p.due_on == parent.appeal_deadline - timedelta(days=14)
    assert p2p.due_on < parent.appeal_deadline
    # Re-routing creates no second set of tasks.
    assert _route(db, config).total_created == 0


def test_repeat_cluster_becomes_one_root_cause_item(db, config):
    with db.transaction() as s:
        uhc = rs.payer(s, "UHC")
        for n in range(12):
            remit = rs.remittance(s, uhc, paid_on=TODAY - timedelta(days=n))
            rs.payment(s, remit, rs.claim(s, uhc, dos=TODAY - timedelta(days=30)), lines=[rs.denied_line("27", "100")])
    report = _route(db, config)
    [root] = _items(db, kind="root_cause")
    members = _items(db, parent_id=root.id)
    assert report.root_causes == 1 and len(members) == 12
    assert all(m.action == "root_cause" for m in members)
    assert (root.team, root.category, root.amount) == ("front_desk", "eligibility", Decimal("1200.00"))
    # A later denial of the same kind joins the open root cause instead of making another.
    with db.transaction() as s:
        from core.store.models import Payer
        uhc = s.scalar(select(Payer).where(Payer.code == "UHC"))
        rs.payment(s, rs.remittance(s, uhc, paid_on=TODAY), rs.claim(s, uhc, dos=TODAY - timedelta(days=20)),
                   lines=[rs.denied_line("31", "100")])
    again = _route(db, config)
    assert again.root_causes == 0 and again.clustered == 1
    assert len(_items(db, parent_id=root.id)) == 13


def test_few_denials_do_not_make_a_cluster(db, config):
    with db.transaction() as s:
        uhc = rs.payer(s, "UHC")
        for _ in range(3):
            rs.payment(s, rs.remittance(s, uhc, paid_on=TODAY), rs.claim(s, uhc), lines=[rs.denied_line("27", "100")])
    assert _route(db, config).root_causes == 0
    assert _items(db, kind="root_cause") == []


def test_pending_status_pulls_make_one_follow_up_item_per_claim(db, config):
    with db.transaction() as s:
        medicare = rs.payer(s, "MEDICARE")
        claim = rs.claim(s, medicare, dos=date(2026, 8, 1))
        rs.status_event(s, claim, category="P1", as_of=date(2026, 11, 10))
        rs.status_event(s, claim, category="P1", as_of=date(2026, 11, 11))
        rs.status_event(s, claim, category="F1", as_of=date(2026, 11, 12))
    report = _route(db, config)
    [item] = _items(db)
    assert report.sources_read["status_event"] == 3
    assert (item.kind, item.team, item.action) == ("pending", "follow_up", "work_by_deadline")
    assert item.filing_deadline == date(2027, 8, 1)


def test_rejection_without_a_claim_is_triaged_not_dropped(db, config):
    with db.transaction() as s:
        rs.rejection(s, rs.payer(s, "AETNA"), None, level="receiver", amount=None)
    _route(db, config)
    [item] = _items(db)
    assert item.team == "triage" and "receiver-level rejection" in item.reason and item.amount == Decimal("0")


def test_every_source_row_is_marked_once(db, config):
    with db.transaction() as s:
        aetna = rs.payer(s, "AETNA")
        for _ in range(5):
            rs.payment(s, rs.remittance(s, aetna), rs.claim(s, aetna), status="1", paid="100",
                       lines=[{"charge": "100", "paid": "100"}])
    with db.transaction() as s:
        report = route_pending(s, TODAY, now=NOW, config=config, batch_size=2)
        assert report.sources_read["claim_payment"] == 5 and report.total_created == 0
        from core.store.models.work import RoutingMark
        assert s.scalar(select(func.count()).select_from(RoutingMark)) == 5
    assert _route(db, config).sources_read["claim_payment"] == 0


def test_a_reversed_payment_makes_no_items_but_its_replacement_does(db, config):
    with db.transaction() as s:
        aetna = rs.payer(s, "AETNA")
        claim = rs.claim(s, aetna)
        old = rs.payment(s, rs.remittance(s, aetna), claim, lines=[rs.denied_line("50", "400")])
        old.reversed = True
        rs.payment(s, rs.remittance(s, aetna), claim, status="22", lines=[rs.denied_line("50", "-400")])
        rs.payment(s, rs.remittance(s, aetna), claim, lines=[rs.denied_line("16", "400")])
    report = _route(db, config)
    assert report.sources_read["claim_payment"] == 3
    assert [(i.kind, i.carc) for i in _items(db, kind="denial")] == [("denial", "16")]
