"""Fault-and-kill harness: real worker processes on one store, SIGKILLed at random checkpoints, late POSTs,
and (PostgreSQL) the database taken away mid-run; the portals' duplicate checks are off throughout.

    .venv/bin/python bench/fault_harness.py --trials 5                     # SQLite (local) and PostgreSQL
    .venv/bin/python bench/fault_harness.py --backends local --trials 20 --seed 7

Topology per backend: the sandbox portals in this process (loopback); two long-running `payerfleet
worker` processes on one store (local backend on a SQLite file; Procrastinate on a private PostgreSQL
database reached through a loopback TCP proxy this harness controls); `payerfleet reconcile` run every
few seconds by this harness as the hourly schedule would; leases lapse after a few seconds so a killed
worker's run is recovered by a live one. Trial kinds:

  submit_kill       a reconsideration (plus a competing ERA pull on the same account); the worker holding
                    the submit is SIGKILLed when it reaches a random checkpoint; a new worker replaces it
  submit_late_post  the submit POST reaches the portal POST_DELAY_S late, after the browser gave up;
                    reconcile runs while it is on its way
  era_kill          an ERA pull killed at a random checkpoint (a random file for the per-file points)
  db_outage         (PostgreSQL) a reconsideration and an ERA pull; at a random checkpoint the proxy to
                    PostgreSQL is cut for OUTAGE_S seconds, then restored; the workers must keep going

A trial holds when: the portal received each act exactly once and the intent is SUBMITTED with its number
(no duplicate, nothing lost), every ERA is stored exactly once, no run of the trial is left queued or
running (lost), no intent is left SUBMITTING / IN_DOUBT / SAFE_TO_RETRY (in doubt), every ERA pull
succeeded, and (outage) no worker process died. Bounded: every trial has a deadline; all traffic is
loopback; the script stops by itself and prints per backend and kind: tried / held / failed,
duplicates, lost runs, in doubt. Exit status 1 if any trial failed. Not a test (the CI test
tests/test_fault_harness.py runs it with one trial per kind).
"""
from __future__ import annotations

import argparse
import base64
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import delete, func, select, update  # noqa: E402

from core.config import Settings  # noqa: E402
from core.crypto import KeyRing  # noqa: E402
from core.store import migrate  # noqa: E402
from core.store.db import Database  # noqa: E402
from core.store.models import (  # noqa: E402
    Adjustment, AutomationRun, ClaimPayment, EdiFile, LinePayment, ProviderAdjustment, RemarkCode, Remittance,
    SubmissionIntent,
)
from core.vault import Credentials, Vault  # noqa: E402
from fleet import runs  # noqa: E402

PDF = b"%PDF-1.4\n% fault harness\n" + b"7" * 5000 + b"\n%%EOF\n"
REQUEST_PATH = "/portal/claims/reconsideration"
SUBMIT_CHECKPOINTS = ("intent_planned", "session_open", "portal_list_read", "form_filled", "before_submit_click",
                      "after_submit_click", "submitted")
ERA_CHECKPOINTS = ("session_open", "remits_listed", "era_downloaded", "era_ingested")
DOUBT = ("SUBMITTING", "IN_DOUBT", "SAFE_TO_RETRY")
LEASE_S, HEARTBEAT_S = 5, 1
# The browser gives up on a confirmation after ~10 s; the late POST arrives after that, the settle
# period outlasts it (a short one, so a kill before the click is re-sent within the trial).
POST_DELAY_S, SETTLE_S = 15, 25
RECONCILE_EVERY_S = 4
TRIAL_DEADLINE_S = 240
KINDS = {"local": ("submit_kill", "submit_late_post", "era_kill"),
         "procrastinate": ("submit_kill", "submit_late_post", "era_kill", "db_outage")}


@dataclass
class Tally:
    tried: int = 0
    held: int = 0
    failed: int = 0
    duplicates: int = 0
    lost_runs: int = 0
    in_doubt: int = 0
    notes: list[str] = field(default_factory=list)


class Workers:
    """`payerfleet worker` processes on the harness's store, kept at `count`."""

    def __init__(self, env: dict[str, str], cwd: Path, backend: str, count: int = 2):
        self.env, self.cwd, self.backend, self.count = env, cwd, backend, count
        self.procs: list[subprocess.Popen] = []
        self.deaths = 0  # exits the harness did not cause

    def command(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", "from cli.main import app; app()", *args], env=self.env,
                              cwd=self.cwd, capture_output=True, text=True, timeout=timeout)

    def keep_up(self, killed: set[int] = frozenset()) -> None:
        for proc in list(self.procs):
            if proc.poll() is not None:
                self.procs.remove(proc)
                if proc.pid not in killed:
                    self.deaths += 1
        while len(self.procs) < self.count:
            log = open(self.cwd / f"worker-{len(self.procs)}-{time.monotonic_ns()}.log", "w")
            self.procs.append(subprocess.Popen(
                [sys.executable, "-c", "from cli.main import app; app()", "worker", "--backend", self.backend],
                env=self.env, cwd=self.cwd, stdout=log, stderr=subprocess.STDOUT))

    def stop(self) -> None:
        for proc in self.procs:
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.procs.clear()


class Harness:
    def __init__(self, db: Database, worker_url: str, data_dir: Path, sandbox, backend: str, cwd: Path,
                 rng: random.Random, proxy=None, outage_s: float = 20):
        self.db, self.sandbox, self.backend, self.rng, self.proxy, self.outage_s = db, sandbox, backend, rng, proxy, outage_s
        env = {**os.environ, "PAYERFLEET_DATABASE_URL": worker_url, "PAYERFLEET_DATA_DIR": str(data_dir),
               "PAYERFLEET_CONFIG": str(cwd / "none.toml"), "PAYERFLEET_LOG_LEVEL": "WARNING",
               "PAYERFLEET_FLEET_MAX_CONTEXTS": "1", "PAYERFLEET_FLEET_STALLED_AFTER_S": str(LEASE_S),
               "PAYERFLEET_FLEET_HEARTBEAT_S": str(HEARTBEAT_S), "PAYERFLEET_FLEET_SETTLE_S": str(SETTLE_S),
               "PAYERFLEET_FLEET_RATE_LIMITS": "availity=0,uhc=0,caqh=0"}
        env.pop("PAYERFLEET_CRASH_AT", None)
        self.workers = Workers(env, cwd, backend)
        self.killed: set[int] = set()
        self.tally: dict[str, Tally] = {}
        uhc = sandbox.uhc
        ds = uhc.state.dataset
        self.claims = [c.id for c in ds.claims if c.payer == "UHC" and ds.outcomes[c.id].appealable
                       and ds.outcomes[c.id].kind == "denied" and ds.outcomes[c.id].rejection is None]
        rng.shuffle(self.claims)
        self._last_reconcile = 0.0

    # -- setup ---------------------------------------------------------------------------------
    def add_accounts(self, keys: KeyRing) -> None:
        vault = Vault(self.db, keys)
        for portal, index, alias in (("uhc", 1, "uhc-1"), ("availity", 0, "availity-1")):
            handle = self.sandbox.portals[portal]
            handle.set_behaviour(duplicate_check=False)  # payers that accept duplicates
            a = handle.accounts[index]
            vault.add_account(alias=alias, portal=portal, base_url=handle.base_url, authorised=True,
                              credentials=Credentials(username=a.username, password=a.password,
                                                      totp_secret=a.totp_secret))

    # -- driving -------------------------------------------------------------------------------
    def _queue(self, automation: str, alias: str, params: dict) -> str:
        return runs.submit_run(self.db, automation, alias, params, runs.Priority.ON_DEMAND, backend=self.backend)

    def _kill_at(self, run_id: str, checkpoint: str, deadline: float) -> bool:
        """SIGKILL whichever process holds the run when it reaches `checkpoint`; False if it never did."""
        while time.monotonic() < deadline:
            run = runs.get_run(self.db, run_id)
            if run.state in runs.FINISHED:
                return False
            if run.state == runs.RUNNING and run.checkpoint == checkpoint and run.worker_id:
                pid = int(run.worker_id.split(":")[1])
                self.killed.add(pid)
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    return False
                return True
            self.workers.keep_up(self.killed)
            time.sleep(0.05)
        return False

    def _settle(self, done: Callable[[], bool], deadline: float) -> bool:
        """Keep two workers up and reconcile now and then (as the schedule would) until `done()`."""
        while time.monotonic() < deadline:
            self.workers.keep_up(self.killed)
            if done():
                return True
            if time.monotonic() - self._last_reconcile >= RECONCILE_EVERY_S:
                # Fails while the database is away; the next round tries again.
                self.workers.command("reconcile", "--json", "--backend", self.backend)
                self._last_reconcile = time.monotonic()
            else:
                time.sleep(0.5)
        return done()

    def _submit_params(self, claim: str, key: str) -> dict:
        return {"claim_number": claim, "reason": "Additional Information", "note": "Records attached.",
                "idempotency_key": key,
                "attachments": [{"name": "records.pdf", "content_b64": base64.b64encode(PDF).decode()}]}

    # -- checking ------------------------------------------------------------------------------
    def _open_runs(self, ids: list[str]) -> int:
        with self.db.transaction() as s:
            return s.scalar(select(func.count()).select_from(AutomationRun).where(
                AutomationRun.id.in_(ids), AutomationRun.state.in_((runs.QUEUED, runs.RUNNING))))

    def _all_runs_since(self, since) -> list[str]:
        with self.db.transaction() as s:
            return list(s.scalars(select(AutomationRun.id).where(AutomationRun.created_at >= since)))

    def _intent(self, key: str) -> tuple[str | None, str | None]:
        with self.db.transaction() as s:
            row = s.scalar(select(SubmissionIntent).where(SubmissionIntent.idempotency_key == key))
            return (row.state, row.confirmation_number) if row else (None, None)

    def _check_submit(self, t: Tally, claim: str, key: str) -> list[str]:
        received = [r for r in self.sandbox.uhc.submissions() if r["claim_id"] == claim]
        state, number = self._intent(key)
        problems = []
        if len(received) > 1:
            t.duplicates += len(received) - 1
            problems.append(f"portal received {len(received)}")
        if state in DOUBT:
            t.in_doubt += 1
            problems.append(f"intent {state}")
        elif len(received) != 1 or (state, number) != ("SUBMITTED", received[0]["id"]):
            problems.append(f"intent {state} {number}, portal {[r['id'] for r in received]}")
        return problems

    def _forget_eras(self) -> None:
        with self.db.transaction() as s:
            s.execute(update(ClaimPayment).values(reverses_id=None))
            for model in (Adjustment, RemarkCode, LinePayment, ClaimPayment, ProviderAdjustment, Remittance):
                s.execute(delete(model))
            s.execute(delete(EdiFile).where(EdiFile.kind == "835"))

    def _expected_eras(self) -> tuple[str, set[str]]:
        availity = self.sandbox.availity
        today = date.fromisoformat(availity.control("GET", "clock")["now"][:10])
        since = today - timedelta(days=12)
        return since.isoformat(), {f["sha256"] for f in availity.files()
                                   if f["kind"] == "835" and f["created"] >= since.isoformat()}

    def _check_eras(self, t: Tally, expected: set[str]) -> list[str]:
        with self.db.transaction() as s:
            got = list(s.scalars(select(EdiFile.sha256).where(EdiFile.kind == "835")))
            remits = s.scalar(select(func.count()).select_from(Remittance))
        problems = []
        if len(got) != len(set(got)) or remits > len(expected):
            t.duplicates += max(len(got) - len(set(got)), remits - len(expected))
            problems.append(f"ERAs stored twice ({remits} remittances for {len(expected)} files)")
        if set(got) != expected:
            problems.append(f"ERAs {len(set(got) & expected)}/{len(expected)}")
        return problems

    # -- trials --------------------------------------------------------------------------------
    def run(self, kinds: tuple[str, ...], trials: int) -> dict[str, Tally]:
        self.workers.keep_up()
        try:
            for trial in range(trials):
                for kind in kinds:
                    self.tally.setdefault(kind, Tally())
                    self._trial(kind, trial)
        finally:
            self.workers.stop()
        return self.tally

    def _trial(self, kind: str, trial: int) -> None:
        from core.store.models import utcnow

        t = self.tally[kind]
        t.tried += 1
        deadline = time.monotonic() + TRIAL_DEADLINE_S
        started = utcnow()
        deaths_before = self.workers.deaths
        claim = self.claims.pop() if kind != "era_kill" else ""
        key = f"harness:{self.backend}:{kind}:{trial}"
        expected: set[str] = set()
        note = ""
        if kind == "submit_kill":
            submit = self._queue("reconsideration_submit", "uhc-1", self._submit_params(claim, key))
            self._queue("era_pull", "uhc-1", {})  # competes for the account: one session at a time
            point = self.rng.choice(SUBMIT_CHECKPOINTS)
            note = f"{point}: {'killed' if self._kill_at(submit, point, deadline) else 'finished first'}"
        elif kind == "submit_late_post":
            self.sandbox.uhc.set_faults(post_delay_s=POST_DELAY_S, path_prefix=REQUEST_PATH)
            self._queue("reconsideration_submit", "uhc-1", self._submit_params(claim, key))
        elif kind == "era_kill":
            self._forget_eras()
            since, expected = self._expected_eras()
            era = self._queue("era_pull", "availity-1", {"since": since})
            point = self.rng.choice(ERA_CHECKPOINTS)
            nth = self.rng.randint(1, len(expected)) if point in ("era_downloaded", "era_ingested") else 1
            note = f"{point}@{nth}: " + ("killed" if self._kill_nth(era, point, nth, deadline) else "finished first")
        elif kind == "db_outage":
            self._forget_eras()
            since, expected = self._expected_eras()
            submit = self._queue("reconsideration_submit", "uhc-1", self._submit_params(claim, key))
            self._queue("era_pull", "availity-1", {"since": since})
            point = self.rng.choice(SUBMIT_CHECKPOINTS[:-1])
            reached = self._wait_checkpoint(submit, point, deadline)
            self.proxy.cut()
            time.sleep(self.outage_s)  # the outage itself: how long the database stays away
            self.proxy.restore()
            note = f"outage {self.outage_s:.0f}s at {point if reached else 'end'}"
        ids = lambda: self._all_runs_since(started)  # noqa: E731 - includes re-sends and reconcile runs

        def done() -> bool:
            return self._open_runs(ids()) == 0 and (not claim or self._intent(key)[0] not in DOUBT + ("PLANNED",))

        self._settle(done, deadline)
        if kind == "submit_late_post":
            self.sandbox.uhc.set_faults()
        problems = self._check_submit(t, claim, key) if claim else []
        if expected:
            problems += self._check_eras(t, expected)
        still_open = self._open_runs(ids())
        if still_open:
            t.lost_runs += still_open
            problems.append(f"{still_open} runs not finished")
        problems += self._failed_pulls(ids())
        if kind == "db_outage" and self.workers.deaths > deaths_before:
            problems.append(f"{self.workers.deaths - deaths_before} worker(s) exited")
        if problems:
            t.failed += 1
        else:
            t.held += 1
        t.notes.append(f"{trial}: {note or 'ok'}{' -> ' + '; '.join(problems) if problems else ''}")

    def _failed_pulls(self, ids: list[str]) -> list[str]:
        with self.db.transaction() as s:
            bad = list(s.execute(select(AutomationRun.automation, AutomationRun.error_type).where(
                AutomationRun.id.in_(ids), AutomationRun.automation == "era_pull",
                AutomationRun.state == runs.FAILED)))
        return [f"era_pull failed: {error}" for _, error in bad]

    def _wait_checkpoint(self, run_id: str, checkpoint: str, deadline: float) -> bool:
        while time.monotonic() < deadline:
            run = runs.get_run(self.db, run_id)
            if run.state in runs.FINISHED:
                return False
            if run.checkpoint == checkpoint:
                return True
            time.sleep(0.05)
        return False

    def _kill_nth(self, run_id: str, checkpoint: str, nth: int, deadline: float) -> bool:
        """Kill at the n-th arrival at a per-file checkpoint: count the ERAs stored so far."""
        if nth == 1 or checkpoint not in ("era_downloaded", "era_ingested"):
            return self._kill_at(run_id, checkpoint, deadline)
        while time.monotonic() < deadline:
            with self.db.transaction() as s:
                stored = s.scalar(select(func.count()).select_from(EdiFile).where(EdiFile.kind == "835"))
            if stored >= nth - 1:
                return self._kill_at(run_id, checkpoint, deadline)
            if runs.get_run(self.db, run_id).state in runs.FINISHED:
                return False
            time.sleep(0.05)
        return False


def report(backend: str, tally: dict[str, Tally]) -> list[str]:
    lines = [f"{backend}: kind | tried | held | failed | duplicates | lost runs | in doubt"]
    for kind, t in tally.items():
        lines.append(f"  {kind} | {t.tried} | {t.held} | {t.failed} | {t.duplicates} | {t.lost_runs} | {t.in_doubt}")
        lines += [f"      {n}" for n in t.notes]
    return lines


def run_backend(backend: str, db_url: str, sandbox, workdir: Path, trials: int, seed: int,
                outage_s: float = 20, proxy=None, worker_url: str | None = None) -> dict[str, Tally]:
    """One backend's trials on a migrated store at `db_url` (workers reach it at `worker_url`)."""
    data_dir = workdir / "var"
    settings = Settings(data_dir=data_dir, database_url=db_url)
    db = Database(db_url)
    try:
        if backend == "procrastinate":
            from fleet.procrastinate_schema import ensure_schema

            ensure_schema(db)
        harness = Harness(db, worker_url or db_url, data_dir, sandbox, backend, workdir,
                          random.Random(f"{seed}:{backend}"), proxy=proxy, outage_s=outage_s)
        harness.add_accounts(KeyRing.load(settings, create=True))
        return harness.run(KINDS[backend], trials)
    finally:
        db.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=3, help="trials per kind")
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--backends", nargs="+", default=["local", "procrastinate"])
    parser.add_argument("--outage-s", type=float, default=40)
    parser.add_argument("--pg-url", default=os.environ.get("PAYERFLEET_BENCH_PG_URL",
                                                           "postgresql+psycopg://root@127.0.0.1:5432/test"))
    args = parser.parse_args()
    from fixtures.sandbox import running

    lines, ok = [], True
    with running(seed=args.seed % 1000) as sandbox:
        for backend in args.backends:
            for handle in sandbox.portals.values():
                handle.reset()
            with tempfile.TemporaryDirectory(prefix=f"fault-harness-{backend}-") as tmp:
                workdir = Path(tmp)
                if backend == "local":
                    url = f"sqlite:///{workdir / 'payerfleet.db'}"
                    migrate.upgrade(Database(url))
                    tally = run_backend(backend, url, sandbox, workdir, args.trials, args.seed)
                else:
                    tally = _run_on_private_pg(args, sandbox, workdir)
            lines += report(backend, tally)
            ok = ok and all(t.failed == 0 for t in tally.values())
    print("\n".join(lines))
    return 0 if ok else 1


def _run_on_private_pg(args, sandbox, workdir: Path) -> dict[str, Tally]:
    """A private database on the shared server, reached by the workers through a proxy we can cut."""
    import uuid
    from urllib.parse import urlsplit

    from sqlalchemy import create_engine, text

    from fixtures.tcp_proxy import running as proxied

    name = f"fault_harness_{uuid.uuid4().hex[:10]}"
    admin = create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = args.pg_url.rsplit("/", 1)[0] + "/" + name
    try:
        migrate.upgrade(Database(url))
        where = urlsplit(url.replace("postgresql+psycopg", "postgresql"))
        with proxied(where.hostname, where.port or 5432) as proxy:
            worker_url = url.replace(f"{where.hostname}:{where.port or 5432}", f"127.0.0.1:{proxy.port}")
            return run_backend("procrastinate", url, sandbox, workdir, args.trials, args.seed, args.outage_s,
                               proxy, worker_url)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    sys.exit(main())
