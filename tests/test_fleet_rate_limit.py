"""Per-portal rate limits: never more than N requests in any 60 s window (injected clock)."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleet.rate_limit import WINDOW_S, PortalRateLimits, SlidingWindowLimiter


class FakeTime:
    def __init__(self):
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def test_the_n_plus_first_request_waits_until_the_first_leaves_the_window():
    t = FakeTime()
    limiter = SlidingWindowLimiter(3, clock=t.clock, sleep=t.sleep)
    stamps = []
    for _ in range(4):
        await limiter.acquire()
        stamps.append(t.now)
        t.now += 1
    assert stamps == [1000.0, 1001.0, 1002.0, 1060.0]
    assert t.slept == [57.0]


@settings(max_examples=60, deadline=None)
@given(limit=st.integers(1, 6), gaps=st.lists(st.floats(0, 40, allow_nan=False), min_size=1, max_size=30))
async def test_no_window_ever_holds_more_than_the_limit(limit, gaps):
    t = FakeTime()
    limiter = SlidingWindowLimiter(limit, clock=t.clock, sleep=t.sleep)
    stamps = []
    for gap in gaps:
        t.now += gap
        await limiter.acquire()
        stamps.append(t.now)
    for i, start in enumerate(stamps):
        assert sum(1 for s in stamps[i:] if s < start + WINDOW_S) <= limit


def test_limits_are_per_portal_and_zero_switches_off():
    limits = PortalRateLimits({"availity": 10, "uhc": 0})
    assert limits.for_portal("availity") is limits.for_portal("availity")
    assert limits.for_portal("uhc") is None
    assert limits.for_portal("caqh") is None
    with pytest.raises(ValueError):
        SlidingWindowLimiter(0)
