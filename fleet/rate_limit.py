"""Per-portal request limits: in any 60-second window a portal sees at most its configured count."""
from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable

WINDOW_S = 60.0


class SlidingWindowLimiter:
    """At most `per_minute` acquisitions in any WINDOW_S seconds; waiters queue in arrival order."""

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep):
        if per_minute < 1:
            raise ValueError("per_minute must be >= 1")
        self.per_minute = per_minute
        self._clock = clock
        self._sleep = sleep
        self._stamps: deque[float] = deque()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            floor = float("-inf")
            while True:
                now = max(self._clock(), floor)
                while self._stamps and now - self._stamps[0] >= WINDOW_S:
                    self._stamps.popleft()
                if len(self._stamps) < self.per_minute:
                    self._stamps.append(now)
                    return
                # Wait until the oldest request leaves the window; then it has left, whatever
                # float rounding says, so it is dropped and the stamp can be no earlier.
                oldest = self._stamps[0]
                await self._sleep(oldest + WINDOW_S - now)
                self._stamps.popleft()
                floor = oldest + WINDOW_S


class PortalRateLimits:
    """One limiter per portal, shared by every run in this worker process."""

    def __init__(self, limits: dict[str, int], *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep):
        self._limits = {p: n for p, n in limits.items() if n > 0}
        self._clock = clock
        self._sleep = sleep
        self._limiters: dict[str, SlidingWindowLimiter] = {}

    def for_portal(self, portal: str) -> SlidingWindowLimiter | None:
        if portal not in self._limits:
            return None
        if portal not in self._limiters:
            self._limiters[portal] = SlidingWindowLimiter(self._limits[portal], clock=self._clock, sleep=self._sleep)
        return self._limiters[portal]
