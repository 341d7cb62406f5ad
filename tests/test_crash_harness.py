"""Crash harness: SIGKILL a real worker at every named checkpoint, restart, reconcile, and check the
sandbox's own record of what it received: zero duplicate submissions, zero lost or duplicated ERAs,
nothing left in doubt. The portals' own duplicate checks are off: exactly-once must hold on our side.

Each trial: queue one run; start `payerfleet worker --until-idle` as a subprocess with
PAYERFLEET_CRASH_AT naming the point; it SIGKILLs itself there. Then `payerfleet reconcile`, a fresh
process on the same database and backend, recovers what the dead one left, reconciles and re-submits
what is safe, as an operator (or the next worker) would.
Trials per checkpoint: PAYERFLEET_CRASH_TRIALS (default 1 to keep CI bounded; the report used 3); seed: PAYERFLEET_CRASH_SEED.
"""
from __future__ import annotations

import base64
import json
import os
import random
import signal
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, update

from automations.reconsideration_submit import RECONSIDERATION_SUBMIT
from automations.era_pull import ERA_PULL
from core.crypto import KeyRing
from core.store.models import (
    Adjustment,
    ClaimPayment,
    EdiFile,
    LinePayment,
    ProviderAdjustment,
    RemarkCode,
    Remittance,
    SubmissionIntent,
)
from core.vault import Credentials, Vault
from fleet import runs
from fleet.backends import open_fleet
from fleet.config import FleetConfig
from fleet_support import clear_procrastinate

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ON_PG = os.environ.get("PAYERFLEET_TEST_DB", "sqlite") == "postgresql"
BACKENDS = ["local", "procrastinate"] if ON_PG else ["local"]
TRIALS = int(os.environ.get("PAYERFLEET_CRASH_TRIALS", "1"))
SEED = int(os.environ.get("PAYERFLEET_CRASH_SEED", "20261127"))
ROOT = Path(__file__).resolve().parents[1]
PDF = b"%PDF-1.4\n% crash harness\n" + b"7" * 5000 + b"\n%%EOF\n"
WORKER_TIMEOUT_S = 120
# Short, so a click killed before it went out is re-sent within the trial; see docs/fleet.md for the default.
SETTLE_S = 3
RECONCILE_ROUNDS = 6


def _payerfleet(settings, cwd: Path, *args: str, **env_extra: str) -> subprocess.CompletedProcess:
    """`payerfleet ARGS` in its own process on the harness's database and data directory."""
    env = {**os.environ, "PAYERFLEET_DATABASE_URL": settings.db_url, "PAYERFLEET_DATA_DIR": str(settings.data_dir),
           "PAYERFLEET_FLEET_MAX_CONTEXTS": "1", "PAYERFLEET_LOG_LEVEL": "WARNING",
           "PAYERFLEET_FLEET_SETTLE_S": str(SETTLE_S),
           "PAYERFLEET_CONFIG": str(cwd / "none.toml"), **env_extra}
    code = "from cli.main import app; app()"
    return subprocess.run([sys.executable, "-c", code, *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=WORKER_TIMEOUT_S)


def _worker(backend: str, settings, crash_at: str, cwd: Path) -> int:
    """Run one worker process until the queue is empty or it kills itself; its exit code."""
    proc = _payerfleet(settings, cwd, "worker", "--until-idle", "--backend", backend, PAYERFLEET_CRASH_AT=crash_at)
    if proc.returncode not in (0, -signal.SIGKILL):
        raise AssertionError(f"worker exited {proc.returncode}: {proc.stderr[-2000:]}")
    return proc.returncode


@pytest.fixture(params=BACKENDS)
async def lab(request, db, settings, fresh_sandbox, tmp_path):
    """Accounts for the sandbox's UHC and Availity, and this process's side of the fleet (it queues the runs)."""
    keys = KeyRing.load(settings, create=True)
    vault = Vault(db, keys)
    aliases = {}
    for portal, index in (("uhc", 1), ("availity", 0)):
        handle = fresh_sandbox.portals[portal]
        handle.set_behaviour(duplicate_check=False)  # a payer that accepts duplicates
        a = handle.accounts[index]
        aliases[portal] = f"crash-{portal}"
        vault.add_account(alias=aliases[portal], portal=portal, base_url=handle.base_url, authorised=True,
                          credentials=Credentials(username=a.username, password=a.password, totp_secret=a.totp_secret))
    if request.param == "procrastinate":
        from fleet.procrastinate_schema import ensure_schema

        ensure_schema(db)
        clear_procrastinate(db)
    config = FleetConfig(backend=request.param, max_contexts=1)
    async with open_fleet(db, settings, keys, config) as backend:
        if request.param == "procrastinate":
            await backend.open()
        yield {"backend": backend, "db": db, "settings": settings, "sandbox": fresh_sandbox, "aliases": aliases,
               "cwd": tmp_path, "rng": random.Random(f"{SEED}:{request.param}")}


def _restart_and_reconcile(lab, key: str | None = None) -> dict:
    """`payerfleet reconcile` in a fresh process: recover the dead worker's run, reconcile, re-submit;
    again while the intent `key` is still in doubt (a click younger than the settle period)."""
    # The dead worker's lease is still live; this harness knows it is dead and no other worker runs, so
    # its runs (and jobs) count as stalled at once (the reconciling worker's own timeouts stay the default).
    for _ in range(RECONCILE_ROUNDS):
        proc = _payerfleet(lab["settings"], lab["cwd"], "reconcile", "--json", "--backend", lab["backend"].name,
                           "--stalled-after", "0")
        assert proc.returncode == 0, f"reconcile exited {proc.returncode}: {proc.stderr[-2000:]}"
        report = json.loads(proc.stdout)
        if key is None or _intent_state(lab["db"], key) not in ("SUBMITTING", "IN_DOUBT"):
            return report
    return report


def _intent_state(db, key: str) -> str | None:
    with db.transaction() as s:
        return s.scalar(select(SubmissionIntent.state).where(SubmissionIntent.idempotency_key == key))


def _report(capsys, title: str, rows: list[tuple]) -> None:
    with capsys.disabled():
        print(f"\n{title}")
        for r in rows:
            print("  " + " | ".join(str(x) for x in r))


async def test_reconsideration_is_submitted_exactly_once_whatever_the_crash(lab, capsys):
    db, sandbox, rng, backend = lab["db"], lab["sandbox"], lab["rng"], lab["backend"]
    uhc, alias = sandbox.uhc, lab["aliases"]["uhc"]
    ds = uhc.state.dataset
    claims = [c.id for c in ds.claims if c.payer == "UHC" and ds.outcomes[c.id].appealable
              and ds.outcomes[c.id].kind == "denied" and ds.outcomes[c.id].rejection is None]
    rng.shuffle(claims)
    rows = []
    for point in RECONSIDERATION_SUBMIT.checkpoints:
        for trial in range(TRIALS):
            claim = claims.pop()
            key = f"crash:{backend.name}:{point}:{trial}"
            params = {"claim_number": claim, "reason": "Additional Information", "note": "Records attached.",
                      "idempotency_key": key, "attachments": [
                          {"name": "records.pdf", "content_b64": base64.b64encode(PDF).decode()}]}
            run_id = runs.submit_run(db, "reconsideration_submit", alias, params, runs.Priority.ON_DEMAND,
                                     backend=backend.name)
            await backend.dispatch(run_id)
            rc = _worker(backend.name, lab["settings"], f"reconsideration_submit:{point}", lab["cwd"])
            with db.transaction() as s:
                at_crash = s.scalar(select(SubmissionIntent.state).where(SubmissionIntent.idempotency_key == key))
            report = _restart_and_reconcile(lab, key)
            received = [r for r in uhc.submissions() if r["claim_id"] == claim]
            with db.transaction() as s:
                intent = s.scalar(select(SubmissionIntent).where(SubmissionIntent.idempotency_key == key))
                state, number = intent.state, intent.confirmation_number
            rows.append((point, trial, claim[-4:], "killed" if rc == -signal.SIGKILL else f"exit {rc}", at_crash,
                         state, f"portal received {len(received)}", f"resubmitted {report['resubmitted']}"))
            assert rc == -signal.SIGKILL, f"the worker did not die at {point}"
            assert len(received) == 1, f"{point}: the portal received {len(received)} submissions for one act"
            assert (state, number) == ("SUBMITTED", received[0]["id"])
    with db.transaction() as s:
        left = s.scalar(select(func.count()).select_from(SubmissionIntent)
                        .where(SubmissionIntent.state.in_(("SUBMITTING", "IN_DOUBT"))))
    _report(capsys, f"crash trials: reconsideration_submit on {backend.name} (seed {SEED})", rows)
    assert left == 0


def _forget_eras(db) -> None:
    """A clean slate of ERAs for the next trial (the harness's own database only)."""
    with db.transaction() as s:
        s.execute(update(ClaimPayment).values(reverses_id=None))
        for model in (Adjustment, RemarkCode, LinePayment, ClaimPayment, ProviderAdjustment, Remittance):
            s.execute(delete(model))
        s.execute(delete(EdiFile).where(EdiFile.kind == "835"))


async def test_eras_are_neither_lost_nor_duplicated_whatever_the_crash(lab, capsys):
    db, sandbox, rng, backend = lab["db"], lab["sandbox"], lab["rng"], lab["backend"]
    availity, alias = sandbox.availity, lab["aliases"]["availity"]
    today = date.fromisoformat(availity.control("GET", "clock")["now"][:10])
    since = today - timedelta(days=12)
    expected = {f["sha256"] for f in availity.files() if f["kind"] == "835" and f["created"] >= since.isoformat()}
    assert len(expected) >= 2, "the sandbox window must hold a few ERAs for the per-file crash points"
    rows = []
    for point in ERA_PULL.checkpoints:
        for trial in range(TRIALS):
            _forget_eras(db)
            nth = rng.randint(1, len(expected)) if point in ("era_downloaded", "era_ingested") else 1
            run_id = runs.submit_run(db, "era_pull", alias, {"since": since.isoformat()}, runs.Priority.ON_DEMAND,
                                     backend=backend.name)
            await backend.dispatch(run_id)
            rc = _worker(backend.name, lab["settings"], f"era_pull:{point}@{nth}", lab["cwd"])
            with db.transaction() as s:
                at_crash = s.scalar(select(func.count()).select_from(Remittance))
            _restart_and_reconcile(lab)
            with db.transaction() as s:
                got = list(s.scalars(select(EdiFile.sha256).where(EdiFile.kind == "835")))
                remits = s.scalar(select(func.count()).select_from(Remittance))
            run = runs.get_run(db, run_id)
            rows.append((f"{point}@{nth}", trial, "killed" if rc == -signal.SIGKILL else f"exit {rc}",
                         f"{at_crash} ERAs at crash", f"{len(got)}/{len(expected)} after", run.state))
            assert rc == -signal.SIGKILL, f"the worker did not die at {point}@{nth}"
            assert run.state == runs.SUCCEEDED and run.attempts == 2
            assert sorted(got) == sorted(expected), "an ERA was lost or a foreign one appeared"
            assert remits == len(expected), "an ERA was ingested twice"
    _report(capsys, f"crash trials: era_pull on {backend.name} (seed {SEED})", rows)
