"""Signed session cookies with an idle timeout, CSRF tokens, and the role check every route goes through.

The cookie holds the user id, a CSRF token, the time of the last request and a fingerprint of the
password hash; it is signed (itsdangerous) with a key derived from the store's key ring, so it cannot
be forged or edited, and it is re-signed on every response, so it expires after IDLE without use.
The user's role, teams and enabled flag are read from the store on every request: a disabled user,
a changed role or a changed password takes effect at once.
"""
from __future__ import annotations

import hashlib
import hmac
import inspect
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import quote

from itsdangerous import BadSignature, URLSafeSerializer
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from core.store.models import User
from web.access import Viewer

COOKIE = "payerfleet_session"
IDLE = timedelta(minutes=30)
# Marks a route that needs no sign-in (the sign-in page itself).
PUBLIC = "public"
# Marks a route any signed-in user reaches.
SIGNED_IN = "signed_in"
# Pages load nothing from elsewhere and run no script; nobody may frame them.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def password_fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


class Sessions:
    """Reads and writes the session cookie."""

    def __init__(self, key: bytes, *, clock: Callable[[], datetime], idle: timedelta = IDLE, secure: bool = False):
        secret = hmac.new(key, b"payerfleet web session", hashlib.sha256).hexdigest()
        self._signer = URLSafeSerializer(secret, salt="payerfleet-web-session")
        self._clock, self.idle, self._secure = clock, idle, secure

    def load(self, request: Request) -> dict:
        """The session's data, or a new anonymous session when the cookie is missing, forged or idle."""
        raw = request.cookies.get(COOKIE)
        if raw:
            try:
                data = self._signer.loads(raw)
            except BadSignature:
                data = None
            if isinstance(data, dict) and self._clock().timestamp() - data.get("seen", 0) <= self.idle.total_seconds():
                return data
        return self.anonymous()

    def anonymous(self) -> dict:
        return {"csrf": secrets.token_urlsafe(24)}

    def signed_in(self, user: User) -> dict:
        """A new session (new CSRF token too) for a user who just signed in."""
        return {"uid": user.id, "pw": password_fingerprint(user.password_hash), "csrf": secrets.token_urlsafe(24)}

    def save(self, response: Response, data: dict) -> None:
        data = {**data, "seen": int(self._clock().timestamp())}
        response.set_cookie(COOKIE, self._signer.dumps(data), httponly=True, samesite="strict",
                            secure=self._secure, path="/")


def route(permission: str):
    """Wrap a page handler: session, sign-in, role check, CSRF check on POST, sliding idle timeout.

    The handler may be sync (run in a thread: it talks to the store) or async; it finds the user in
    request.state.viewer and a POST's form in request.state.form."""

    def wrap(handler):
        async def endpoint(request: Request) -> Response:
            wb = request.app.state.workbench
            data = wb.sessions.load(request)
            viewer = await run_in_threadpool(wb.viewer, data) if data.get("uid") else None
            if viewer is None and data.get("uid"):
                data = wb.sessions.anonymous()  # user disabled, deleted or password changed
            request.state.session, request.state.viewer = data, viewer
            refused = _refusal(request, permission, viewer)
            if refused is None and request.method == "POST":
                form = await request.form()
                request.state.form = form
                if not hmac.compare_digest(str(form.get("csrf", "")), data["csrf"]):
                    refused = wb.refuse(request, 403, "This form has expired or did not come from this site "
                                                      "(missing or wrong CSRF token). Reload the page and try again.")
            if refused is not None:
                response = refused
            elif inspect.iscoroutinefunction(handler):
                response = await handler(request)
            else:
                response = await run_in_threadpool(handler, request)
            wb.sessions.save(response, request.state.session)
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            return response

        endpoint.permission = permission
        endpoint.__name__ = handler.__name__
        return endpoint

    return wrap


def _refusal(request: Request, permission: str, viewer: Viewer | None) -> Response | None:
    wb = request.app.state.workbench
    if permission == PUBLIC:
        return None
    if viewer is None:
        if request.method == "GET":
            return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
        return wb.refuse(request, 401, "Sign in first.")
    if permission != SIGNED_IN and not viewer.can(permission):
        return wb.refuse(request, 403, f"Your role ({viewer.role}) does not reach this page.")
    return None
