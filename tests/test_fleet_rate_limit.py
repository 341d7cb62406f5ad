"""Per-portal rate limits: never more than N requests in any 60 s window, across every worker
sharing the store (injected clock; SQLite and PostgreSQL)."""
import asyncio
import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from core.store.db import Database
from core.store.models import PortalRequest
from fleet.rate_limit import WINDOW_S, PortalLimiter, PortalRateLimits

_portals = itertools.count()


class FakeTime:
    def __init__(self):
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _most_in_any_window(stamps: list[float]) -> int:
    stamps = sorted(stamps)
    return max((sum(1 for s in stamps[i:] if s < start + WINDOW_S) for i, start in enumerate(stamps)), default=0)


async def test_the_n_plus_first_request_waits_until_the_first_leaves_the_window(db):
    t = FakeTime()
    limiter = PortalLimiter(db, "availity", 3, clock=t.clock, sleep=t.sleep)
    stamps = []
    for _ in range(4):
        await limiter.acquire()
        stamps.append(t.now)
        t.now += 1
    assert stamps == [1000.0, 1001.0, 1002.0, 1060.0]
    assert t.slept == [57.0]
    # Only the last minute is kept: the first stamp was pruned when the fourth was recorded.
    with db.transaction() as s:
        assert sorted(s.scalars(select(PortalRequest.at))) == [1001.0, 1002.0, 1060.0]


# The store is shared by the examples on purpose: each example limits a portal of its own.
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(limit=st.integers(1, 6), gaps=st.lists(st.floats(0, 40, allow_nan=False), min_size=1, max_size=20))
async def test_no_window_ever_holds_more_than_the_limit(db, limit, gaps):
    t = FakeTime()
    limiter = PortalLimiter(db, f"portal-{next(_portals)}", limit, clock=t.clock, sleep=t.sleep)
    stamps = []
    for gap in gaps:
        t.now += gap
        await limiter.acquire()
        stamps.append(t.now)
    assert _most_in_any_window(stamps) <= limit


async def test_two_workers_sharing_the_store_share_the_limit(db):
    """Two workers (two connection pools, as on two machines) asking at once get one limit between them."""
    t = FakeTime()
    other = Database(db.url)
    try:
        workers = [PortalLimiter(d, "uhc", 3, clock=t.clock, sleep=t.sleep) for d in (db, other)]
        stamps: list[float] = []

        async def worker(limiter: PortalLimiter) -> None:
            for _ in range(3):
                await limiter.acquire()
                stamps.append(t.now)

        await asyncio.gather(*(worker(w) for w in workers))
    finally:
        other.dispose()
    assert len(stamps) == 6
    assert stamps.count(1000.0) == 3  # each worker alone would have let all three of its own through
    assert _most_in_any_window(stamps) <= 3


def test_limits_are_per_portal_and_zero_switches_off(db):
    limits = PortalRateLimits(db, {"availity": 10, "uhc": 0})
    assert limits.for_portal("availity") is limits.for_portal("availity")
    assert limits.for_portal("uhc") is None
    assert limits.for_portal("caqh") is None
    with pytest.raises(ValueError):
        PortalLimiter(db, "availity", 0)
