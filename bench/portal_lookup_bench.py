"""Claim-status lookups per session-minute: member search vs per-claim in one session vs a browser + login per claim.

    .venv/bin/python bench/portal_lookup_bench.py                 # UHC-like sandbox, 20 claims each way
    .venv/bin/python bench/portal_lookup_bench.py --portal availity --claims 10 --latency-ms 100

"Bulk" is what claim_status_pull does with stored claims: one session, one member search (member id
+ date of birth + service range, every results page) per (payer, member) group. The claims are
whole members' claims taken in dataset order, the same claims for all three ways.

All ways run in the same process against the same sandbox with the same injected latency on every
request (default 100 ms). "Reused" is what the fleet does: one browser per worker, one context per
run, the account's saved session restored, one login at most. "Naive" launches Chromium, logs in
(password + TOTP) and looks up one claim, per claim. The naive way is flattered: TOTP replay
protection is switched off for it, because a real portal would make every login after the first
wait up to 30 s for a fresh code, and that wait is not counted. Not a test: it prints figures.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.async_api import async_playwright  # noqa: E402

from core.vault import Credentials  # noqa: E402
from fixtures.sandbox import running  # noqa: E402
from portals.browser import find_chromium  # noqa: E402
from portals.capabilities import ClaimQuery  # noqa: E402
from portals.registry import get  # noqa: E402
from portals.session import PortalSession, memory_state_store  # noqa: E402
from portals.totp import TotpGuard  # noqa: E402


def chosen(handle, n: int) -> list:
    """n claims on this portal, whole members first (a practice looks up all of a member's open claims)."""
    ds = handle.state.dataset
    mine = [c for c in ds.claims if (c.payer == "UHC") == (handle.name == "uhc")]
    order = {key: i for i, key in reversed(list(enumerate((c.patient_id, c.payer) for c in mine)))}
    return sorted(mine, key=lambda c: order[(c.patient_id, c.payer)])[:n]


def queries(handle, claims) -> list[ClaimQuery]:
    return [ClaimQuery(claim_number=c.id, payer=c.payer if handle.name == "availity" else "") for c in claims]


async def bulk(pw, launch, portal, handle, creds, claims) -> tuple[float, int, int]:
    """Seconds for one member search per (payer, member) through one session; (seconds, searches, found)."""
    ds = handle.state.dataset
    groups: dict[tuple[str, str], list] = {}
    for c in claims:
        groups.setdefault((c.payer, c.patient_id), []).append(c)
    wanted = {c.id for c in claims}
    found: set[str] = set()
    store, _ = memory_state_store()
    started = time.perf_counter()
    browser = await pw.chromium.launch(**launch)
    try:
        async with PortalSession(browser, portal, base_url=handle.base_url, credentials=creds, state=store,
                                 account_key="bench-bulk") as session:
            lookup = session.capability("claim_status")
            for (payer, patient_id), group in groups.items():
                patient = ds.patient(patient_id)
                rows = await session.read(lambda p=patient, g=group, py=payer: lookup.search_member(
                    p.member_id, p.dob, min(c.dos_from for c in g), max(c.dos_to for c in g), payer=py))
                found |= {r.claim_number for r in rows} & wanted
    finally:
        await browser.close()
    return time.perf_counter() - started, len(groups), len(found)


async def reused(pw, launch, portal, handle, creds, claims) -> float:
    """Seconds for all lookups through one browser and one session (login included)."""
    store, _ = memory_state_store()
    started = time.perf_counter()
    browser = await pw.chromium.launch(**launch)
    try:
        async with PortalSession(browser, portal, base_url=handle.base_url, credentials=creds, state=store,
                                 account_key="bench-reused") as session:
            lookup = session.capability("claim_status")
            for q in claims:
                await session.read(lambda q=q: lookup.lookup(q))
    finally:
        await browser.close()
    return time.perf_counter() - started


async def naive(pw, launch, portal, handle, creds, claims) -> float:
    """Seconds for the same lookups with a new browser and a fresh login per claim."""
    started = time.perf_counter()
    for q in claims:
        browser = await pw.chromium.launch(**launch)
        try:
            store, _ = memory_state_store()
            async with PortalSession(browser, portal, base_url=handle.base_url, credentials=creds, state=store,
                                     account_key="bench-naive", totp=TotpGuard()) as session:
                await session.capability("claim_status").lookup(q)
        finally:
            await browser.close()
    return time.perf_counter() - started


async def main(args) -> None:
    with running(seed=7, claims=300) as sandbox:
        handle = sandbox.portals[args.portal]
        handle.set_faults(latency_ms=args.latency_ms)
        handle.set_hurdles(totp_replay_rejected=False)
        reused_account, naive_account = handle.accounts[0], handle.accounts[1]
        picked = chosen(handle, args.claims)
        claims = queries(handle, picked)
        portal = get(args.portal)
        launch = find_chromium().launch_kwargs()
        reused_creds = Credentials(username=reused_account.username, password=reused_account.password,
                                   totp_secret=reused_account.totp_secret)
        async with async_playwright() as pw:
            member, searches, found = await bulk(pw, launch, portal, handle, reused_creds, picked)
            fast = await reused(pw, launch, portal, handle, reused_creds, claims)
            slow = await naive(pw, launch, portal, handle, Credentials(
                username=naive_account.username, password=naive_account.password,
                totp_secret=naive_account.totp_secret), claims)
    if found != len(claims):
        raise SystemExit(f"bulk mode found {found} of {len(claims)} claims")
    per_min_bulk = len(claims) / member * 60
    per_min_fast = len(claims) / fast * 60
    per_min_slow = len(claims) / slow * 60
    print(f"portal={args.portal} claims={len(claims)} members={searches} injected latency={args.latency_ms} ms per request")
    print(f"bulk member search: {member:7.1f} s  {per_min_bulk:6.1f} claims per session-minute")
    print(f"reused session    : {fast:7.1f} s  {per_min_fast:6.1f} lookups per session-minute")
    print(f"naive per claim   : {slow:7.1f} s  {per_min_slow:6.1f} lookups per minute")
    print(f"ratio bulk/reused : {per_min_bulk / per_min_fast:6.1f}x")
    print(f"ratio reused/naive: {per_min_fast / per_min_slow:6.1f}x")
    print(f"ratio bulk/naive  : {per_min_bulk / per_min_slow:6.1f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--portal", default="uhc", choices=["uhc", "availity"])
    parser.add_argument("--claims", type=int, default=20)
    parser.add_argument("--latency-ms", type=int, default=100)
    asyncio.run(main(parser.parse_args()))
