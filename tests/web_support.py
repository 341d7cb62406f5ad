"""Demo-like data for the workbench tests: the sandbox practice's claims, ERAs and 277CAs ingested and
routed as the demo does, a few items worked to a close, users of every role, and a captured screenshot."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from decimal import Decimal

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from core import users
from core.ingest import ingest_bytes
from core.routing import load_config, route_pending
from core.routing.states import transition
from core.store.db import Database
from core.store.models.work import WorkItem, WorkQueueEntry
from fixtures.generator import generate
from fixtures.generator.x12 import ack_files, claim_files, remit_files

# The demo's seed; fewer claims than its 300 keep the session's load short and still fill several queues.
SEED, CLAIMS = 7, 150
PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Loaded:
    today: date
    now: datetime
    # The team the biller and appeal writer work (the one with most items) and one they do not.
    team: str
    other_team: str
    users: dict[str, str]  # role -> user name


def load_demo_like(db: Database) -> Loaded:
    ds = generate(seed=SEED, claims=CLAIMS)
    today = ds.as_of
    now = datetime.combine(today, time(9), tzinfo=timezone.utc)
    for kind, files in (("837", claim_files(ds)), ("835", remit_files(ds)), ("277", ack_files(ds))):
        # One file per kind (interchanges back to back, as an inbox may hold them): one transaction each.
        report = ingest_bytes(db, b"".join(f.data for f in files if f.created <= today),
                              filename=f"demo-like.{kind}", provenance="test:demo-like")
        assert report.status == "ingested", report
    with db.transaction() as s:
        route_pending(s, today, now=now)
    with db.transaction() as s:
        sizes = s.execute(select(WorkQueueEntry.team, func.count()).group_by(WorkQueueEntry.team)
                          .order_by(func.count().desc(), WorkQueueEntry.team)).all()
        team, other = sizes[0][0], sizes[1][0]
        # A few outcomes so the dashboard has recovered and lost dollars to show.
        closing = s.scalars(select(WorkItem).where(WorkItem.team == other, WorkItem.kind == "denial",
                                                   WorkItem.is_open.is_(True)).order_by(WorkItem.id).limit(2)).all()
        if len(closing) == 2:
            paid, lost = closing
            for state in ("appealing", "submitted", "awaiting_payer", "paid"):
                transition(s, paid.id, state, actor="test", now=now)
            transition(s, paid.id, "closed_recovered", actor="test", now=now,
                       recovered_amount=(paid.amount / 2).quantize(Decimal("0.01")))
            transition(s, lost.id, "closed_written_off", actor="test", now=now, reason="test: timely filing missed")
        teams = list(load_config().table.teams)
        names = {}
        for role in ("biller", "appeal_writer", "manager", "ops", "admin"):
            name = role.replace("_", "-")
            users.add_user(s, name, PASSWORD, role, [team] if role in ("biller", "appeal_writer") else [],
                     known_teams=teams, actor="test", now=now)
            names[role] = name
    return Loaded(today, now, team, other, names)


@pytest.fixture(autouse=False)
def cheap_password_hashes():
    """argon2id with minimal cost, so signing in many times keeps the suite fast (hashing is not under test)."""
    users.use_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    yield
    users.use_hasher(PasswordHasher())
