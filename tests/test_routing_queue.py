"""Queues, summary and full re-prioritisation with learned recoverability (both backends)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select, update

import routing_support as rs
from core.routing import current_priority, load_config, queue_page, reprioritise, route_pending, summary, transition
from core.routing.priority import smoothed
from core.store.models.work import WorkItem

TODAY = date(2026, 11, 27)
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def config():
    return load_config()


def _item(session, *, payer, team, amount, due_in, recoverability, category="medical_necessity", carc="50",
          state="new", key=None, kind="denial", sla_due_at=None, recovered=None):
    row = WorkItem(dedupe_key=key or f"t:{team}:{amount}:{due_in}:{carc}:{state}:{recovered}", kind=kind,
                   intake_source="835", payer_id=payer.id, category=category, team=team, carc=carc,
                   amount=Decimal(amount), due_on=TODAY + timedelta(days=due_in), appeal_deadline=TODAY + timedelta(days=due_in),
                   priority=0.0, action="work_by_deadline", state=state, recoverability=recoverability,
                   is_open=not state.startswith("closed"), sla_due_at=sla_due_at,
                   recovered_amount=Decimal(recovered) if recovered is not None else None)
    session.add(row)
    session.flush()
    return row


def _with_priors(config, **priors):
    """The shipped config with some category priors replaced."""
    cats = tuple(c.model_copy(update={"prior": priors[c.name]}) if c.name in priors else c
                 for c in config.table.categories)
    return type(config)(table=config.table.model_copy(update={"categories": cats}), payer_rules=config.payer_rules)


def test_seed_example_holds_in_the_queue(db, config):
    seeded = _with_priors(config, medical_necessity=0.6, experimental=0.9)
    with db.transaction() as s:
        aetna = rs.payer(s, "AETNA")
        small = _item(s, payer=aetna, team="clinical_docs", amount="200.00", due_in=90, recoverability=0.5,
                      category="experimental", carc="55").id
        big = _item(s, payer=aetna, team="clinical_docs", amount="4800.00", due_in=5, recoverability=0.5).id
    with db.transaction() as s:
        reprioritise(s, TODAY, now=NOW, config=seeded)
        page = queue_page(s, "clinical_docs")
    assert [r.id for r in page] == [big, small]
    assert page[0].action == "work_today" and page[1].action == "work_by_deadline"
    assert page[0].priority == pytest.approx(4800 * (30 / 35) * 0.6)
    assert page[1].priority == pytest.approx(200 * (30 / 120) * 0.9)


def test_outcomes_teach_recoverability_per_payer_and_carc(db, config):
    with db.transaction() as s:
        uhc, aetna = rs.payer(s, "UHC"), rs.payer(s, "AETNA")
        for n in range(20):  # UHC never pays CARC 50 appeals
            _item(s, payer=uhc, team="clinical_docs", amount="100.00", due_in=30, recoverability=0.5,
                  state="closed_written_off", key=f"lost{n}", recovered="0")
        for n in range(4):  # Aetna paid 4 of 4
            _item(s, payer=aetna, team="clinical_docs", amount="100.00", due_in=30, recoverability=0.5,
                  state="closed_recovered", key=f"won{n}", recovered="100.00")
        open_uhc = _item(s, payer=uhc, team="clinical_docs", amount="1000.00", due_in=30, recoverability=0.5,
                         key="open-uhc").id
        open_aetna = _item(s, payer=aetna, team="clinical_docs", amount="1000.00", due_in=30, recoverability=0.5,
                           key="open-aetna").id
    with db.transaction() as s:
        assert reprioritise(s, TODAY, now=NOW, config=config) == 2
        prior = config.table.category("medical_necessity").prior
        strength = config.table.recoverability.prior_strength
        uhc_item, aetna_item = s.get(WorkItem, open_uhc), s.get(WorkItem, open_aetna)
        assert uhc_item.recoverability == pytest.approx(smoothed(prior, 20, 0.0, strength))
        assert aetna_item.recoverability == pytest.approx(smoothed(prior, 4, 4.0, strength))
        # Four wins move Aetna up, but nowhere near certainty.
        assert prior < aetna_item.recoverability < 0.7
        assert current_priority(s, open_aetna) > current_priority(s, open_uhc)
        assert [r.id for r in queue_page(s, "clinical_docs")] == [open_aetna, open_uhc]


def test_reprioritisation_follows_the_calendar(db, config):
    with db.transaction() as s:
        aetna = rs.payer(s, "AETNA")
        item_id = _item(s, payer=aetna, team="clinical_docs", amount="2000.00", due_in=40, recoverability=0.5).id
    with db.transaction() as s:
        reprioritise(s, TODAY, now=NOW, config=config)
        first, action_before = current_priority(s, item_id), s.get(WorkItem, item_id).action
    with db.transaction() as s:
        reprioritise(s, TODAY + timedelta(days=30), now=NOW + timedelta(days=30), config=config)
        after = s.get(WorkItem, item_id)
        assert current_priority(s, item_id) > first
        assert (action_before, after.action) == ("work_by_deadline", "work_today")


def test_queue_page_is_per_team_open_only_and_limited(db, config):
    with db.transaction() as s:
        aetna = rs.payer(s, "AETNA")
        for n in range(7):
            _item(s, payer=aetna, team="coding", amount=f"{100 + n}.00", due_in=10, recoverability=0.5, carc="4")
        _item(s, payer=aetna, team="coding", amount="9999.00", due_in=1, recoverability=0.5, carc="4",
              state="closed_recovered", recovered="9999.00")
        _item(s, payer=aetna, team="front_desk", amount="5000.00", due_in=1, recoverability=0.5, carc="27")
        reprioritise(s, TODAY, now=NOW, config=config)
    with db.transaction() as s:
        page = queue_page(s, "coding", limit=5)
    assert len(page) == 5 and all(r.team == "coding" and r.state != "closed_recovered" for r in page)
    assert [r.amount for r in page] == sorted((r.amount for r in page), reverse=True)
    assert page[0].payer == "AETNA" and page[0].as_json()["amount"] == "106.00"


def test_summary_counts_dollars_and_late_items(db, config):
    with db.transaction() as s:
        aetna = rs.payer(s, "AETNA")
        _item(s, payer=aetna, team="coding", amount="300.00", due_in=10, recoverability=0.5,
              sla_due_at=NOW - timedelta(hours=1), key="late")
        _item(s, payer=aetna, team="coding", amount="200.00", due_in=10, recoverability=0.5,
              sla_due_at=NOW + timedelta(hours=1), key="on-time")
        _item(s, payer=aetna, team="clinical_docs", amount="1000.00", due_in=10, recoverability=0.5,
              state="closed_recovered", recovered="600.00", key="partly")
        _item(s, payer=aetna, team="clinical_docs", amount="50.00", due_in=10, recoverability=0.5,
              state="closed_written_off", recovered="0", key="lost")
        # Tasks repeat their parent's dollars and must not be counted twice.
        _item(s, payer=aetna, team="clinical_docs", amount="300.00", due_in=10, recoverability=0.5, kind="task",
              key="task")
    with db.transaction() as s:
        out = summary(s, now=NOW)
    assert out.denied == Decimal("1550.00")
    assert out.recovered == Decimal("600.00")
    assert out.written_off == Decimal("450.00")
    assert out.at_risk == Decimal("500.00")
    assert out.past_sla == 1
    teams = {t.team: t for t in out.teams}
    assert (teams["coding"].open, teams["coding"].past_sla, teams["coding"].at_risk) == (2, 1, Decimal("500.00"))
    assert teams["clinical_docs"].open == 1


def test_routed_items_flow_into_queue_and_summary(db, config):
    with db.transaction() as s:
        aetna = rs.payer(s, "AETNA")
        rs.payment(s, rs.remittance(s, aetna, paid_on=TODAY - timedelta(days=3)), rs.claim(s, aetna, dos=TODAY - timedelta(days=40)),
                   lines=[rs.denied_line("50", "4800.00"), rs.denied_line("4", "200.00")])
        route_pending(s, TODAY, now=NOW, config=config)
    with db.transaction() as s:
        reprioritise(s, TODAY, now=NOW, config=config)
        ids = [r.id for r in queue_page(s, "clinical_docs")]
        denial = s.scalar(select(WorkItem.id).where(WorkItem.kind == "denial", WorkItem.carc == "50"))
        assert denial in ids
        transition(s, denial, "closed_written_off", actor="mgr", now=NOW, reason="duplicate of prior appeal")
        out = summary(s, now=NOW)
    assert out.denied == Decimal("5000.00") and out.written_off == Decimal("4800.00")
    assert out.at_risk == Decimal("200.00")


def test_over_recovery_is_not_negative_loss(db, config):
    with db.transaction() as s:
        aetna = rs.payer(s, "AETNA")
        _item(s, payer=aetna, team="coding", amount="100.00", due_in=10, recoverability=0.5,
              state="closed_recovered", recovered="104.50", key="with-interest")
    with db.transaction() as s:
        out = summary(s, now=NOW)
    assert (out.recovered, out.written_off, out.at_risk) == (Decimal("104.50"), Decimal("0.00"), Decimal("0.00"))


def test_schema_models_and_migrations_agree_even_after_a_rebuild(db, config):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from core.store.models import Base

    with db.transaction() as s:  # the PostgreSQL rebuild drops and recreates the page index
        reprioritise(s, TODAY, now=NOW, config=config)

    with db.engine.connect() as conn:
        diff = [d for d in compare_metadata(MigrationContext.configure(conn), Base.metadata)
                if any(name in repr(d) for name in ("work_item", "work_queue", "routing", "recoverability"))]
    assert diff == []


def test_routing_queues_new_items_and_closing_takes_them_out(db, config):
    with db.transaction() as s:
        aetna = rs.payer(s, "AETNA")
        rs.payment(s, rs.remittance(s, aetna, paid_on=TODAY), rs.claim(s, aetna, dos=TODAY - timedelta(days=30)),
                   lines=[rs.denied_line("4", "300.00")])
        route_pending(s, TODAY, now=NOW, config=config)
    with db.transaction() as s:
        [row] = queue_page(s, "coding")
        item = s.get(WorkItem, row.id)
        assert row.priority == item.priority > 0  # queued at its routed score before any rescoring
        transition(s, row.id, "closed_written_off", actor="mgr", now=NOW, reason="duplicate")
        assert queue_page(s, "coding") == [] and current_priority(s, row.id) is None
    with db.transaction() as s:
        reprioritise(s, TODAY, now=NOW, config=config)
        assert queue_page(s, "coding") == []
