"""One Chromium per worker process, a context per run, recycled after N runs or a crash.

Runs get a `LeasedBrowser`: the real Browser behind a thin proxy that remembers every context
the run opens, applies the portal's rate limit to each, and closes them all when the lease
ends — so an automation that forgets (or dies half-way) never leaks a context.
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import structlog

from fleet.rate_limit import PortalLimiter

log = structlog.get_logger()

Launcher = Callable[[], Awaitable[Any]]


@dataclass
class PoolStats:
    launches: int = 0
    recycled: int = 0
    crashes: int = 0
    contexts_opened: int = 0
    contexts_closed: int = 0
    leases: int = 0


class _Slot:
    """A launched browser and how many runs it has served / is serving."""

    def __init__(self, browser: Any):
        self.browser = browser
        self.served = 0
        self.active = 0
        self.retired = False
        self.crashed = False
        browser.on("disconnected", self._on_disconnect)

    def _on_disconnect(self, *_: Any) -> None:
        self.crashed = True

    @property
    def usable(self) -> bool:
        return not (self.retired or self.crashed) and self.browser.is_connected()


class LeasedBrowser:
    """What a run sees as `ctx.browser`: a Browser whose contexts the pool closes for it."""

    def __init__(self, slot: _Slot, stats: PoolStats, limiter: PortalLimiter | None):
        self._slot = slot
        self._stats = stats
        self._limiter = limiter
        self._contexts: list[Any] = []
        # Why the rate limiter could not let a request through (e.g. the store is down), if it could not.
        self.limiter_error: Exception | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._slot.browser, name)

    async def new_context(self, **kwargs: Any) -> Any:
        context = await self._slot.browser.new_context(**kwargs)
        self._contexts.append(context)
        self._stats.contexts_opened += 1
        if self._limiter is not None:
            await context.route("**/*", self._limited)
        return context

    async def new_page(self, **kwargs: Any) -> Any:
        context = await self.new_context(**kwargs)
        return await context.new_page()

    async def _limited(self, route: Any) -> None:
        try:
            await self._limiter.acquire()
        except Exception as exc:  # noqa: BLE001 - kept for the run's outcome; the request must not hang
            self.limiter_error = self.limiter_error or exc
            await route.abort("failed")
            return
        await route.fallback()

    async def _close_all(self) -> None:
        for context in self._contexts:
            try:
                await context.close()
            except Exception:  # noqa: BLE001 - the browser may already be gone; closing is best effort
                pass
            self._stats.contexts_closed += 1
        self._contexts.clear()


async def launch_chromium(executable: str = "") -> tuple[Launcher, Callable[[], Awaitable[None]]]:
    """A launcher for the bootstrap's Chromium and a function that stops Playwright."""
    from playwright.async_api import async_playwright

    from portals.browser import find_chromium

    pw = await async_playwright().start()
    kwargs = find_chromium(executable).launch_kwargs()

    async def launch() -> Any:
        return await pw.chromium.launch(**kwargs)

    return launch, pw.stop


class BrowserPool:
    """Leases the process's Chromium to at most `max_contexts` concurrent runs."""

    def __init__(self, launcher: Launcher, *, max_contexts: int = 2, recycle_after: int = 50,
                 on_close: Callable[[], Awaitable[None]] | None = None):
        self._launch = launcher
        self._on_close = on_close
        self.recycle_after = recycle_after
        self.max_contexts = max_contexts
        self._capacity = asyncio.Semaphore(max_contexts)
        self._slot: _Slot | None = None
        self._retired: list[_Slot] = []
        self._launch_lock = asyncio.Lock()
        self.stats = PoolStats()

    @classmethod
    async def chromium(cls, *, executable: str = "", max_contexts: int = 2, recycle_after: int = 50) -> "BrowserPool":
        launch, stop = await launch_chromium(executable)
        return cls(launch, max_contexts=max_contexts, recycle_after=recycle_after, on_close=stop)

    async def _current(self) -> _Slot:
        async with self._launch_lock:
            slot = self._slot
            if slot is not None and not slot.usable:
                if slot.crashed or not slot.browser.is_connected():
                    self.stats.crashes += 1
                    log.warning("fleet.browser_lost", action="relaunch")
                await self._retire(slot)
                slot = None
            if slot is None:
                slot = _Slot(await self._launch())
                self._slot = slot
                self.stats.launches += 1
            return slot

    async def _retire(self, slot: _Slot) -> None:
        slot.retired = True
        if self._slot is slot:
            self._slot = None
        if slot.active == 0:
            await self._close_browser(slot)
        else:
            self._retired.append(slot)

    async def _close_browser(self, slot: _Slot) -> None:
        try:
            await slot.browser.close()
        except Exception:  # noqa: BLE001 - a crashed browser cannot be closed cleanly
            pass

    @asynccontextmanager
    async def lease(self, limiter: PortalLimiter | None = None) -> AsyncIterator[LeasedBrowser]:
        """A browser for one run; its contexts are closed when the block ends, whatever happens."""
        async with self._capacity:
            slot = await self._current()
            slot.active += 1
            slot.served += 1
            self.stats.leases += 1
            leased = LeasedBrowser(slot, self.stats, limiter)
            try:
                yield leased
            finally:
                await leased._close_all()
                slot.active -= 1
                await self._after_lease(slot)

    def lost(self, leased: LeasedBrowser) -> bool:
        """True when the browser behind this lease crashed or disconnected."""
        return leased._slot.crashed or not leased._slot.browser.is_connected()

    async def _after_lease(self, slot: _Slot) -> None:
        async with self._launch_lock:
            if slot is self._slot and (slot.served >= self.recycle_after or not slot.usable):
                if slot.usable:
                    self.stats.recycled += 1
                else:
                    self.stats.crashes += 1
                await self._retire(slot)
            elif slot in self._retired and slot.active == 0:
                self._retired.remove(slot)
                await self._close_browser(slot)

    async def close(self) -> None:
        async with self._launch_lock:
            for slot in [*self._retired, *([self._slot] if self._slot else [])]:
                await self._close_browser(slot)
            self._retired.clear()
            self._slot = None
        if self._on_close is not None:
            await self._on_close()
