"""One login per TOTP step per account: a code is never handed out twice, by any worker anywhere."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

import pyotp

STEP_SECONDS = 30


class StepStore(Protocol):
    """Where used steps are recorded; the fleet's is the database, so every process and machine shares it."""

    def last(self, account_key: str) -> int | None: ...

    def claim(self, account_key: str, step: int) -> bool:
        """Record `step` as used if it is later than every used one; False if another worker got there first."""
        ...


class MemorySteps:
    """Used steps known to this process only (tests, canary checks, the bench)."""

    def __init__(self) -> None:
        self._last: dict[str, int] = {}

    def last(self, account_key: str) -> int | None:
        return self._last.get(account_key)

    def claim(self, account_key: str, step: int) -> bool:
        if step <= self._last.get(account_key, step - 1):
            return False
        self._last[account_key] = step
        return True


class TotpGuard:
    """Hands out TOTP codes, waiting for the next step when this one was already used.

    Steps are claimed in a StepStore (`using()` binds the fleet's database store), so two processes
    never send one code; the last step is also kept with the saved session (see PortalSession).
    `clock` and `wait` are injected so tests never wait on the wall clock.
    """

    def __init__(self, clock: Callable[[], float] = time.time,
                 wait: Callable[[float], Awaitable[None]] = asyncio.sleep, step: int = STEP_SECONDS,
                 steps: StepStore | None = None):
        self._clock = clock
        self._wait = wait
        self._step = step
        self._steps: StepStore = steps or MemorySteps()
        self._seen: dict[str, int] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def using(self, steps: StepStore) -> "TotpGuard":
        """This guard (same clock, waits and in-process locks) recording steps in `steps`."""
        bound = TotpGuard(self._clock, self._wait, self._step, steps)
        bound._seen, bound._locks = self._seen, self._locks
        return bound

    def last_step(self, account_key: str) -> int | None:
        known = [s for s in (self._seen.get(account_key), self._steps.last(account_key)) if s is not None]
        return max(known) if known else None

    def note_used(self, account_key: str, step: int) -> None:
        """Record a step used elsewhere (read back from the saved session)."""
        self._seen[account_key] = max(step, self._seen.get(account_key, step))

    async def code(self, account_key: str, secret: str) -> tuple[str, int]:
        """A fresh code and its step; waits for the next step boundary while this one is spent."""
        lock = self._locks.setdefault(account_key, asyncio.Lock())
        async with lock:
            while True:
                now = self._clock()
                step = int(now // self._step)
                last = self.last_step(account_key)
                if last is not None and step <= last:
                    # A replayed code is rejected (or worse, locks the account): wait for the boundary.
                    await self._wait((last + 1) * self._step - now)
                    step = last + 1
                if self._steps.claim(account_key, step):
                    self._seen[account_key] = step
                    return pyotp.TOTP(secret, interval=self._step).at(step * self._step), step
                # Another worker claimed this step between our read and our claim: go round.


DEFAULT_GUARD = TotpGuard()
