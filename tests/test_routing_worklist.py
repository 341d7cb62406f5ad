"""Queue views: every filter and sort, keyset pages forwards and back, claims and bulk moves by the rules."""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import insert, select

from core.routing import worklist
from core.routing.worklist import (
    UNASSIGNED, QueueView, assign, bulk, iter_view, queue_view_page, team_size,
)
from core.routing.states import transition
from core.store.models import AuditEvent, Payer
from core.store.models.work import WorkItem, WorkItemTransition, WorkQueueEntry

NOW = datetime(2026, 11, 16, 9, 0, tzinfo=timezone.utc)
TODAY = NOW.date()


@pytest.fixture
def items(db):
    """60 open items over two teams and three payers, with ties in priority, due date and amount."""
    rng = random.Random(3)
    with db.transaction() as s:
        s.execute(insert(Payer), [{"code": c, "name": c.title(), "created_at": NOW} for c in ("AETNA", "UHC", "CIGNA")])
        payers = list(s.scalars(select(Payer.id).order_by(Payer.id)))
        rows = []
        for i in range(1, 61):
            team = "coding" if i % 4 else "front_desk"
            state = rng.choice(("new", "new", "assigned", "appealing"))
            rows.append({"id": i, "dedupe_key": f"t:{i}", "kind": "denial", "intake_source": "835",
                         "payer_id": payers[i % 3], "category": "coding" if team == "coding" else "eligibility",
                         "team": team, "owner": None if state == "new" else rng.choice(("ann", "bob")),
                         "carc": "16", "amount": Decimal(rng.choice(("50.00", "300.00", "1200.00"))),
                         "due_on": None if i % 7 == 0 else TODAY + timedelta(days=rng.randrange(0, 20)),
                         "priority": float(rng.choice((10, 20, 30))), "action": "work_by_deadline", "state": state,
                         "is_open": True, "created_at": NOW, "updated_at": NOW})
        s.execute(insert(WorkItem), rows)
        s.execute(insert(WorkQueueEntry), [{"work_item_id": r["id"], "team": r["team"], "priority": r["priority"]}
                                           for r in rows])
    return {r["id"]: r for r in rows}


def expected(items, view: QueueView, codes: dict[int, str]) -> list[int]:
    rows = [r for r in items.values() if r["team"] == view.team]
    if view.payer:
        rows = [r for r in rows if codes[r["payer_id"]] == view.payer]
    if view.owner == UNASSIGNED:
        rows = [r for r in rows if r["owner"] is None]
    elif view.owner:
        rows = [r for r in rows if r["owner"] == view.owner]
    if view.state:
        rows = [r for r in rows if r["state"] == view.state]
    if view.due_before:
        rows = [r for r in rows if r["due_on"] is not None and r["due_on"] < view.due_before]
    if view.min_amount is not None:
        rows = [r for r in rows if r["amount"] >= view.min_amount]
    if view.max_amount is not None:
        rows = [r for r in rows if r["amount"] <= view.max_amount]
    if view.sort == "priority":
        rows.sort(key=lambda r: (r["priority"], r["id"]), reverse=True)
    elif view.sort == "amount":
        rows.sort(key=lambda r: (r["amount"], r["id"]), reverse=True)
    else:
        rows.sort(key=lambda r: (r["due_on"] is None, r["due_on"] or date.min, r["id"]))
    return [r["id"] for r in rows]


VIEWS = [
    QueueView(team="coding"),
    QueueView(team="coding", sort="due"),
    QueueView(team="coding", sort="amount"),
    QueueView(team="coding", payer="UHC"),
    QueueView(team="coding", owner=UNASSIGNED, sort="due"),
    QueueView(team="coding", owner="ann", sort="amount"),
    QueueView(team="coding", state="appealing"),
    QueueView(team="coding", due_before=TODAY + timedelta(days=8), sort="due"),
    QueueView(team="coding", min_amount=Decimal("100"), max_amount=Decimal("1200")),
    QueueView(team="front_desk", payer="AETNA", sort="amount"),
    QueueView(team="coding", payer="NOSUCHPAYER"),
]


@pytest.mark.parametrize("window", [2000, 3], ids=["filters-on-the-walk", "filters-first"])
@pytest.mark.parametrize("view", VIEWS, ids=lambda v: ",".join(f"{k}={x}" for k, x in vars(v).items() if x))
def test_pages_walk_the_whole_view_forwards_and_back_in_order(db, items, view, window, monkeypatch):
    # A window of 3 index entries sends every filtered page down the selective-filter path.
    monkeypatch.setattr(worklist, "WINDOW", window)
    with db.transaction() as s:
        codes = dict(s.execute(select(Payer.id, Payer.code)).all())
        want = expected(items, view, codes)
        pages, page = [], queue_view_page(s, view, limit=7)
        pages.append(page)
        while page.next is not None:
            page = queue_view_page(s, view, after=page.next, limit=7)
            pages.append(page)
        assert [r.id for p in pages for r in p.rows] == want
        assert pages[0].previous is None and pages[-1].next is None
        # Walking back from the last page gives the same pages.
        back = pages[-1]
        for earlier in reversed(pages[:-1]):
            back = queue_view_page(s, view, before=back.previous, limit=7)
            assert [r.id for r in back.rows] == [r.id for r in earlier.rows]
        assert [r.id for r in iter_view(s, view, batch=5)] == want


def test_team_size_counts_open_queued_items_up_to_a_cap(db, items):
    with db.transaction() as s:
        assert team_size(s, "coding") == sum(1 for r in items.values() if r["team"] == "coding") == 45
        assert team_size(s, "coding", cap=10) == 10


def test_claiming_assigns_a_new_item_through_the_state_machine(db, items):
    new_id = next(i for i, r in items.items() if r["state"] == "new")
    with db.transaction() as s:
        item = assign(s, new_id, "carol", actor="web:carol", now=NOW)
        assert (item.state, item.owner) == ("assigned", "carol")
        moves = s.execute(select(WorkItemTransition.from_state, WorkItemTransition.to_state)
                          .where(WorkItemTransition.work_item_id == new_id)).all()
        assert moves == [("new", "assigned")]
        assert s.scalar(select(AuditEvent.actor).where(AuditEvent.action == "work_item.assigned")) == "web:carol"


def test_bulk_moves_what_the_rules_allow_and_reports_the_rest(db, items):
    new_ids = [i for i, r in items.items() if r["state"] == "new" and r["team"] == "coding"][:2]
    appealing = next(i for i, r in items.items() if r["state"] == "appealing" and r["team"] == "coding")
    other_team = next(i for i, r in items.items() if r["team"] == "front_desk")
    with db.transaction() as s:
        result = bulk(s, [*new_ids, appealing, other_team, 9999],
                      lambda item_id: transition(s, item_id, "correcting", actor="t", now=NOW),
                      allowed_teams=frozenset({"coding"}))
    assert result.done == new_ids
    assert "appealing -> correcting is not allowed" in result.refused[appealing]
    assert "not in your teams" in result.refused[other_team]
    assert set(result.refused) == {appealing, other_team, 9999}
    with db.transaction() as s:
        states = dict(s.execute(select(WorkItem.id, WorkItem.state)
                                .where(WorkItem.id.in_([*new_ids, appealing, other_team]))).all())
    assert states == {new_ids[0]: "correcting", new_ids[1]: "correcting", appealing: "appealing",
                      other_team: items[other_team]["state"]}
