"""`payerfleet scheduler` as it runs in production: real processes, real APScheduler, one store.

Two schedulers (as on two machines, or a restart overlapping the old process) start after the weekly
CAQH job's fire time has passed, as if they had been down then: each runs the missed fire at start
(no wait on the wall clock, so no start-up time to guess). Exactly one run is enqueued, and the other
scheduler's is refused by the store's dedupe key.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import select

import scheduler as sched
from core.store.models import AutomationRun
from fleet_support import add_account

# Only a guard against a hung process: the test ends as soon as both schedulers have enqueued.
DEADLINE_S = 300


def _events(path: Path) -> list[dict]:
    out = []
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return out


def _submissions(path: Path) -> list[str]:
    return [e["event"] for e in _events(path)
            if e.get("event") in ("run.queued", "run.deduplicated") and e.get("automation") == "caqh_status"]


def test_two_scheduler_processes_run_a_missed_fire_at_start_and_enqueue_once(db, db_url, tmp_path):
    add_account(db, "caqh-1", "caqh")
    fire = (datetime.now(timezone.utc) - timedelta(seconds=1)).replace(microsecond=0)
    config = tmp_path / "payerfleet.toml"
    config.write_text(f'[schedule]\ntimezone = "UTC"\ncaqh_day = "{sched.WEEKDAYS[fire.weekday()]}"\n'
                      f'caqh_time = "{fire:%H:%M:%S}"\n')
    env = {**os.environ, "PAYERFLEET_DATABASE_URL": db_url, "PAYERFLEET_DATA_DIR": str(tmp_path / "var"),
           "PAYERFLEET_CONFIG": str(config), "PAYERFLEET_LOG_FORMAT": "json", "PAYERFLEET_LOG_LEVEL": "INFO"}
    command = [str(Path(sys.executable).parent / "payerfleet"), "scheduler"]
    logs = [tmp_path / f"scheduler-{i}.log" for i in (1, 2)]
    procs = []
    try:
        for log in logs:
            with log.open("wb") as out:
                procs.append(subprocess.Popen(command, env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT))
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline and not all(len(_submissions(log)) >= 1 for log in logs):
            assert all(p.poll() is None for p in procs), [log.read_text()[-2000:] for log in logs]
            time.sleep(0.2)
        started = [next((e for e in _events(log) if e.get("event") == "schedule.installed"), None) for log in logs]
        assert all(started), "a scheduler did not install its jobs"
        outcomes = sorted(s for log in logs for s in _submissions(log))
        assert outcomes == ["run.deduplicated", "run.queued"], [log.read_text()[-2000:] for log in logs]
        caught = [e for log in logs for e in _events(log) if e.get("event") == "schedule.caught_up"
                  and e.get("job") == "weekly:caqh_status:caqh-1"]
        assert [e["missed_fire"] for e in caught] == [fire.isoformat()] * 2
    finally:
        for p in procs:
            p.send_signal(signal.SIGINT)
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    assert [p.returncode for p in procs] == [0, 0]
    with db.transaction() as s:
        rows = s.execute(select(AutomationRun.automation, AutomationRun.dedupe_key, AutomationRun.state)).all()
    assert rows == [("caqh_status", f"caqh_status:caqh-1:{fire.date().isoformat()}", "queued")]
