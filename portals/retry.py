"""Bounded retry for reads only: exponential backoff with jitter on PortalUnavailable."""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from portals.errors import PortalUnavailable

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How reads are retried; submits never go through this."""

    attempts: int = 4
    # Backoff is random in [0, min(max_wait, multiplier * 2**n)] seconds (full jitter).
    multiplier: float = 0.5
    max_wait: float = 8.0
    # Injected so tests can record the waits instead of waiting.
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    def retrying(self) -> AsyncRetrying:
        return AsyncRetrying(
            stop=stop_after_attempt(self.attempts),
            wait=wait_random_exponential(multiplier=self.multiplier, max=self.max_wait),
            retry=retry_if_exception_type(PortalUnavailable),
            sleep=self.sleep,
            reraise=True,
        )

    async def call(self, fn: Callable[[], Awaitable[T]]) -> T:
        async for attempt in self.retrying():
            with attempt:
                return await fn()
        raise AssertionError("unreachable: tenacity reraises")  # pragma: no cover
