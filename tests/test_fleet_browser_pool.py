"""The browser pool against real Chromium: contexts always closed, recycling, crash recovery, limits."""
import asyncio

import pytest

from fleet.browser_pool import BrowserPool
from fleet.rate_limit import PortalLimiter

pytestmark = pytest.mark.browser


@pytest.fixture
async def make_pool():
    pools = []

    async def build(**kwargs) -> BrowserPool:
        pools.append(await BrowserPool.chromium(**kwargs))
        return pools[-1]

    yield build
    for pool in pools:
        await pool.close()


async def test_contexts_a_run_leaves_open_are_closed_with_the_lease(make_pool):
    pool = await make_pool()
    async with pool.lease() as browser:
        ctx = await browser.new_context()
        page = await ctx.new_page()
        await page.set_content("<p>hi</p>")
        await browser.new_page()  # the implicit-context shortcut is tracked too
        assert len(browser.contexts) == 2
    assert browser.contexts == []
    assert pool.stats.contexts_opened == pool.stats.contexts_closed == 2


async def test_browser_is_recycled_after_n_runs(make_pool):
    pool = await make_pool(recycle_after=2)
    seen = []
    for _ in range(3):
        async with pool.lease() as browser:
            seen.append(browser._slot.browser)
    assert seen[0] is seen[1] and seen[2] is not seen[0]
    assert not seen[0].is_connected() and seen[2].is_connected()
    assert (pool.stats.launches, pool.stats.recycled) == (2, 1)


async def test_a_crashed_browser_is_replaced_and_the_run_knows(make_pool):
    pool = await make_pool()
    async with pool.lease() as browser:
        first = browser._slot.browser
        await browser.new_context()
        await first.close()  # as if Chromium died under the run
        assert pool.lost(browser)
    async with pool.lease() as browser:
        assert browser._slot.browser is not first and browser._slot.browser.is_connected()
        ctx = await browser.new_context()
        await (await ctx.new_page()).set_content("<p>alive</p>")
    assert pool.stats.crashes == 1 and pool.stats.launches == 2


async def test_concurrent_leases_are_bounded(make_pool):
    pool = await make_pool(max_contexts=1)
    release = asyncio.Event()
    entered = []

    async def run(tag: str) -> None:
        async with pool.lease():
            entered.append(tag)
            if tag == "a":
                await release.wait()

    a = asyncio.create_task(run("a"))
    b = asyncio.create_task(run("b"))
    while not entered:
        await asyncio.sleep(0)
    for _ in range(20):
        await asyncio.sleep(0)
    assert entered == ["a"]
    release.set()
    await asyncio.gather(a, b)
    assert entered == ["a", "b"]


async def test_rate_limit_applies_to_every_request_of_the_run(make_pool, db):
    hits = []

    async def handle(reader, writer):
        head = await reader.readuntil(b"\r\n\r\n")
        hits.append(head.split(b" ")[1].decode())
        # An inline icon: otherwise Chromium may fetch /favicon.ico on its own and count as a hit.
        body = b'<link rel="icon" href="data:,"><p>ok</p>'
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n"
                     b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    now = [0.0]
    slept = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = PortalLimiter(db, "availity", 2, clock=lambda: now[0], sleep=fake_sleep)
    pool = await make_pool()
    try:
        async with pool.lease(limiter) as browser:
            page = await (await browser.new_context()).new_page()
            for i in range(3):
                await page.goto(f"http://127.0.0.1:{port}/p{i}")
    finally:
        server.close()
    assert hits == ["/p0", "/p1", "/p2"]
    assert slept == [60.0]  # the third request waited for the first to leave the window


async def test_a_rate_limit_the_store_cannot_answer_fails_the_request_at_once_and_says_why(make_pool):
    from core.errors import DatabaseUnavailable
    from core.store.db import Database

    unreachable = Database("postgresql+psycopg://root@127.0.0.1:9/none?connect_timeout=2")
    pool = await make_pool()
    try:
        async with pool.lease(PortalLimiter(unreachable, "availity", 5)) as browser:
            page = await (await browser.new_context()).new_page()
            with pytest.raises(Exception, match="ERR_FAILED"):
                await page.goto("http://127.0.0.1:9/never-sent", timeout=20_000)
            assert isinstance(browser.limiter_error, DatabaseUnavailable)
    finally:
        unreachable.dispose()
