"""Queue pages at scale: filtered, sorted, keyset-paged reads of one team's queue at N open items.

    .venv/bin/python bench/web_queue_bench.py                       # 1,000,000 items, SQLite + PostgreSQL
    .venv/bin/python bench/web_queue_bench.py --n 100000 --backends sqlite

Goal (issue 15): a queue page under 50 ms at 1,000,000 items on both backends, for the core read
(core/routing/worklist.py) and for the whole web page (sign-in cookie, role check, audit row, HTML).
Work items and their work_queue rows are bulk-inserted directly (not routed: routing has its own
bench); the mix of teams, payers, owners and states is like a clinic's. The baseline is the plain
first page that `payerfleet queue` reads (queue_page), timed in the same process; every figure is
printed with its ratio to it. Not a test: it prints figures.
"""
from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, insert, select, text  # noqa: E402

from bench.routing_bench import _pg_database  # noqa: E402
from core.config import Settings  # noqa: E402
from core.routing import queue_page  # noqa: E402
from core.routing.worklist import UNASSIGNED, Cursor, QueueView, queue_view_page  # noqa: E402
from core.store import migrate  # noqa: E402
from core.store.db import Database  # noqa: E402
from core.store.models import Payer, User  # noqa: E402
from core.store.models.work import WorkItem, WorkQueueEntry  # noqa: E402

TODAY = date(2026, 11, 27)
NOW = datetime(2026, 11, 27, 6, 0, tzinfo=timezone.utc)
PAYERS = ("AETNA", "UHC", "CIGNA", "ANTHEM", "MEDICARE", "SMALLPLAN")
PAYER_WEIGHTS = (30, 30, 15, 15, 9, 1)
# (team, category, weight): the routing table's teams, sized roughly like a clinic's denial mix.
TEAMS = (("front_desk", "eligibility", 25), ("coding", "coding", 25), ("prior_auth", "authorization", 12),
         ("clinical_docs", "medical_necessity", 12), ("billing_edits", "rejection", 8),
         ("patient_access", "cob", 6), ("billing_ops", "duplicate", 4), ("contract_mgmt", "underpayment", 4),
         ("write_off", "non_covered", 3), ("triage", "triage", 1))
STATES = (("new", 94), ("assigned", 3), ("appealing", 1), ("correcting", 1), ("awaiting_payer", 1))
OWNERS = [f"biller{i:02d}" for i in range(40)]
AMOUNTS = ("15.00", "120.00", "300.00", "850.00", "2400.00", "4800.00")
TEAM = "front_desk"  # the biggest queue: every timing below reads it
CHUNK = 20_000


def load(db: Database, n: int, seed: int = 15) -> float:
    rng = random.Random(seed)
    start = time.perf_counter()
    with db.transaction() as s:
        s.execute(insert(Payer), [{"code": c, "name": c.title(), "created_at": NOW} for c in PAYERS])
    with db.transaction() as s:
        payer_ids = list(s.scalars(select(Payer.id).order_by(Payer.id)))
    teams = [t for t, _, w in TEAMS for _ in range(w)]
    category = {t: c for t, c, _ in TEAMS}
    states = [s for s, w in STATES for _ in range(w)]
    done = 0
    while done < n:
        size = min(CHUNK, n - done)
        items, queue = [], []
        for i in range(done + 1, done + size + 1):
            team = rng.choice(teams)
            state = rng.choice(states)
            amount = Decimal(rng.choice(AMOUNTS))
            due = None if rng.random() < 0.05 else TODAY + timedelta(days=rng.randrange(-10, 200))
            recoverability = rng.choice((0.35, 0.5, 0.6, 0.75, 0.9))
            days = 30 if due is None else max((due - TODAY).days, 0)
            priority = float(amount) * 30 / (30 + days) * recoverability
            items.append({"id": i, "dedupe_key": f"bench:{i}", "kind": "denial", "intake_source": "835",
                          "payer_id": rng.choices(payer_ids, PAYER_WEIGHTS)[0], "category": category[team],
                          "team": team, "owner": None if state == "new" else rng.choice(OWNERS),
                          "group_code": "CO", "carc": "27", "amount": amount, "dos": TODAY - timedelta(days=60),
                          "due_on": due, "appeal_deadline": due, "sla_due_at": NOW + timedelta(hours=24),
                          "priority": priority, "action": "work_by_deadline", "state": state,
                          "recoverability": recoverability, "is_open": True, "created_at": NOW, "updated_at": NOW})
            queue.append({"work_item_id": i, "team": team, "priority": priority})
        with db.transaction() as s:
            s.execute(insert(WorkItem), items)
            s.execute(insert(WorkQueueEntry), queue)
        done += size
    with db.engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
    return time.perf_counter() - start


def _timed(fn, repeat: int = 7) -> tuple[float, float, object]:
    """First call and median of `repeat` calls, in ms, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t) * 1000)
    return times[0], statistics.median(times), result


def _middle_cursor(db: Database, view: QueueView) -> Cursor:
    """A cursor half-way down the team's queue (found once with OFFSET, untimed)."""
    with db.transaction() as s:
        size = s.scalar(select(func.count()).select_from(WorkQueueEntry).where(WorkQueueEntry.team == view.team))
        pid, prio = s.execute(select(WorkQueueEntry.work_item_id, WorkQueueEntry.priority)
                              .where(WorkQueueEntry.team == view.team)
                              .order_by(WorkQueueEntry.priority.desc(), WorkQueueEntry.work_item_id.desc())
                              .offset(size // 2).limit(1)).one()
    return Cursor(0, repr(prio), pid)


def core_cases(db: Database) -> list[tuple[str, object]]:
    base = QueueView(team=TEAM)

    def page(view, **kw):
        def read():
            with db.transaction() as s:
                return queue_view_page(s, view, limit=50, **kw).rows
        return read

    middle = _middle_cursor(db, base)
    return [
        ("priority, page 1", page(base)),
        ("priority, half-way down (keyset)", page(base, after=middle)),
        ("priority, previous page from half-way", page(base, before=middle)),
        ("sort by due date", page(QueueView(team=TEAM, sort="due"))),
        ("sort by amount", page(QueueView(team=TEAM, sort="amount"))),
        ("payer AETNA (30 %)", page(QueueView(team=TEAM, payer="AETNA"))),
        ("payer SMALLPLAN (1 %)", page(QueueView(team=TEAM, payer="SMALLPLAN"))),
        ("owner biller07 (0.15 %)", page(QueueView(team=TEAM, owner="biller07"))),
        ("unassigned", page(QueueView(team=TEAM, owner=UNASSIGNED))),
        ("state appealing (1 %)", page(QueueView(team=TEAM, state="appealing"))),
        ("due before today+5", page(QueueView(team=TEAM, due_before=TODAY + timedelta(days=5)))),
        ("amount 2,000-5,000", page(QueueView(team=TEAM, min_amount=Decimal(2000), max_amount=Decimal(5000)))),
        ("SMALLPLAN + appealing, by due", page(QueueView(team=TEAM, payer="SMALLPLAN", state="appealing",
                                                         sort="due"))),
    ]


def web_cases(db_url: str, data_dir: Path) -> list[tuple[str, object]]:
    """The same reads as whole web pages: cookie check, role check, audit row, HTML rendering."""
    import httpx

    from core.users import add_user
    from web.app import create_app

    settings = Settings(data_dir=data_dir, database_url=db_url)
    app = create_app(settings)
    with Database(db_url).transaction() as s:
        if s.scalar(select(User.id).where(User.name == "bench-manager")) is None:
            add_user(s, "bench-manager", "bench-password-1", "manager", known_teams=(), actor="bench", now=NOW)
    loop = asyncio.new_event_loop()
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1")

    async def sign_in():
        form = await client.get("/login")
        token = form.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        got = await client.post("/login", data={"name": "bench-manager", "password": "bench-password-1",
                                                "csrf": token})
        assert got.status_code == 303, got.text

    loop.run_until_complete(sign_in())

    def get(path):
        def read():
            got = loop.run_until_complete(client.get(path))
            assert got.status_code == 200, (path, got.status_code)
            return got
        return read

    first = get(f"/queues/{TEAM}")()
    next_link = first.text.split('rel="next" href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    return [
        ("web: queue page 1", get(f"/queues/{TEAM}")),
        ("web: queue page 2", get(f"/queues/{TEAM}{next_link}")),
        ("web: payer SMALLPLAN + appealing", get(f"/queues/{TEAM}?payer=SMALLPLAN&state=appealing")),
        ("web: sort by due", get(f"/queues/{TEAM}?sort=due")),
        ("web: owner biller07", get(f"/queues/{TEAM}?owner=biller07")),
    ]


def measure(db: Database, db_url: str, n: int, data_dir: Path) -> dict:
    with db.transaction() as s:
        loaded = s.scalar(select(func.count()).select_from(WorkQueueEntry))
    out = {"backend": db.dialect, "load_s": load(db, n) if not loaded else 0.0}
    with db.transaction() as s:
        out["team_size"] = s.scalar(select(func.count()).select_from(WorkQueueEntry)
                                    .where(WorkQueueEntry.team == TEAM))

    def baseline():
        with db.transaction() as s:
            return queue_page(s, TEAM, limit=50)

    out["baseline"] = _timed(baseline)
    out["core"] = [(name, _timed(fn)) for name, fn in core_cases(db)]
    out["web"] = [(name, _timed(fn)) for name, fn in web_cases(db_url, data_dir)]
    return out


def run(backend: str, n: int, sqlite_file: Path | None = None) -> dict:
    tmp = tempfile.TemporaryDirectory()
    if backend == "sqlite" and sqlite_file is not None:  # load once, measure again later
        url, cleanup = f"sqlite:///{sqlite_file.resolve()}", tmp.cleanup
    elif backend == "sqlite":
        url, cleanup = f"sqlite:///{tmp.name}/bench.db", tmp.cleanup
    else:
        url, drop = _pg_database()

        def cleanup():
            drop()
            tmp.cleanup()
    db = Database(url)
    try:
        migrate.upgrade(db)
        return measure(db, url, n, Path(tmp.name) / "var")
    finally:
        db.dispose()
        cleanup()


def report(r: dict, n: int) -> None:
    base = r["baseline"][1]
    print(f"\n== {r['backend']}: {n:,} open items, team {TEAM} holds {r['team_size']:,} ==")
    print(f"load                                   {r['load_s']:8.1f} s   (not part of the goal)")
    print(f"{'page (50 rows)':40s} {'first ms':>9s} {'median ms':>10s} {'x baseline':>11s}  goal < 50 ms")
    print(f"{'baseline: queue_page (payerfleet queue)':40s} {r['baseline'][0]:9.1f} {base:10.1f} {1.0:11.1f}")
    worst = 0.0
    for name, (first, median, _) in r["core"] + r["web"]:
        worst = max(worst, median)
        print(f"{name:40s} {first:9.1f} {median:10.1f} {median / base:11.1f}  {'OK' if median < 50 else 'OVER'}")
    print(f"worst median                             {worst:8.1f} ms  goal < 50 ms: {'OK' if worst < 50 else 'OVER GOAL'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="open work items")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--sqlite-file", type=Path, help="keep the SQLite store here; a later run reuses it unloaded")
    args = parser.parse_args()
    for backend in args.backends.split(","):
        report(run(backend.strip(), args.n, args.sqlite_file), args.n)


if __name__ == "__main__":
    main()
