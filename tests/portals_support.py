"""Helpers for portal tests: sessions against the sandbox with a TOTP clock that never sleeps."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from core.vault import Credentials
from portals.registry import get
from portals.retry import RetryPolicy
from portals.session import PortalSession, memory_state_store
from portals.totp import TotpGuard

PDF = b"%PDF-1.4\n" + b"1" * 6000


@dataclass
class AnchoredClock:
    """Wall time frozen when the test starts, plus whatever the guard 'waited'. The sandbox checks
    codes against wall time with one step of drift either way, so a waited-for next step is accepted
    without really waiting, and tests never depend on where a step boundary falls."""

    start: float = field(default_factory=time.time)
    offset: float = 0.0
    waits: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.start + self.offset

    async def wait(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.offset += seconds


@dataclass
class RecordedSleep:
    waits: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def credentials(handle, index: int = 0, *, password: str | None = None) -> Credentials:
    a = handle.accounts[index]
    return Credentials(username=a.username, password=password or a.password, totp_secret=a.totp_secret)


def guard() -> tuple[TotpGuard, AnchoredClock]:
    clock = AnchoredClock()
    return TotpGuard(clock=clock, wait=clock.wait), clock


def session(browser, handle, *, index: int = 0, store=None, totp: TotpGuard | None = None,
            sleep: RecordedSleep | None = None, attempts: int = 3, timeout_ms: float = 5_000,
            password: str | None = None, account_key: str | None = None, block_images: bool = True) -> PortalSession:
    """A PortalSession for a sandbox portal; reads retry with recorded (not real) backoff."""
    if store is None:
        store, _ = memory_state_store()
    return PortalSession(
        browser, get(handle.name), base_url=handle.base_url, credentials=credentials(handle, index, password=password),
        state=store, account_key=account_key or f"{handle.name}:{index}", totp=totp or guard()[0],
        retry=RetryPolicy(attempts=attempts, sleep=sleep or RecordedSleep()), timeout_ms=timeout_ms,
        block_images=block_images)


def claim_where(handle, *, kind: str | None = None, category: str | None = None, appealable: bool | None = None):
    """The first sandbox claim on this portal matching the outcome filters."""
    ds = handle.state.dataset
    uhc = handle.name == "uhc"
    for c in ds.claims:
        o = ds.outcomes[c.id]
        if (c.payer == "UHC") != uhc:
            continue
        if kind is not None and o.kind != kind:
            continue
        if category is not None and o.status_category != category:
            continue
        if appealable is not None and o.appealable != appealable:
            continue
        if appealable and (o.finalized_on is None or o.rejection is not None):
            continue
        return c
    raise LookupError("no sandbox claim matches")
