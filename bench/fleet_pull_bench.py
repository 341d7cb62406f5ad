"""Fleet daily-pull throughput: claim statuses for N sandbox claims, 1/2/4 concurrent contexts, both backends.

    .venv/bin/python bench/fleet_pull_bench.py                      # 2,000 claims, 100 ms latency
    .venv/bin/python bench/fleet_pull_bench.py --claims 200 --concurrency 1 4 --backends local

The sandbox (seed 11, N claims) gets 100 ms of injected latency on every request. Each
configuration starts from a fresh store into which, before the clock starts, the practice's
submitted 837P batches are ingested (cli.sandbox.ingest_submissions, as the demo does), so the
store knows the claims. The pull is then production's daily claim_status_pull: no claim list,
a service-date range and the account's payers. Neither sandbox portal has a date-range search,
so a run groups its stored claims by (payer, member id, date of birth), runs one member search
per group (every results page read and captured as evidence) and looks up alone only what a
search did not list or listed only as "Rejected" (a detail page each, captured).

One run per portal account (each with its own dedupe key, as the scheduler enqueues them):
Availity's four payers are dealt out to its two accounts, and UHC's one payer is split by
service date into a window per account (see _plan). The sandbox has two Availity-like and two
UHC-like accounts, so at most four runs go at once (one session per account); about three
quarters of the claims are the Availity payers', so at 4 contexts the two Availity runs set the
time. Runs go through the fleet as in production: run rows, the backend, the browser pool (one
Chromium, a context per run), evidence; rate limits are off (they would cap the figure, not
measure it). Each account logs in once (TOTP) before the clock starts, so the figure is the
steady daily pull. Local runs on SQLite, Procrastinate on PostgreSQL (PAYERFLEET_BENCH_PG_URL,
default the test server); both in one invocation.

Printed per (backend, contexts): claims (statuses read for the stored claims: recorded +
unchanged over the runs), runs and failed runs, seconds, claims/min, CPU seconds per claim (this
process, which also serves the sandbox, plus Chromium, from /proc), peak resident memory per
context (Chromium's processes, sampled), and the portal work (member searches, single lookups,
claims not found). Every configuration is printed; the exit status is 1 if any run failed. Not
a test.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, select, text  # noqa: E402

from cli.sandbox import ingest_submissions, portal_payers  # noqa: E402
from core.config import Settings  # noqa: E402
from core.crypto import KeyRing  # noqa: E402
from core.store import migrate  # noqa: E402
from core.store.db import Database  # noqa: E402
from core.store.models import Claim, Payer  # noqa: E402
from core.vault import Credentials, Vault  # noqa: E402
from fixtures.sandbox import running  # noqa: E402
from fleet import runs  # noqa: E402
from fleet.backends import open_fleet, submit  # noqa: E402
from fleet.config import FleetConfig  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
PG_ADMIN = os.environ.get("PAYERFLEET_BENCH_PG_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")


# -- /proc accounting (no psutil here) -----------------------------------------------------
def _children(pid: int) -> list[int]:
    out = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:  # the process ended while we looked
        return out
    for task in tasks:
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return out


def _tree(pid: int) -> list[int]:
    pids, stack = [], [pid]
    while stack:
        p = stack.pop()
        pids.append(p)
        stack += _children(p)
    return pids


def _cpu_s(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def _rss_mb(pid: int) -> float:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE / 2**20
    except OSError:
        return 0.0


class Meter:
    """CPU of this process and every descendant (alive or reaped), and peak browser RSS."""

    def __init__(self):
        self.me = os.getpid()
        self.seen: dict[int, float] = {}
        self.peak_browser_mb = 0.0

    def sample(self) -> None:
        for pid in _tree(self.me):
            self.seen[pid] = max(self.seen.get(pid, 0.0), _cpu_s(pid))
        browser = sum(_rss_mb(p) for p in _tree(self.me) if p != self.me)
        self.peak_browser_mb = max(self.peak_browser_mb, browser)

    def cpu_s(self) -> float:
        return sum(self.seen.values())


async def _sampler(meter: Meter, stop: asyncio.Event) -> None:
    while not stop.is_set():
        meter.sample()
        try:
            await asyncio.wait_for(stop.wait(), timeout=0.25)
        except asyncio.TimeoutError:
            pass


# -- set-up ----------------------------------------------------------------------------------
def _fresh_db(kind: str, workdir: Path) -> tuple[Database, callable]:
    if kind == "sqlite":
        db = Database(f"sqlite:///{workdir / f'bench-{uuid.uuid4().hex[:6]}.db'}")
        migrate.upgrade(db)
        return db, db.dispose
    name = f"payerfleet_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    db = Database(PG_ADMIN.rsplit("/", 1)[0] + "/" + name)
    migrate.upgrade(db)

    def drop() -> None:
        db.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return db, drop


def _accounts(db: Database, keys: KeyRing, sandbox) -> dict[str, list[str]]:
    vault, out = Vault(db, keys), {}
    for portal in ("availity", "uhc"):
        handle = sandbox.portals[portal]
        for i, a in enumerate(handle.accounts):
            alias = f"bench-{portal}-{i}"
            vault.add_account(alias=alias, portal=portal, base_url=handle.base_url, authorised=True,
                              credentials=Credentials(username=a.username, password=a.password, totp_secret=a.totp_secret))
            out.setdefault(portal, []).append(alias)
    return out


def _plan(db: Database, accounts: dict[str, list[str]]) -> list[tuple[str, dict, int]]:
    """(account alias, daily-pull parameters, stored claims in them): one run per account, biggest first.

    A portal with at least as many payers as accounts deals its payers out (most claims first, to
    the account with fewest), so no member's claims are split between runs. A portal with fewer
    splits its claims by first service date into one equal window per account; a member whose
    claims straddle a cut is then searched once per window.
    """
    plan = []
    for portal, aliases in accounts.items():
        with db.transaction() as s:
            found = s.execute(select(Payer.code, Claim.dos_from).join(Payer, Payer.id == Claim.payer_id)
                              .where(Payer.code.in_(portal_payers(portal)), Claim.dos_from.is_not(None))).all()
        days: dict[str, list[date]] = {}
        for code, day in found:
            days.setdefault(code, []).append(day)
        if not days:
            continue
        if len(days) >= len(aliases):
            shares: dict[str, list[str]] = {alias: [] for alias in aliases}
            for code in sorted(days, key=lambda c: -len(days[c])):
                shares[min(aliases, key=lambda a: sum(len(days[c]) for c in shares[a]))].append(code)
            for alias, codes in shares.items():
                mine = [d for c in codes for d in days[c]]
                plan.append((alias, {"payers": sorted(codes), "service_from": min(mine).isoformat(),
                                     "service_to": max(mine).isoformat()}, len(mine)))
            continue
        every = sorted(d for ds in days.values() for d in ds)
        cuts = sorted({every[len(every) * i // len(aliases)] for i in range(len(aliases))})
        for alias, lo, hi in zip(aliases, cuts, [*cuts[1:], every[-1] + timedelta(days=1)]):
            plan.append((alias, {"payers": sorted(days), "service_from": lo.isoformat(),
                                 "service_to": (hi - timedelta(days=1)).isoformat()}, sum(lo <= d < hi for d in every)))
    return sorted(plan, key=lambda run: -run[2])


async def one(backend_name: str, contexts: int, sandbox, today: date, workdir: Path) -> dict:
    db, cleanup = _fresh_db("sqlite" if backend_name == "local" else "postgresql", workdir)
    data_dir = Path(tempfile.mkdtemp(dir=workdir))
    settings = Settings(data_dir=data_dir, database_url=db.url)
    keys = KeyRing.load(settings, create=True)
    try:
        accounts = _accounts(db, keys, sandbox)
        ingest_submissions(db, sandbox, today)
        plan = _plan(db, accounts)
        config = FleetConfig(backend=backend_name, max_contexts=contexts, rate_limits={}, run_timeout_s=3600)
        meter, stop = Meter(), asyncio.Event()
        async with open_fleet(db, settings, keys, config, today=lambda: today) as backend:
            # Log every account in once first (TOTP): a pull of a window without claims.
            nothing = {"service_from": "2000-01-03", "service_to": "2000-01-03"}
            warm = [await submit(backend, "claim_status_pull", alias, nothing)
                    for aliases in accounts.values() for alias in aliases]
            await backend.run_until_idle()
            assert all(runs.get_run(db, r).state == runs.SUCCEEDED for r in warm), "warm-up run failed"
            meter.sample()
            cpu0 = meter.cpu_s()
            meter.peak_browser_mb = 0.0
            sampler = asyncio.create_task(_sampler(meter, stop))
            t0 = time.perf_counter()
            ids = [await submit(backend, "claim_status_pull", alias, params, runs.Priority.SCHEDULED,
                                runs.dedupe_key("claim_status_pull", alias, today.isoformat()))
                   for alias, params, _ in plan]
            await backend.run_until_idle()
            wall = time.perf_counter() - t0
            stop.set()
            await sampler
            meter.sample()
        infos = [runs.get_run(db, r) for r in ids]
        done = [i.result for i in infos if i.state == runs.SUCCEEDED]
        failed = [f"{alias}: {i.state} {i.error_type}" for (alias, *_), i in zip(plan, infos) if i.state != runs.SUCCEEDED]
        # Statuses read for our stored claims: a run records only rows of the claims it was asked about.
        read = sum(r["recorded"] + r["unchanged"] for r in done)
        return {"backend": backend_name, "contexts": contexts, "claims": read, "stored": sum(n for *_, n in plan),
                "runs": len(ids), "failed": failed, "seconds": wall, "claims_per_min": read / wall * 60,
                "cpu_s_per_claim": (meter.cpu_s() - cpu0) / max(read, 1),
                "peak_mb_per_context": meter.peak_browser_mb / contexts,
                **{k: sum(r[k] for r in done) for k in ("member_searches", "single_lookups", "not_found")}}
    finally:
        cleanup()
        shutil.rmtree(data_dir, ignore_errors=True)


async def main(args) -> int:
    from core import logging as pf_logging

    pf_logging.configure("console", "WARNING")  # as a production worker runs: no debug chatter
    workdir = Path(tempfile.mkdtemp(prefix="fleet-bench-"))
    failed = 0
    try:
        with running(seed=args.seed, claims=max(args.claims, 50)) as sandbox:
            today = date.fromisoformat(sandbox.availity.control("GET", "clock")["now"][:10])
            for handle in sandbox.portals.values():
                handle.set_faults(latency_ms=args.latency_ms)
            for backend_name in args.backends:
                for contexts in args.concurrency:
                    r = await one(backend_name, contexts, sandbox, today, workdir)
                    failed += len(r["failed"])
                    print(f"{r['backend']:<13} contexts={r['contexts']}  {r['claims']:>5} of {r['stored']} claims "
                          f"in {r['runs']} runs ({len(r['failed'])} failed)  {r['seconds']:7.1f}s  "
                          f"{r['claims_per_min']:7.1f} claims/min  {r['cpu_s_per_claim']:.3f} CPU s/claim  "
                          f"{r['peak_mb_per_context']:6.0f} MB peak/context  |  {r['member_searches']} member searches, "
                          f"{r['single_lookups']} single lookups, {r['not_found']} not found"
                          + (f"  FAILED: {'; '.join(r['failed'])}" if r["failed"] else ""), flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=2000)
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--backends", nargs="+", default=["local", "procrastinate"], choices=["local", "procrastinate"])
    parser.add_argument("--seed", type=int, default=11)
    sys.exit(asyncio.run(main(parser.parse_args())))
