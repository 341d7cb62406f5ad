"""Fleet daily-pull throughput: claim statuses for N sandbox claims, 1/2/4 concurrent contexts, both backends.

    .venv/bin/python bench/fleet_pull_bench.py                      # 2,000 claims, 100 ms latency
    .venv/bin/python bench/fleet_pull_bench.py --claims 200 --concurrency 1 4 --backends local
    .venv/bin/python bench/fleet_pull_bench.py --demo                # first: the demo and its pull step

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
process, which also serves the sandbox, plus Chromium, from /proc), and the portal work (member
searches, single lookups, claims not found). Then the latency bound: a lookup (a member search
or a single claim lookup) cannot take less than its requests times the injected latency, the
requests counted by the sandbox itself (requests_served) over the timed window, so one context
can do at most 60 / (requests per lookup x latency) lookups a minute. Each run's lookups per
minute while it ran, against that limit, is the per-context efficiency (goal: at least 85 %).

Before the pulls, the memory one more context costs: Chromium is launched, then one to four
sandbox sessions are opened in turn (a context each, logged in, a claim looked up), and after
each the proportional set size (PSS, /proc/PID/smaps_rollup: shared pages split between the
processes sharing them) of the whole browser process tree is summed; the growth from k-1 to k
sessions is the cost of the k-th context (goal: under 150 MB), the launched browser alone the
baseline it is compared with.

Every configuration is printed; the exit status is 1 if any run failed. Not a test.
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
from datetime import date, datetime, timedelta
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


def _pss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _rss_mb(pid: int) -> float:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return 0.0


def browser_memory_mb() -> tuple[float, float]:
    """(PSS, RSS) summed over every Chromium process under this one (not the Playwright driver)."""
    pss = rss = 0.0
    for pid in _tree(os.getpid()):
        try:
            exe = os.readlink(f"/proc/{pid}/exe")
        except OSError:
            continue
        if "chrom" in Path(exe).name:
            pss, rss = pss + _pss_mb(pid), rss + _rss_mb(pid)
    return pss, rss


async def settled_memory_mb() -> tuple[float, float]:
    """The median of a few samples: Chromium maps and frees memory for a moment after a page."""
    samples = []
    for _ in range(5):
        await asyncio.sleep(0.3)
        samples.append(browser_memory_mb())
    return sorted(samples)[2]


async def context_costs(sandbox, sessions: int = 4) -> list[tuple[float, float]]:
    """Browser (PSS, RSS) with no context, then after each of `sessions` contexts is opened and used
    (logged in to a sandbox portal, one claim looked up), all kept open."""
    from contextlib import AsyncExitStack

    from playwright.async_api import async_playwright

    from portals import registry
    from portals.browser import find_chromium
    from portals.capabilities import ClaimQuery
    from portals.errors import ClaimNotFound
    from portals.session import PortalSession, memory_state_store

    targets = [(name, handle, a) for name in ("availity", "uhc") for handle in [sandbox.portals[name]]
               for a in handle.accounts][:sessions]
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(**find_chromium().launch_kwargs())
        levels = [await settled_memory_mb()]
        try:
            async with AsyncExitStack() as stack:
                for name, handle, a in targets:
                    session = await stack.enter_async_context(PortalSession(
                        browser, registry.get(name), base_url=handle.base_url, state=memory_state_store()[0],
                        credentials=Credentials(username=a.username, password=a.password, totp_secret=a.totp_secret),
                        account_key=f"bench:{name}:{a.username}"))
                    claim = next(c for c in handle.state.dataset.claims if (c.payer == "UHC") == (name == "uhc"))
                    lookup = session.capability("claim_status")
                    query = ClaimQuery(patient_control_number=claim.id, payer=claim.payer,
                                       service_from=claim.dos_from, service_to=claim.dos_to)
                    try:
                        await session.read(lambda: lookup.lookup(query))
                    except ClaimNotFound:
                        pass  # the pages were loaded and rendered all the same
                    levels.append(await settled_memory_mb())
        finally:
            await browser.close()
    return levels


class Meter:
    """CPU of this process and every descendant (alive or reaped)."""

    def __init__(self):
        self.me = os.getpid()
        self.seen: dict[int, float] = {}

    def sample(self) -> None:
        for pid in _tree(self.me):
            self.seen[pid] = max(self.seen.get(pid, 0.0), _cpu_s(pid))

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


def _lookups(result: dict) -> int:
    """Portal queries a claim-status run made: member searches and single claim lookups."""
    return result.get("member_searches", 0) + result.get("single_lookups", 0)


async def one(backend_name: str, contexts: int, sandbox, today: date, workdir: Path, latency_s: float) -> dict:
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
            served0 = {name: h.state.requests_served for name, h in sandbox.portals.items()}
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
            served = {name: h.state.requests_served - served0[name] for name, h in sandbox.portals.items()}
        infos = [runs.get_run(db, r) for r in ids]
        done = [i.result for i in infos if i.state == runs.SUCCEEDED]
        failed = [f"{alias}: {i.state} {i.error_type}" for (alias, *_), i in zip(plan, infos) if i.state != runs.SUCCEEDED]
        # Statuses read for our stored claims: a run records only rows of the claims it was asked about.
        read = sum(r["recorded"] + r["unchanged"] for r in done)
        portal_of = {alias: portal for portal, aliases in accounts.items() for alias in aliases}
        lookups = {p: 0 for p in accounts}
        for (alias, *_), info in zip(plan, infos):
            lookups[portal_of[alias]] += _lookups(info.result)
        per_lookup = {p: served[p] / lookups[p] for p in accounts if lookups[p]}
        # Each run's pace while it ran, against the bound its portal's requests per lookup set.
        paces = [(_lookups(i.result) / (i.finished_at - i.started_at).total_seconds() * 60,
                  60 / (per_lookup[portal_of[alias]] * latency_s), _lookups(i.result))
                 for (alias, *_), i in zip(plan, infos) if i.state == runs.SUCCEEDED and _lookups(i.result)]
        weight = sum(n for *_, n in paces)
        return {"backend": backend_name, "contexts": contexts, "claims": read, "stored": sum(n for *_, n in plan),
                "runs": len(ids), "failed": failed, "seconds": wall, "claims_per_min": read / wall * 60,
                "cpu_s_per_claim": (meter.cpu_s() - cpu0) / max(read, 1),
                "lookups": sum(lookups.values()), "lookups_per_min": sum(lookups.values()) / wall * 60,
                "requests_per_lookup": per_lookup,
                "pace_per_context": sum(pace * n for pace, _, n in paces) / weight,
                "limit_per_context": sum(limit * n for _, limit, n in paces) / weight,
                **{k: sum(r[k] for r in done) for k in ("member_searches", "single_lookups", "not_found")}}
    finally:
        cleanup()
        shutil.rmtree(data_dir, ignore_errors=True)


MEMORY_GOAL_MB, PACE_GOAL, DEMO_PULL_GOAL_S = 150, 0.85, 45


def report_memory(levels: list[tuple[float, float]]) -> None:
    (base_pss, base_rss), grown = levels[0], [(b[0] - a[0]) for a, b in zip(levels, levels[1:])]
    print(f"browser alone: {base_pss:.0f} MB PSS ({base_rss:.0f} MB summed RSS)")
    for k, (growth, (pss, rss)) in enumerate(zip(grown, levels[1:]), start=1):
        # The old figure: every Chromium process's RSS summed, per context (shared pages counted again
        # in each process), measured here on the same browser.
        old = rss / k
        print(f"  context {k}: +{growth:5.0f} MB PSS (tree {pss:.0f} MB)  goal < {MEMORY_GOAL_MB} MB: "
              f"{'met' if growth < MEMORY_GOAL_MB else 'MISSED'}  |  summed RSS per context {old:.0f} MB, "
              f"ratio {growth / old:.2f}")


async def demo_pull(workdir: Path) -> None:
    """`payerfleet demo --json` in its own process; its pull step's time, and each pull run's."""
    import json
    import subprocess

    data_dir = workdir / "demo"
    proc = await asyncio.create_subprocess_exec(str(Path(sys.executable).parent / "payerfleet"), "demo", "--json",
                                                "--data-dir", str(data_dir), stdout=subprocess.PIPE,
                                                stderr=subprocess.DEVNULL)
    out, _ = await proc.communicate()
    summary = json.loads(out)
    pull = summary["steps"]["pull"]
    print(f"demo: whole {summary['seconds']:.1f}s, pull step {pull['seconds']:.1f}s  goal < {DEMO_PULL_GOAL_S}s: "
          f"{'met' if pull['ok'] and pull['seconds'] < DEMO_PULL_GOAL_S else 'MISSED'}  "
          f"(ratio to goal {pull['seconds'] / DEMO_PULL_GOAL_S:.2f})")
    db = Database(f"sqlite:///{data_dir / 'payerfleet.db'}")
    with db.transaction() as s:
        rows = s.execute(text("SELECT a.alias, r.automation, r.started_at, r.finished_at, r.result "
                              "FROM automation_runs r JOIN portal_accounts a ON a.id = r.account_id "
                              "ORDER BY r.created_at")).all()
    db.dispose()
    for alias, automation, started, finished, result in rows:
        took = (datetime.fromisoformat(str(finished)) - datetime.fromisoformat(str(started))).total_seconds()
        result = json.loads(result) if isinstance(result, str) else result
        counts = {k: v for k, v in (result or {}).items() if isinstance(v, int)}
        print(f"  {alias:<14} {automation:<18} {took:6.1f}s  {counts}")


async def main(args) -> int:
    from core import logging as pf_logging

    pf_logging.configure("console", "WARNING")  # as a production worker runs: no debug chatter
    workdir = Path(tempfile.mkdtemp(prefix="fleet-bench-"))
    failed = 0
    try:
        if args.demo:
            await demo_pull(workdir)
        with running(seed=args.seed, claims=max(args.claims, 50)) as sandbox:
            today = date.fromisoformat(sandbox.availity.control("GET", "clock")["now"][:10])
            for handle in sandbox.portals.values():
                handle.set_faults(latency_ms=args.latency_ms)
            report_memory(await context_costs(sandbox))
            for backend_name in args.backends:
                for contexts in args.concurrency:
                    r = await one(backend_name, contexts, sandbox, today, workdir, args.latency_ms / 1000)
                    failed += len(r["failed"])
                    pace = r["pace_per_context"] / r["limit_per_context"]
                    print(f"{r['backend']:<13} contexts={r['contexts']}  {r['claims']:>5} of {r['stored']} claims "
                          f"in {r['runs']} runs ({len(r['failed'])} failed)  {r['seconds']:7.1f}s  "
                          f"{r['claims_per_min']:7.1f} claims/min  {r['cpu_s_per_claim']:.3f} CPU s/claim  |  "
                          f"{r['member_searches']} member searches, {r['single_lookups']} single lookups, "
                          f"{r['not_found']} not found"
                          + (f"  FAILED: {'; '.join(r['failed'])}" if r["failed"] else ""), flush=True)
                    per_lookup = ", ".join(f"{p} {n:.1f}" for p, n in sorted(r["requests_per_lookup"].items()))
                    print(f"    {r['lookups_per_min']:6.1f} lookups/min in all; per context {r['pace_per_context']:5.1f} "
                          f"of a latency-bound {r['limit_per_context']:5.1f}/min (requests per lookup: {per_lookup}; "
                          f"x {args.latency_ms} ms): {pace:.0%}  goal >= {PACE_GOAL:.0%}: "
                          f"{'met' if pace >= PACE_GOAL else 'MISSED'}", flush=True)
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
    parser.add_argument("--demo", action="store_true", help="First time `payerfleet demo` and its pull step.")
    sys.exit(asyncio.run(main(parser.parse_args())))
