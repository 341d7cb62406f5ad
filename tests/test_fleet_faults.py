"""Faults around a run: a browser dying mid-run, an unreachable database."""
from __future__ import annotations

import pytest

from core.config import Settings
from core.errors import DatabaseUnavailable
from core.store.db import Database
from fleet import leases, runs
from fleet.backends import submit
from fleet.local import LocalBackend
from fleet_support import Probe, add_account, make_runtime, use_test_automations


async def test_browser_crash_fails_the_run_typed_and_the_next_run_gets_a_new_browser(db, settings, monkeypatch):
    runtime = make_runtime(db, settings, use_test_automations(monkeypatch, Probe()), max_contexts=1)
    backend = LocalBackend(runtime)
    add_account(db, "a")
    add_account(db, "b")
    crashed = await submit(backend, "fleet_echo", "a", {"crash_browser": True})
    fine = await submit(backend, "fleet_echo", "b", {"tag": "after"}, runs.Priority.SCHEDULED)
    await backend.run_until_idle()
    assert (runs.get_run(db, crashed).state, runs.get_run(db, crashed).error_type) == (runs.FAILED, "BrowserCrashed")
    assert runs.get_run(db, fine).state == runs.SUCCEEDED
    assert runtime.pool.stats.launches == 2 and runtime.pool.stats.crashes == 1
    assert [b.connected for b in runtime.pool.launched] == [False, True]


async def test_unreachable_database_is_a_typed_error_not_a_crashed_worker(tmp_path, monkeypatch):
    dead = Database("postgresql://payerfleet@127.0.0.1:1/nowhere")
    settings = Settings(data_dir=tmp_path / "var", database_url=dead.url)
    runtime = make_runtime(dead, settings, use_test_automations(monkeypatch, Probe()))
    with pytest.raises(DatabaseUnavailable):
        runs.submit_run(dead, "fleet_echo", "a")
    with pytest.raises(DatabaseUnavailable):
        leases.recover_lapsed(dead, "local", 3)
    backend = LocalBackend(runtime)
    await backend.run_until_idle()  # recovery and polling need the database too; the loop itself must not die
    assert backend._active == {}
