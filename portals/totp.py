"""One login per TOTP step per account: a code is never handed out twice."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pyotp

STEP_SECONDS = 30


class TotpGuard:
    """Hands out TOTP codes, waiting for the next step when this one was already used.

    The last used step is also persisted with the account's saved session (see PortalSession),
    so a second process honours it too; the fleet's per-account lock serialises the rest.
    `clock` and `wait` are injected so tests never wait on the wall clock.
    """

    def __init__(self, clock: Callable[[], float] = time.time,
                 wait: Callable[[float], Awaitable[None]] = asyncio.sleep, step: int = STEP_SECONDS):
        self._clock = clock
        self._wait = wait
        self._step = step
        self._last: dict[str, int] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def last_step(self, account_key: str) -> int | None:
        return self._last.get(account_key)

    def note_used(self, account_key: str, step: int) -> None:
        """Record a step used elsewhere (read back from the saved session)."""
        self._last[account_key] = max(step, self._last.get(account_key, step))

    async def code(self, account_key: str, secret: str) -> tuple[str, int]:
        """A fresh code and its step; waits (once, at most one step) if this step is spent."""
        lock = self._locks.setdefault(account_key, asyncio.Lock())
        async with lock:
            now = self._clock()
            step = int(now // self._step)
            last = self._last.get(account_key)
            if last is not None and step <= last:
                # A replayed code is rejected (or worse, locks the account): wait for the boundary.
                await self._wait((last + 1) * self._step - now)
                step = last + 1
            self._last[account_key] = step
            return pyotp.TOTP(secret, interval=self._step).at(step * self._step), step


DEFAULT_GUARD = TotpGuard()
