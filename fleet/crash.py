"""Injectable crash points: PAYERFLEET_CRASH_AT names checkpoints at which the process SIGKILLs itself.

Format: comma-separated `automation:checkpoint` items, each optionally `@n` to die on the n-th
time that point is reached in this process (default 1st), e.g.
`PAYERFLEET_CRASH_AT=reconsideration_submit:after_submit_click`. SIGKILL, not an exception:
nothing gets to clean up, exactly like a power cut or the OOM killer.
"""
from __future__ import annotations

import os
import signal
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from fleet.errors import InvalidCrashPoint

ENV = "PAYERFLEET_CRASH_AT"


@dataclass(frozen=True)
class CrashPoint:
    automation: str
    checkpoint: str
    # Die on the n-th arrival at this point (1-based).
    nth: int = 1

    def __str__(self) -> str:
        return f"{self.automation}:{self.checkpoint}" + (f"@{self.nth}" if self.nth != 1 else "")


def parse(value: str) -> tuple[CrashPoint, ...]:
    points = []
    for item in (p.strip() for p in value.split(",")):
        if not item:
            continue
        head, at, nth = item.partition("@")
        automation, sep, checkpoint = head.partition(":")
        if not sep or not automation or not checkpoint or (at and (not nth.isdigit() or int(nth) < 1)):
            raise InvalidCrashPoint(f"bad crash point {item!r}; expected automation:checkpoint[@n]")
        points.append(CrashPoint(automation, checkpoint, int(nth) if nth else 1))
    return tuple(points)


def _sigkill() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class CrashInjector:
    """Counts arrivals per checkpoint and kills the process at a configured one."""

    def __init__(self, points: tuple[CrashPoint, ...] = (), kill: Callable[[], None] = _sigkill):
        self.points = points
        self._kill = kill
        self._seen: Counter[tuple[str, str]] = Counter()

    @classmethod
    def from_env(cls) -> "CrashInjector":
        return cls(parse(os.environ.get(ENV, "")))

    def reached(self, automation: str, checkpoint: str) -> None:
        self._seen[(automation, checkpoint)] += 1
        for point in self.points:
            if (point.automation, point.checkpoint) == (automation, checkpoint) \
                    and self._seen[(automation, checkpoint)] == point.nth:
                self._kill()
