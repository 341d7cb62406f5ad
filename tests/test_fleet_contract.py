"""The run contract both backends must honour: same tests, local and Procrastinate."""
from __future__ import annotations

import asyncio
import os

import pytest
from sqlalchemy import func, select, text, update

from automations.errors import UnknownAutomation
from core.store.models import AutomationRun
from fleet import runs
from fleet.backends import submit
from fleet.errors import BackendUnavailable, UnknownAccount
from fleet.outcomes import consequence_of
from fleet_support import Probe, add_account, clear_procrastinate, make_runtime, use_test_automations

ON_PG = os.environ.get("PAYERFLEET_TEST_DB", "sqlite") == "postgresql"
BACKENDS = ["local", "procrastinate"] if ON_PG else ["local"]


@pytest.fixture(params=BACKENDS)
async def fleet(request, db, settings, monkeypatch):
    """A factory for a backend of the parametrised kind over the test store."""
    probe = Probe()
    table = use_test_automations(monkeypatch, probe)
    made = []

    async def build(**config):
        runtime = make_runtime(db, settings, table, **config)
        if request.param == "procrastinate":
            from fleet.procrastinate_backend import ProcrastinateBackend

            backend = ProcrastinateBackend(runtime)
            await backend.open()
            clear_procrastinate(db)
        else:
            from fleet.local import LocalBackend

            backend = LocalBackend(runtime)
        backend.probe = probe
        made.append(backend)
        return backend

    yield build
    for backend in made:
        if hasattr(backend, "close"):
            await backend.close()


async def test_run_executes_and_records_result(fleet, db):
    backend = await fleet()
    add_account(db, "avail-1")
    run_id = await submit(backend, "fleet_echo", "avail-1", {"tag": "a"})
    assert runs.get_run(db, run_id).state == runs.QUEUED
    await backend.run_until_idle()
    run = runs.get_run(db, run_id)
    assert (run.state, run.attempts, run.checkpoint, run.error_message) == (runs.SUCCEEDED, 1, "done", None)
    assert run.result == {"echo": "a", "today": "2026-11-27"}
    assert run.backend == backend.name
    assert backend.runtime.pool.stats.contexts_opened == backend.runtime.pool.stats.contexts_closed == 1


async def test_dedupe_key_refused_by_database_returns_existing_run(fleet, db):
    backend = await fleet()
    add_account(db, "avail-1")
    key = runs.dedupe_key("fleet_echo", "avail-1", "2026-11-27")
    first = await submit(backend, "fleet_echo", "avail-1", {"tag": "x"}, runs.Priority.SCHEDULED, key)
    second = await submit(backend, "fleet_echo", "avail-1", {"tag": "y"}, runs.Priority.SCHEDULED, key)
    await backend.run_until_idle()
    third = await submit(backend, "fleet_echo", "avail-1", {"tag": "z"}, runs.Priority.SCHEDULED, key)
    assert first == second == third
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(AutomationRun)) == 1
    assert backend.probe.order == ["x"]


async def test_bad_input_is_refused_before_anything_is_written(fleet, db):
    backend = await fleet()
    add_account(db, "avail-1")
    with pytest.raises(UnknownAccount):
        await submit(backend, "fleet_echo", "nobody")
    with pytest.raises(UnknownAutomation):
        await submit(backend, "no_such_automation", "avail-1")
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(AutomationRun)) == 0


async def test_typed_failures_end_runs_and_other_accounts_carry_on(fleet, db):
    backend = await fleet(max_contexts=2)
    for alias in ("down", "locked", "boom", "fine"):
        add_account(db, alias)
    down = await submit(backend, "fleet_echo", "down", {"fail": "PortalUnavailable"})
    locked = await submit(backend, "fleet_echo", "locked", {"fail": "AccountLocked"})
    boom = await submit(backend, "fleet_echo", "boom", {"fail": "Boom"})
    fine = await submit(backend, "fleet_echo", "fine", {"tag": "ok"})
    await backend.run_until_idle()
    got = {rid: runs.get_run(db, rid) for rid in (down, locked, boom, fine)}
    assert (got[down].state, got[down].error_type, consequence_of(got[down].error_type)) == \
        (runs.FAILED, "PortalUnavailable", "retry_read")
    assert (got[locked].state, got[locked].error_type) == (runs.FAILED, "AccountLocked")
    # An untyped crash is reported by type only: its message may quote page text (PHI).
    assert (got[boom].error_type, got[boom].error_message) == ("InternalError", "unexpected ZeroDivisionError")
    assert got[fine].state == runs.SUCCEEDED
    assert backend.runtime.pool.stats.contexts_opened == backend.runtime.pool.stats.contexts_closed == 4


async def test_one_session_per_account_at_a_time(fleet, db):
    backend = await fleet(max_contexts=4)
    for alias in ("a", "b"):
        add_account(db, alias)
    for i in range(3):
        await submit(backend, "fleet_echo", "a", {"tag": f"a{i}"})
        await submit(backend, "fleet_echo", "b", {"tag": f"b{i}"})
    await backend.run_until_idle()
    assert set(backend.probe.max_per_account.values()) == {1}
    assert sorted(backend.probe.order) == ["a0", "a1", "a2", "b0", "b1", "b2"]
    assert [o for o in backend.probe.order if o[0] == "a"] == ["a0", "a1", "a2"]


async def test_on_demand_runs_before_scheduled(fleet, db):
    backend = await fleet(max_contexts=1)
    add_account(db, "a")
    for i in range(3):
        await submit(backend, "fleet_echo", "a", {"tag": f"sched{i}"}, runs.Priority.SCHEDULED)
    await submit(backend, "fleet_echo", "a", {"tag": "now"}, runs.Priority.ON_DEMAND)
    await backend.run_until_idle()
    assert backend.probe.order == ["now", "sched0", "sched1", "sched2"]


async def _simulate_dead_worker(backend, db, run_id: str) -> None:
    """The state a SIGKILLed worker leaves: the run `running` under a lease that has lapsed, its job (if any) `doing`."""
    assert runs.begin(db, run_id, "dead-worker", lease_s=0) is not None
    if backend.name == "procrastinate":
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE procrastinate_jobs SET status = 'doing', worker_id = NULL "
                              "WHERE args->>'run_id' = :r"), {"r": run_id})


async def test_interrupted_run_is_recovered_and_completed(fleet, db):
    backend = await fleet()
    add_account(db, "a")
    run_id = await submit(backend, "fleet_echo", "a", {"tag": "again"})
    await _simulate_dead_worker(backend, db, run_id)
    if backend.name == "procrastinate":
        report = await backend.recover(stalled_after_s=0)
        assert report["stalled_jobs_retried"] == 1
    else:
        assert backend.recover() == ([run_id], [])
    await backend.run_until_idle()
    run = runs.get_run(db, run_id)
    assert (run.state, run.attempts, run.result["echo"]) == (runs.SUCCEEDED, 2, "again")


async def test_run_interrupted_too_often_is_abandoned_not_looped(fleet, db):
    backend = await fleet(max_attempts=2)
    add_account(db, "a")
    run_id = await submit(backend, "fleet_echo", "a", {"tag": "poison"})
    await _simulate_dead_worker(backend, db, run_id)
    with db.transaction() as s:
        s.execute(update(AutomationRun).where(AutomationRun.id == run_id).values(attempts=2))
    if backend.name == "procrastinate":
        await backend.recover(stalled_after_s=0)
    else:
        backend.recover()
    await backend.run_until_idle()
    run = runs.get_run(db, run_id)
    assert (run.state, run.error_type) == (runs.FAILED, "RunAbandoned")
    assert backend.probe.order == []


async def test_run_past_its_timeout_fails_typed(fleet, db):
    backend = await fleet(run_timeout_s=0.05)
    backend.probe.gate = asyncio.Event()  # never set: the automation hangs like a stuck page
    add_account(db, "a")
    run_id = await submit(backend, "fleet_echo", "a", {"tag": "stuck"})
    await backend.run_until_idle()
    run = runs.get_run(db, run_id)
    assert (run.state, run.error_type, run.checkpoint) == (runs.FAILED, "RunTimedOut", "opened")
    assert backend.runtime.pool.stats.contexts_closed == 1


async def test_procrastinate_refuses_sqlite_with_a_clear_error(db, settings, monkeypatch):
    from fleet.procrastinate_backend import ProcrastinateBackend

    runtime = make_runtime(db, settings, use_test_automations(monkeypatch, Probe()))
    if db.dialect == "postgresql":
        assert ProcrastinateBackend(runtime).name == "procrastinate"
    else:
        with pytest.raises(BackendUnavailable, match="needs PostgreSQL"):
            ProcrastinateBackend(runtime)


async def test_long_running_worker_picks_up_runs_and_stops_cleanly(fleet, db):
    backend = await fleet()
    add_account(db, "a")
    stop = asyncio.Event()
    worker = asyncio.create_task(backend.run_forever(stop))
    run_id = await submit(backend, "fleet_echo", "a", {"tag": "live"})
    await asyncio.wait_for(backend.probe.finished.wait(), timeout=60)
    stop.set()
    await asyncio.wait_for(worker, timeout=60)
    run = runs.get_run(db, run_id)
    assert (run.state, run.result["echo"]) == (runs.SUCCEEDED, "live")
