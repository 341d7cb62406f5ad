"""The workbench's ASGI app: `create_app(settings)` wires the store, keys, clock and routes."""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from core.config import Settings
from core.crypto import KeyRing
from core.edi.catalogs import Catalog, load_catalog
from core.routing import load_config
from core.routing.config import RoutingConfig
from core.routing.explain import codes_in_words
from core.store.db import Database
from core.store.models import User
from web import dashboard, ops, pages, queues, users
from web.access import Viewer
from web.guard import IDLE, Sessions, password_fingerprint

HERE = Path(__file__).parent


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _money(value) -> str:
    return "" if value is None else f"{Decimal(value):,.2f}"


class Workbench:
    """Everything a page handler needs, built once per app."""

    def __init__(self, settings: Settings, *, clock: Callable[[], datetime], idle: timedelta, secure_cookies: bool,
                 explain_failure: Callable[[str | None], str | None]):
        self.settings = settings
        self.db = Database(settings.db_url)
        self.keys = KeyRing.load(settings, create=True)
        self.clock = clock
        self.config: RoutingConfig = load_config(settings)
        self.catalog: Catalog = load_catalog(settings.data_dir)
        self.explain_failure = explain_failure
        self.sessions = Sessions(hashlib.sha256(self.keys.keys[0]).digest(), clock=clock, idle=idle,
                                 secure=secure_cookies)
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        self.templates.env.filters["money"] = _money
        self.templates.env.globals["team_name"] = lambda t: self.config.table.teams.get(t, t)
        self.templates.env.globals["is_past"] = self.is_past
        self.templates.env.globals["codes_in_words"] = lambda carc, rarc: codes_in_words(self.catalog, carc, rarc)

    def is_past(self, moment: datetime | None) -> bool:
        # SQLite hands back UTC datetimes without their zone.
        return moment is not None and (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)) < self.clock()

    @property
    def teams(self) -> list[str]:
        return list(self.config.table.teams)

    def viewer(self, session: dict) -> Viewer | None:
        """The session's user if still enabled and with the same password; None otherwise."""
        with self.db.transaction() as s:
            user = s.scalar(select(User).where(User.id == session["uid"]))
            if user is None or not user.enabled or password_fingerprint(user.password_hash) != session.get("pw"):
                return None
            return Viewer(user.id, user.name, user.role, frozenset(user.teams))

    def render(self, request: Request, template: str, status: int = 200, **context) -> HTMLResponse:
        context.update(viewer=request.state.viewer, csrf=request.state.session["csrf"], now=self.clock())
        return self.templates.TemplateResponse(request, template, context, status_code=status)

    def refuse(self, request: Request, status: int, message: str) -> Response:
        return self.render(request, "refused.html", status=status, message=message)


def create_app(settings: Settings, *, clock: Callable[[], datetime] = _utcnow, idle: timedelta = IDLE,
               secure_cookies: bool = False,
               explain_failure: Callable[[str | None], str | None] = lambda error_type: None) -> Starlette:
    """The workbench for this store. `explain_failure` names a failed run's consequence (the fleet's
    table; the web layer may not import the fleet, so the caller passes it in)."""
    app = Starlette(routes=[
        *pages.ROUTES, *queues.ROUTES, *dashboard.ROUTES, *ops.ROUTES, *users.ROUTES,
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ])
    app.state.workbench = Workbench(settings, clock=clock, idle=idle, secure_cookies=secure_cookies,
                                    explain_failure=explain_failure)
    return app


def guarded_routes(app: Starlette) -> list[tuple[str, str | None]]:
    """(path, permission) of every page route, for the test that every route is checked."""
    return [(r.path, getattr(r.endpoint, "permission", None)) for r in app.routes if isinstance(r, Route)]
