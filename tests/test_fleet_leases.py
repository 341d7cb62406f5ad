"""Run leases: only lapsed leases are recovered, one account's runs never overlap across processes,
a lost lease writes nothing, an outcome the database could not take is written when it returns, and a
TOTP step is handed out once across processes."""
from __future__ import annotations

import asyncio
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import update

from automations.portal_session import StoredTotpSteps
from core.errors import DatabaseUnavailable
from core.store.db import Database
from core.store.models import AutomationRun, utcnow
from fleet import leases, runs
from fleet.backends import submit
from fleet.local import LocalBackend
from fleet_support import Probe, add_account, make_runtime, use_test_automations
from portals.totp import TotpGuard

SEED = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def _held_elsewhere(db, run_id: str, *, lease_left: timedelta) -> None:
    """The run as another live (or dead) worker process leaves it: running under its lease."""
    assert runs.begin(db, run_id, "other-host:4242:feedbeef", lease_s=60)
    with db.transaction() as s:
        s.execute(update(AutomationRun).where(AutomationRun.id == run_id)
                  .values(lease_expires_at=utcnow() + lease_left))


async def test_startup_recovery_leaves_another_process_live_run_alone(db, settings, monkeypatch):
    # Regression (issue 13): every command that ran automations requeued every `running` row at start,
    # including another process's live run; both then logged in on the same account.
    probe = Probe()
    backend = LocalBackend(make_runtime(db, settings, use_test_automations(monkeypatch, probe)))
    add_account(db, "a")
    live = runs.submit_run(db, "fleet_echo", "a", {"tag": "theirs"})
    _held_elsewhere(db, live, lease_left=timedelta(seconds=60))
    assert backend.recover() == ([], [])
    assert runs.get_run(db, live).state == runs.RUNNING and probe.order == []


async def test_a_lapsed_lease_is_recovered_and_the_stale_holder_writes_nothing(db, settings, monkeypatch):
    probe = Probe()
    backend = LocalBackend(make_runtime(db, settings, use_test_automations(monkeypatch, probe)))
    add_account(db, "a")
    run_id = runs.submit_run(db, "fleet_echo", "a", {"tag": "again"})
    _held_elsewhere(db, run_id, lease_left=-timedelta(seconds=1))
    await backend.run_until_idle()
    run = runs.get_run(db, run_id)
    assert (run.state, run.attempts, run.worker_id) == (runs.SUCCEEDED, 2, backend.runtime.worker_id)
    # The presumed-dead worker wakes up: its lease is gone, so its outcome is refused.
    assert runs.succeed(db, run_id, "other-host:4242:feedbeef", {"late": True}) is False
    assert runs.get_run(db, run_id).result == {"echo": "again", "today": "2026-11-27"}


async def test_one_account_never_runs_twice_at_once_across_processes(db, settings, monkeypatch):
    # Two worker processes on one store (two runtimes, two worker ids): the second may not start a run
    # of an account the first holds, and picks it up once the first is done.
    probe = Probe(gate=asyncio.Event())
    table = use_test_automations(monkeypatch, probe)
    first = LocalBackend(make_runtime(db, settings, table))
    second = LocalBackend(make_runtime(db, settings, table), poll_s=0.05)
    add_account(db, "a")
    one = await submit(first, "fleet_echo", "a", {"tag": "one"})
    two = runs.submit_run(db, "fleet_echo", "a", {"tag": "two"})
    assert runs.begin(db, one, first.runtime.worker_id, 60)
    assert runs.begin(db, two, second.runtime.worker_id, 60) is None  # the account is held
    assert runs.get_run(db, two).state == runs.QUEUED
    with db.transaction() as s:  # the first's run ends; the account is free
        s.execute(update(AutomationRun).where(AutomationRun.id == one).values(state=runs.SUCCEEDED))
    probe.gate.set()
    await second.run_until_idle()
    assert runs.get_run(db, two).state == runs.SUCCEEDED and probe.order == ["two"]


async def test_a_run_that_loses_its_lease_is_cancelled(db, settings, monkeypatch):
    probe = Probe(gate=asyncio.Event())  # the run hangs until cancelled
    runtime = make_runtime(db, settings, use_test_automations(monkeypatch, probe), heartbeat_s=0.05,
                           stalled_after_s=60)
    backend = LocalBackend(runtime)
    add_account(db, "a")
    run_id = await submit(backend, "fleet_echo", "a", {"tag": "x"})
    stop = asyncio.Event()
    worker = asyncio.create_task(backend.run_forever(stop))
    await asyncio.wait_for(_until(lambda: runs.get_run(db, run_id).checkpoint == "opened"), 30)
    with db.transaction() as s:  # another worker recovered it (e.g. after a long pause of this one)
        s.execute(update(AutomationRun).where(AutomationRun.id == run_id).values(worker_id="someone-else"))
    await asyncio.wait_for(_until(lambda: not backend._active), 30)
    stop.set()
    await asyncio.wait_for(worker, 30)
    run = runs.get_run(db, run_id)
    assert (run.state, run.worker_id) == (runs.RUNNING, "someone-else")
    assert probe.order == ["x"] and runtime.pool.stats.contexts_closed == 1


class FlakyDatabase(Database):
    """The real store, unreachable while `down` is set (what a dropped PostgreSQL looks like to callers)."""

    down = False

    @contextmanager
    def transaction(self):
        if self.down:
            raise DatabaseUnavailable("database unreachable: simulated outage")
        with super().transaction() as s:
            yield s


async def test_an_outcome_the_database_could_not_take_is_written_when_it_returns(db, settings, monkeypatch):
    # Regression (issue 13): a run interrupted by a database outage stayed `running` forever.
    flaky = FlakyDatabase(db.url)  # the `db` fixture cleans the store up afterwards
    sleeps: list[float] = []

    async def outage_sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 3:
            flaky.down = False  # the database comes back after three backoffs
        await asyncio.sleep(0)

    runtime = make_runtime(flaky, settings, use_test_automations(monkeypatch, Probe()))
    runtime.sleep = outage_sleep
    backend = LocalBackend(runtime)
    add_account(flaky, "a")
    run_id = await submit(backend, "fleet_echo", "a", {"tag": "kept"})
    begun = runs.begin(flaky, run_id, runtime.worker_id, 60)
    from fleet.runtime import _record, Ended

    flaky.down = True
    state = await _record(runtime, begun, Ended(runs.SUCCEEDED, result={"echo": "kept"}), runtime_log())
    assert state == runs.SUCCEEDED and sleeps == [0.5, 1.0, 2.0]
    assert runs.get_run(flaky, run_id).result == {"echo": "kept"}
    flaky.dispose()


async def test_a_run_cut_short_by_an_outage_goes_back_to_the_queue_and_runs_again(db, settings, monkeypatch):
    flaky = FlakyDatabase(db.url)  # the `db` fixture cleans the store up afterwards
    probe = Probe()
    table = use_test_automations(monkeypatch, probe)

    class DropsTheDatabase:
        name, checkpoints, capabilities = "fleet_echo", ("opened", "done"), ()

        async def run(self, ctx, params):
            if not probe.order:
                probe.order.append("cut")
                flaky.down = True
                raise DatabaseUnavailable("database unreachable: simulated outage")
            return await table["fleet_echo"].run(ctx, params)

    async def back_soon(seconds: float) -> None:
        flaky.down = False
        await asyncio.sleep(0)

    runtime = make_runtime(flaky, settings, {"fleet_echo": DropsTheDatabase()})
    runtime.sleep = back_soon
    backend = LocalBackend(runtime)
    add_account(flaky, "a")
    run_id = await submit(backend, "fleet_echo", "a", {"tag": "second"})
    await backend.run_until_idle()
    run = runs.get_run(flaky, run_id)
    assert (run.state, run.attempts, probe.order) == (runs.SUCCEEDED, 2, ["cut", "second"])
    flaky.dispose()


def test_totp_steps_are_claimed_once_across_processes(db):
    # Regression (issue 13): the TOTP step guard held only inside one process.
    account = str(add_account(db, "a"))
    steps = StoredTotpSteps(db)
    assert steps.claim(account, 100) is True
    assert steps.claim(account, 100) is False and steps.claim(account, 99) is False
    assert steps.last(account) == 100


async def test_two_processes_guards_never_hand_out_one_code(db):
    account = str(add_account(db, "a"))
    clock = {"now": 1_000_000_010.0}
    waits: list[float] = []

    async def wait(seconds: float) -> None:
        waits.append(seconds)
        clock["now"] += seconds

    # Two processes: two guards, nothing shared but the database.
    one = TotpGuard(clock=lambda: clock["now"], wait=wait).using(StoredTotpSteps(db))
    two = TotpGuard(clock=lambda: clock["now"], wait=wait).using(StoredTotpSteps(db))
    _, first = await one.code(account, SEED)
    _, second = await two.code(account, SEED)
    assert second == first + 1 and len(waits) == 1


async def _until(predicate) -> None:
    while not predicate():
        await asyncio.sleep(0.02)


def runtime_log():
    import structlog

    return structlog.get_logger().bind(test=True)


def test_recover_lapsed_abandons_a_run_interrupted_too_often(db):
    add_account(db, "a")
    run_id = runs.submit_run(db, "reconsideration_submit", "a", {})
    for _ in range(3):
        with db.transaction() as s:
            s.execute(update(AutomationRun).where(AutomationRun.id == run_id).values(state=runs.QUEUED))
        assert runs.begin(db, run_id, "w", lease_s=0)
    requeued, abandoned = leases.recover_lapsed(db, "local", max_attempts=3)
    assert (requeued, abandoned) == ([], [run_id])
    assert runs.get_run(db, run_id).error_type == "RunAbandoned"
