"""The embedded backend: runs in this process on asyncio, SQLite or PostgreSQL, no extra service.

The run rows are the queue: a worker loop picks queued runs in priority order and claims each under
a lease (fleet/leases.py), never two for one account at once (in this process or any other on the
same store), at most `max_contexts` at a time. Runs whose lease lapsed (their worker died) are
requeued at start-up and every `heartbeat_s` after; a live run of another process is never touched.
Several local workers may share one store; to spread runs over machines at scale use Procrastinate.
"""
from __future__ import annotations

import asyncio
import time

import structlog

from core.errors import DatabaseUnavailable
from fleet import leases, runs
from fleet.runtime import FleetRuntime, execute

log = structlog.get_logger()


class LocalBackend:
    name = "local"

    def __init__(self, runtime: FleetRuntime, *, poll_s: float = 2.0):
        self.runtime = runtime
        # How often an idle worker looks for runs submitted by other processes (scheduler, CLI).
        self.poll_s = poll_s
        self._wake = asyncio.Event()
        self._active: dict[asyncio.Task, int | None] = {}
        self._recovered_at: float | None = None

    async def dispatch(self, run_id: str) -> None:
        """Runs are picked up from the table; just wake the loop."""
        self._wake.set()

    def recover(self, *, silent_for_s: float | None = None) -> tuple[list[str], list[str]]:
        """Requeue runs whose lease lapsed (their worker is gone); abandon those interrupted too often."""
        self._recovered_at = time.monotonic()
        return leases.recover_lapsed(self.runtime.db, self.name, self.runtime.config.max_attempts,
                                     silent_for_s=silent_for_s)

    def _recover_now_and_then(self) -> None:
        if self._recovered_at is not None and time.monotonic() - self._recovered_at < self.runtime.config.heartbeat_s:
            return
        try:
            self.recover()
        except DatabaseUnavailable:
            log.error("fleet.queue_unreachable", action="recover")

    async def run_until_idle(self) -> None:
        """Work until no run is queued or running (tests, `payerfleet pull --wait`, the demo)."""
        await self._loop(stop=None, until_idle=True)

    async def run_forever(self, stop: asyncio.Event) -> None:
        await self._loop(stop=stop, until_idle=False)

    async def _loop(self, *, stop: asyncio.Event | None, until_idle: bool) -> None:
        try:
            while stop is None or not stop.is_set():
                self._wake.clear()
                self._recover_now_and_then()
                started = self._start_ready()
                if until_idle and not started and not self._active and not self._waiting():
                    return
                waits = [asyncio.ensure_future(self._wake.wait())]
                if stop is not None:
                    waits.append(asyncio.ensure_future(stop.wait()))
                timeout = 0 if started else self.poll_s
                done, pending = await asyncio.wait([*waits, *self._active], timeout=timeout,
                                                   return_when=asyncio.FIRST_COMPLETED)
                for fut in waits:
                    fut.cancel()
        finally:
            if self._active:
                await asyncio.gather(*self._active, return_exceptions=True)

    def _waiting(self) -> bool:
        """Runs are queued (held up by another process's run of their account) or running elsewhere."""
        try:
            return runs.pending(self.runtime.db, self.name)
        except DatabaseUnavailable:
            log.error("fleet.queue_unreachable", action="poll")
            return False  # nothing this process can wait for; a long-running worker keeps polling anyway

    def _start_ready(self) -> int:
        free = self.runtime.pool.max_contexts - len(self._active)
        if free <= 0:
            return 0
        busy = {acc for acc in self._active.values() if acc is not None}
        try:
            ready = runs.next_queued(self.runtime.db, self.name, busy, free)
        except DatabaseUnavailable:
            log.error("fleet.queue_unreachable", action="poll")
            return 0
        started = 0
        for run in ready:
            try:
                begun = runs.begin(self.runtime.db, run.id, self.runtime.worker_id, self.runtime.config.stalled_after_s)
            except DatabaseUnavailable:
                log.error("fleet.queue_unreachable", action="begin")
                break
            if begun is None:
                continue
            task = asyncio.create_task(execute(self.runtime, begun))
            self._active[task] = begun.account_id
            task.add_done_callback(self._finished)
            started += 1
        return started

    def _finished(self, task: asyncio.Task) -> None:
        self._active.pop(task, None)
        self._wake.set()
