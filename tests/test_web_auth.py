"""Sign-in, sessions, CSRF, throttling and role checks of the workbench, over HTTP without a browser."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from sqlalchemy import select

from core.routing import load_config
from core.store.models import AuditEvent, LoginAttempt, User
from core.users import MAX_FAILURES_PER_NAME, UserError, add_user, authenticate, update_user
from web.app import create_app, guarded_routes
from web.guard import COOKIE, IDLE, PUBLIC
from web_support import cheap_password_hashes  # noqa: F401

pytestmark = pytest.mark.usefixtures("cheap_password_hashes")

PASSWORD = "correct horse battery"
T0 = datetime(2026, 11, 16, 9, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock():
    return Clock(T0)


@pytest.fixture
def teams():
    return list(load_config().table.teams)


@pytest.fixture
def app(settings, db, clock, teams):
    with db.transaction() as s:
        add_user(s, "bill", PASSWORD, "biller", ["coding"], known_teams=teams, actor="test", now=T0)
        add_user(s, "mona", PASSWORD, "manager", known_teams=teams, actor="test", now=T0)
        add_user(s, "ada", PASSWORD, "admin", known_teams=teams, actor="test", now=T0)
    return create_app(settings, clock=clock)


async def client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1")


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


async def sign_in(c: httpx.AsyncClient, name: str, password: str = PASSWORD) -> httpx.Response:
    page = await c.get("/login")
    return await c.post("/login", data={"name": name, "password": password, "csrf": csrf_of(page.text)})


async def test_sign_in_lands_on_the_roles_start_page_and_sign_out_ends_the_session(app):
    async with await client(app) as c:
        got = await sign_in(c, "mona")
        assert got.status_code == 303 and got.headers["location"] == "/dashboard"
        assert (await c.get("/dashboard")).status_code == 200
        page = await c.get("/dashboard")
        await c.post("/logout", data={"csrf": csrf_of(page.text)})
        after = await c.get("/dashboard")
        assert after.status_code == 303 and after.headers["location"].startswith("/login")


async def test_wrong_password_is_refused_and_recorded(app, db):
    async with await client(app) as c:
        got = await sign_in(c, "bill", "not the password!")
        assert got.status_code == 401 and "Wrong name or password" in got.text
        assert (await c.get("/queues")).status_code == 303
    with db.transaction() as s:
        assert s.scalars(select(LoginAttempt.ok).where(LoginAttempt.name == "bill")).all() == [False]
        assert s.scalar(select(AuditEvent.outcome).where(AuditEvent.action == "user.sign_in")) == "failed"


async def test_repeated_failures_throttle_even_the_right_password_until_the_window_passes(app, clock):
    async with await client(app) as c:
        for _ in range(MAX_FAILURES_PER_NAME):
            assert (await sign_in(c, "bill", "guess-guess-guess")).status_code == 401
        throttled = await sign_in(c, "bill")
        assert throttled.status_code == 429 and "Too many failed sign-ins" in throttled.text
        clock.now += timedelta(minutes=16)
        assert (await sign_in(c, "bill")).status_code == 303


async def test_session_expires_after_the_idle_timeout_but_not_while_used(app, clock):
    async with await client(app) as c:
        await sign_in(c, "bill")
        for _ in range(3):  # each request slides the idle window
            clock.now += IDLE - timedelta(minutes=1)
            assert (await c.get("/queues")).status_code == 200
        clock.now += IDLE + timedelta(seconds=1)
        got = await c.get("/queues")
        assert got.status_code == 303 and got.headers["location"].startswith("/login")


async def test_a_forged_or_edited_cookie_is_an_anonymous_session(app):
    async with await client(app) as c:
        await sign_in(c, "bill")
        value = c.cookies[COOKIE]
        c.cookies.set(COOKIE, value[:-2] + ("A" if value[-1] != "A" else "B") + value[-1])
        assert (await c.get("/queues")).status_code == 303


async def test_disabling_a_user_or_changing_the_password_ends_their_sessions(app, db, clock, teams):
    async with await client(app) as c:
        await sign_in(c, "bill")
        with db.transaction() as s:
            update_user(s, "bill", actor="test", now=T0, known_teams=teams, password="another long password")
        assert (await c.get("/queues")).status_code == 303
        await sign_in(c, "bill", "another long password")
        with db.transaction() as s:
            update_user(s, "bill", actor="test", now=T0, known_teams=teams, enabled=False)
        assert (await c.get("/queues")).status_code == 303
        assert (await sign_in(c, "bill", "another long password")).status_code == 401


async def test_post_without_the_sessions_csrf_token_is_refused(app, db):
    async with await client(app) as c:
        await sign_in(c, "ada")
        missing = await c.post("/admin/users", data={"name": "eve", "password": PASSWORD, "role": "admin"})
        wrong = await c.post("/admin/users", data={"name": "eve", "password": PASSWORD, "role": "admin",
                                                   "csrf": "not-the-token"})
        assert missing.status_code == wrong.status_code == 403
        assert "CSRF" in missing.text
    with db.transaction() as s:
        assert s.scalar(select(User).where(User.name == "eve")) is None


async def test_a_biller_cannot_make_themselves_admin_or_reach_other_roles_pages(app, db):
    async with await client(app) as c:
        await sign_in(c, "bill")
        token = csrf_of((await c.get("/queues")).text)
        for path in ("/admin/users", "/dashboard", "/ops/runs", "/ops/accounts", "/appeals"):
            assert (await c.get(path)).status_code == 403, path
        escalate = await c.post("/admin/users/bill", data={"role": "admin", "csrf": token})
        add = await c.post("/admin/users", data={"name": "bill2", "password": PASSWORD, "role": "admin",
                                                 "csrf": token})
        assert escalate.status_code == add.status_code == 403
        assert (await c.get("/queues/clinical_docs")).status_code == 403
    with db.transaction() as s:
        assert s.scalar(select(User.role).where(User.name == "bill")) == "biller"
        assert s.scalar(select(User).where(User.name == "bill2")) is None


async def test_sign_in_never_redirects_off_site(app):
    async with await client(app) as c:
        page = await c.get("/login")
        got = await c.post("/login", data={"name": "mona", "password": PASSWORD, "csrf": csrf_of(page.text),
                                           "next": "//evil.example/"})
        assert got.headers["location"] == "/dashboard"


def test_every_route_declares_who_may_reach_it(app):
    routes = guarded_routes(app)
    assert routes and all(permission for _, permission in routes), routes
    assert {path for path, permission in routes if permission == PUBLIC} == {"/login"}


def test_user_rules(db, teams):
    with db.transaction() as s:
        with pytest.raises(UserError, match="12 characters"):
            add_user(s, "x", "short", "manager", known_teams=teams, actor="t", now=T0)
        with pytest.raises(UserError, match="needs at least one team"):
            add_user(s, "x", PASSWORD, "biller", known_teams=teams, actor="t", now=T0)
        with pytest.raises(UserError, match="unknown team"):
            add_user(s, "x", PASSWORD, "biller", ["nope"], known_teams=teams, actor="t", now=T0)
        with pytest.raises(UserError, match="unknown role"):
            add_user(s, "x", PASSWORD, "root", known_teams=teams, actor="t", now=T0)
        user = add_user(s, "x", PASSWORD, "ops", known_teams=teams, actor="t", now=T0)
        assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
        assert authenticate(s, "x", PASSWORD, client="c", now=T0).user is user
        assert authenticate(s, "nobody", PASSWORD, client="c", now=T0).outcome == "failed"
