"""Fleet daily-pull throughput: claim statuses for N sandbox claims, 1/2/4 concurrent contexts, both backends.

    .venv/bin/python bench/fleet_pull_bench.py                      # 2,000 claims, 100 ms latency
    .venv/bin/python bench/fleet_pull_bench.py --claims 400 --concurrency 1 2 4 --backends local

The sandbox (seeded, N claims) gets 100 ms of injected latency on every request. The pull is the
scheduled claim_status_pull, split into runs of --chunk named claims, each run on the portal
account that serves the claim's payer (two Availity-like and two UHC-like demo accounts: at most
four runs at once, one per account, as the per-account lock allows). Every run goes through the
fleet exactly as in production: run rows, the backend, the browser pool (one Chromium, a context
per run), rate limits off, evidence captured per claim. Local runs on SQLite, Procrastinate on
PostgreSQL (PAYERFLEET_BENCH_PG_URL, default the test server); both in one invocation.
Printed per (backend, contexts): claims/min, CPU seconds per claim (this process plus Chromium,
from /proc) and peak resident memory per context (Chromium's processes, sampled). Not a test.
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text  # noqa: E402

from core.config import Settings  # noqa: E402
from core.crypto import KeyRing  # noqa: E402
from core.store import migrate  # noqa: E402
from core.store.db import Database  # noqa: E402
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


def _plan(sandbox, n: int, chunk: int, accounts: dict[str, list[str]]) -> list[tuple[str, list[dict]]]:
    """(account alias, claim refs) per run: claims of each portal in chunks, accounts round-robin."""
    ds = sandbox.availity.state.dataset
    claims = ds.claims[:n]
    plan = []
    for portal in ("availity", "uhc"):
        mine = [c for c in claims if (c.payer == "UHC") == (portal == "uhc")]
        for k in range(0, len(mine), chunk):
            refs = [{"claim_number": c.id, "payer": c.payer if portal == "availity" else ""} for c in mine[k:k + chunk]]
            plan.append((accounts[portal][(k // chunk) % len(accounts[portal])], refs))
    return plan


async def one(backend_name: str, contexts: int, sandbox, args, workdir: Path) -> dict:
    db, cleanup = _fresh_db("sqlite" if backend_name == "local" else "postgresql", workdir)
    data_dir = Path(tempfile.mkdtemp(dir=workdir))
    settings = Settings(data_dir=data_dir, database_url=db.url)
    keys = KeyRing.load(settings, create=True)
    try:
        accounts = _accounts(db, keys, sandbox)
        plan = _plan(sandbox, args.claims, args.chunk, accounts)
        config = FleetConfig(backend=backend_name, max_contexts=contexts, rate_limits={}, run_timeout_s=3600)
        meter, stop = Meter(), asyncio.Event()
        async with open_fleet(db, settings, keys, config) as backend:
            # Log every account in once first (TOTP), so the figure is the steady daily pull.
            warm = [await submit(backend, "claim_status_pull", accounts[p][i], {"claims": [plan_ref(sandbox, p)]})
                    for p in accounts for i in range(len(accounts[p]))]
            await backend.run_until_idle()
            assert all(runs.get_run(db, r).state == runs.SUCCEEDED for r in warm), "warm-up run failed"
            meter.sample()
            cpu0 = meter.cpu_s()
            meter.peak_browser_mb = 0.0
            sampler = asyncio.create_task(_sampler(meter, stop))
            t0 = time.perf_counter()
            ids = [await submit(backend, "claim_status_pull", alias, {"claims": refs}, runs.Priority.SCHEDULED)
                   for alias, refs in plan]
            await backend.run_until_idle()
            wall = time.perf_counter() - t0
            stop.set()
            await sampler
            meter.sample()
        infos = [runs.get_run(db, r) for r in ids]
        looked_up = sum(i.result.get("looked_up", 0) for i in infos if i.state == runs.SUCCEEDED)
        failed = [i.error_type for i in infos if i.state != runs.SUCCEEDED]
        return {"backend": backend_name, "contexts": contexts, "claims": looked_up, "runs": len(ids),
                "failed_runs": len(failed), "seconds": wall, "claims_per_min": looked_up / wall * 60,
                "cpu_s_per_claim": (meter.cpu_s() - cpu0) / max(looked_up, 1),
                "peak_mb_per_context": meter.peak_browser_mb / contexts}
    finally:
        cleanup()
        shutil.rmtree(data_dir, ignore_errors=True)


def plan_ref(sandbox, portal: str) -> dict:
    ds = sandbox.availity.state.dataset
    c = next(c for c in ds.claims if (c.payer == "UHC") == (portal == "uhc"))
    return {"claim_number": c.id, "payer": c.payer if portal == "availity" else ""}


async def main(args) -> None:
    from core import logging as pf_logging

    pf_logging.configure("console", "WARNING")  # as a production worker runs: no debug chatter
    workdir = Path(tempfile.mkdtemp(prefix="fleet-bench-"))
    results = []
    try:
        with running(seed=args.seed, claims=max(args.claims, 50)) as sandbox:
            for handle in sandbox.portals.values():
                handle.set_faults(latency_ms=args.latency_ms)
            for backend_name in args.backends:
                for contexts in args.concurrency:
                    r = await one(backend_name, contexts, sandbox, args, workdir)
                    results.append(r)
                    print(f"{r['backend']:<13} contexts={r['contexts']}  {r['claims']:>5} claims in {r['runs']:>3} runs "
                          f"({r['failed_runs']} failed)  {r['seconds']:7.1f}s  {r['claims_per_min']:7.1f} claims/min  "
                          f"{r['cpu_s_per_claim']:.3f} CPU s/claim  {r['peak_mb_per_context']:6.0f} MB peak/context",
                          flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=2000)
    parser.add_argument("--chunk", type=int, default=25, help="Claims per run.")
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--backends", nargs="+", default=["local", "procrastinate"], choices=["local", "procrastinate"])
    parser.add_argument("--seed", type=int, default=11)
    asyncio.run(main(parser.parse_args()))
