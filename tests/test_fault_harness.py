"""The fault-and-kill harness (bench/fault_harness.py) with a small trial count: per trial kind, every trial
holds, with 0 duplicates, 0 lost runs and 0 items in doubt. SQLite: two local worker processes; PostgreSQL:
two Procrastinate workers behind a loopback proxy that is cut mid-run (the shared server is never touched).
PAYERFLEET_HARNESS_TRIALS sets the trials per kind (default 1)."""
from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import fault_harness  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TRIALS = int(os.environ.get("PAYERFLEET_HARNESS_TRIALS", "1"))
SEED = int(os.environ.get("PAYERFLEET_HARNESS_SEED", "20261128"))
ON_PG = os.environ.get("PAYERFLEET_TEST_DB", "sqlite") == "postgresql"


def _assert_held(capsys, backend: str, tally: dict) -> None:
    with capsys.disabled():
        print("\n" + "\n".join(fault_harness.report(backend, tally)))
    assert set(tally) == set(fault_harness.KINDS[backend])
    for kind, t in tally.items():
        assert (t.tried, t.held, t.failed) == (TRIALS, TRIALS, 0), (kind, t.notes)
        assert (t.duplicates, t.lost_runs, t.in_doubt) == (0, 0, 0), (kind, t.notes)


@pytest.mark.skipif(ON_PG, reason="the SQLite run covers the local backend; the PostgreSQL run covers Procrastinate")
def test_two_local_workers_on_sqlite_hold_under_kills_and_late_posts(fresh_sandbox, tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'payerfleet.db'}"
    from core.store import migrate
    from core.store.db import Database

    migrate.upgrade(Database(url))
    tally = fault_harness.run_backend("local", url, fresh_sandbox, tmp_path, TRIALS, SEED)
    _assert_held(capsys, "local", tally)


@pytest.mark.skipif(not ON_PG, reason="Procrastinate needs PostgreSQL")
def test_two_procrastinate_workers_hold_under_kills_late_posts_and_a_database_outage(
        fresh_sandbox, db, db_url, tmp_path, capsys):
    from fixtures.tcp_proxy import running

    where = urlsplit(db_url.replace("postgresql+psycopg", "postgresql"))
    from fleet_support import clear_procrastinate
    from fleet.procrastinate_schema import ensure_schema

    ensure_schema(db)
    clear_procrastinate(db)
    with running(where.hostname, where.port or 5432) as proxy:
        worker_url = db_url.replace(f"{where.hostname}:{where.port or 5432}", f"127.0.0.1:{proxy.port}")
        tally = fault_harness.run_backend("procrastinate", db_url, fresh_sandbox, tmp_path, TRIALS, SEED,
                                          outage_s=20, proxy=proxy, worker_url=worker_url)
    _assert_held(capsys, "procrastinate", tally)
