"""Per-portal request limits for the whole fleet: in any 60-second window a portal sees at most its
configured count, however many workers on however many machines share the store.

A worker lets a request through only after recording it in `portal_requests`, in a transaction
that first counts the portal's requests of the last WINDOW_S seconds; transactions for one portal
are serialised (a PostgreSQL advisory lock; SQLite has a single writer anyway). The stamps are the
workers' wall clocks, so a fleet keeps its machines' clocks synchronised (NTP), as it must for the
scheduler already. Inside one process, runs wait for the portal's limiter in arrival order.
"""
from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable

from sqlalchemy import delete, func, select, text

from core.store.db import Database
from core.store.models import PortalRequest

WINDOW_S = 60.0
# A computed wait is never shorter than this, so float rounding at the window's edge cannot spin.
MIN_WAIT_S = 0.001


def _lock_key(portal: str) -> int:
    digest = hashlib.sha256(f"payerfleet:portal-requests:{portal}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class PortalLimiter:
    """At most `per_minute` requests to `portal` in any WINDOW_S seconds, counted in the store."""

    def __init__(self, db: Database, portal: str, per_minute: int, *, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep):
        if per_minute < 1:
            raise ValueError("per_minute must be >= 1")
        self.db = db
        self.portal = portal
        self.per_minute = per_minute
        self._clock = clock
        self._sleep = sleep
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Return once this request is recorded inside the limit; waits while the window is full."""
        async with self._lock:
            while True:
                wait = await asyncio.to_thread(self._claim)
                if wait is None:
                    return
                await self._sleep(wait)

    def _claim(self) -> float | None:
        """Record a request now if the window has room, else the seconds until its oldest leaves."""
        table = PortalRequest
        with self.db.transaction() as s:
            if self.db.dialect == "postgresql":
                s.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(self.portal)})
            # Pruning first also takes SQLite's write lock before anything is read.
            s.execute(delete(table).where(table.portal == self.portal, table.at <= self._clock() - WINDOW_S))
            # The clock is read with the lock held, so the stamp is when the request really goes out.
            now = self._clock()
            recent = table.at > now - WINDOW_S
            count = s.scalar(select(func.count()).where(table.portal == self.portal, recent))
            if count < self.per_minute:
                s.add(table(portal=self.portal, at=now))
                return None
            oldest = s.scalar(select(func.min(table.at)).where(table.portal == self.portal, recent))
        return max(oldest + WINDOW_S - now, MIN_WAIT_S)


class PortalRateLimits:
    """One limiter per portal with a limit; portals without one (or with 0) are not limited."""

    def __init__(self, db: Database, limits: dict[str, int], *, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep):
        self._db = db
        self._limits = {p: n for p, n in limits.items() if n > 0}
        self._clock = clock
        self._sleep = sleep
        self._limiters: dict[str, PortalLimiter] = {}

    def for_portal(self, portal: str) -> PortalLimiter | None:
        if portal not in self._limits:
            return None
        if portal not in self._limiters:
            self._limiters[portal] = PortalLimiter(self._db, portal, self._limits[portal], clock=self._clock,
                                                   sleep=self._sleep)
        return self._limiters[portal]
