"""Test doubles for the fleet tests: a fake browser, tiny automations, a runtime builder."""
from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import text

from automations import registry
from core.crypto import KeyRing
from core.store.models import PortalAccount
from fleet.browser_pool import BrowserPool
from fleet.config import FleetConfig
from fleet.crash import CrashInjector
from fleet.rate_limit import PortalRateLimits
from fleet.runtime import FleetRuntime


class FakeContext:
    def __init__(self, browser: "FakeBrowser"):
        self.browser = browser
        self.closed = False

    async def route(self, pattern, handler) -> None:
        self.route_handler = handler

    async def new_page(self):
        return object()

    async def close(self) -> None:
        self.closed = True


class FakeBrowser:
    """Just enough of a Playwright Browser for the pool: contexts, connect state, close."""

    def __init__(self):
        self.contexts: list[FakeContext] = []
        self.connected = True
        self._listeners: list = []

    def on(self, event: str, cb) -> None:
        self._listeners.append(cb)

    def is_connected(self) -> bool:
        return self.connected

    async def new_context(self, **kwargs) -> FakeContext:
        ctx = FakeContext(self)
        self.contexts.append(ctx)
        return ctx

    def crash(self) -> None:
        self.connected = False
        for cb in self._listeners:
            cb(self)

    async def close(self) -> None:
        self.connected = False


def fake_pool(max_contexts: int = 2, recycle_after: int = 50) -> BrowserPool:
    launched: list[FakeBrowser] = []

    async def launch() -> FakeBrowser:
        launched.append(FakeBrowser())
        return launched[-1]

    pool = BrowserPool(launch, max_contexts=max_contexts, recycle_after=recycle_after)
    pool.launched = launched  # type: ignore[attr-defined]
    return pool


class NullEvidence:
    def __init__(self):
        self.events: list[tuple[str, str]] = []

    def record_event(self, step: str, event: str, **_: Any) -> None:
        self.events.append((step, event))


@dataclass
class Probe:
    """Shared record of what the test automations did, for assertions."""

    order: list[str] = field(default_factory=list)
    active: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    max_per_account: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    max_total: int = 0
    total: int = 0
    gate: asyncio.Event | None = None
    # Set when a run reaches its last line (tests that drive a long-running worker wait on it).
    finished: asyncio.Event = field(default_factory=asyncio.Event)


class EchoAutomation:
    """Opens a context, passes two checkpoints, yields a few times, returns its params."""

    name = "fleet_echo"
    checkpoints = ("opened", "done")

    def __init__(self, probe: Probe):
        self.probe = probe

    async def run(self, ctx, params: dict) -> dict:
        p = self.probe
        acc = ctx.account.id
        p.active[acc] += 1
        p.total += 1
        p.max_per_account[acc] = max(p.max_per_account[acc], p.active[acc])
        p.max_total = max(p.max_total, p.total)
        try:
            p.order.append(params.get("tag", ""))
            await ctx.browser.new_context()
            ctx.checkpoint("opened")
            if p.gate is not None:
                await p.gate.wait()
            for _ in range(5):
                await asyncio.sleep(0)  # yield to the loop so concurrent runs interleave
            if params.get("crash_browser"):
                ctx.browser._slot.browser.crash()
                raise RuntimeError("Target page, context or browser has been closed")
            if params.get("fail"):
                raise _error(params["fail"])
            ctx.checkpoint("done")
            p.finished.set()
            return {"echo": params.get("tag", ""), "today": ctx.today.isoformat()}
        finally:
            p.active[acc] -= 1
            p.total -= 1


def _error(name: str) -> Exception:
    from core.errors import PayerfleetError
    from portals import errors as portal_errors

    cls = getattr(portal_errors, name, None)
    if cls is not None:
        return cls()
    if name == "Boom":
        return ZeroDivisionError("boom")
    return type(name, (PayerfleetError,), {"__doc__": f"{name} happened."})()


def use_test_automations(monkeypatch, probe: Probe) -> dict[str, Any]:
    """Make `fleet_echo` resolvable by name (outside the product registry)."""
    table = {"fleet_echo": EchoAutomation(probe)}
    real_names = registry.names
    monkeypatch.setattr(registry, "names", lambda: sorted({*real_names(), *table}))
    return table


def make_runtime(db, settings, automations: dict[str, Any], *, pool: BrowserPool | None = None,
                 crash: CrashInjector | None = None, **config: Any) -> FleetRuntime:
    cfg = FleetConfig(**config)
    return FleetRuntime(db=db, settings=settings, keys=KeyRing.load(settings, create=True), config=cfg,
                        pool=pool or fake_pool(cfg.max_contexts, cfg.recycle_after),
                        limits=PortalRateLimits(db, cfg.rate_limits), crash=crash or CrashInjector(),
                        evidence_factory=lambda rt, run_id, account: NullEvidence(),
                        today=lambda: date(2026, 11, 27), resolve=lambda name: automations[name])


def add_account(db, alias: str, portal: str = "availity", authorised: bool = True) -> int:
    with db.transaction() as s:
        # Not loopback: the authorised flag decides, as for a real portal (.invalid never resolves).
        acc = PortalAccount(alias=alias, portal=portal, base_url=f"https://{alias}.portal.invalid/", authorised=authorised)
        s.add(acc)
        s.flush()
        return acc.id


def clear_procrastinate(db) -> None:
    with db.engine.begin() as conn:
        if conn.execute(text("SELECT to_regclass('procrastinate_jobs')")).scalar() is not None:
            conn.execute(text("TRUNCATE procrastinate_jobs, procrastinate_workers, procrastinate_periodic_defers "
                              "RESTART IDENTITY CASCADE"))
