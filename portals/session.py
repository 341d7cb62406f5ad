"""A portal session: one browser context per run, saved state restored and saved, typed failures.

The caller supplies credentials and a state store (automations pass the vault's methods), so
portals/ never touches the database. The session always closes what it opens.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar
from urllib.parse import urljoin

import structlog
from playwright.async_api import Browser, BrowserContext, Locator, Page
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout

from portals.capabilities import Attachment, Download
from portals.definition import PortalDefinition
from portals.errors import (
    CapabilityNotSupported,
    PortalError,
    LayoutChanged,
    LoginFailed,
    PortalUnavailable,
    SessionExpired,
)
from portals.retry import RetryPolicy
from portals.totp import DEFAULT_GUARD, TotpGuard

log = structlog.get_logger()
T = TypeVar("T")
STATE_VERSION = 1
BLOCKED_RESOURCE_TYPES = frozenset({"image", "font", "media"})
# Interstitials in a row before the session calls it a loop (terms, then a notice, ...).
MAX_INTERSTITIALS = 4


class Secret(Protocol):
    def get_secret_value(self) -> str: ...


class CredentialsLike(Protocol):
    """Duck type of core.vault.Credentials (portals/ does not import core)."""

    username: Secret
    password: Secret
    totp_secret: Secret | None


@dataclass(frozen=True)
class StateStore:
    """Where the account's saved session lives: the caller's load/save (the vault, encrypted)."""

    load: Callable[[], dict | None]
    save: Callable[[dict], None]


def memory_state_store(initial: dict | None = None) -> tuple[StateStore, dict]:
    """A StateStore backed by a dict (tests, canary checks); returns the store and its box."""
    box: dict = {"state": initial}
    return StateStore(lambda: box["state"], lambda s: box.__setitem__("state", s)), box


async def first_visible(probes: Mapping[str, Locator], timeout_ms: float) -> str | None:
    """Wait until one of the locators is visible and say which; None on timeout. No guessing.

    Locators may live in different frames (an iframe app and the top-level login page), which
    `Locator.or_` cannot combine, so each probe auto-waits in its own task and the first wins.
    """
    items = list(probes.items())
    for _ in range(3):
        tasks = [asyncio.ensure_future(loc.first.wait_for(state="visible", timeout=timeout_ms)) for _, loc in items]
        try:
            done, _pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                if not task.done():
                    task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        errors = [t.exception() for t in done]
        if errors and all(isinstance(e, PlaywrightTimeout) for e in errors):
            return None
        for name, loc in items:
            if await loc.first.is_visible():
                return name
        # What appeared vanished before we looked, or a frame navigated away: wait again.
    return None


class PortalSession:
    """`async with PortalSession(...) as s:` gives a logged-in page and the portal's capabilities."""

    def __init__(self, browser: Browser, portal: PortalDefinition, *, base_url: str,
                 credentials: CredentialsLike, state: StateStore, account_key: str,
                 totp: TotpGuard = DEFAULT_GUARD, retry: RetryPolicy = RetryPolicy(),
                 block_images: bool = True, timeout_ms: float = 10_000,
                 on_failure: Callable[["PortalSession", PortalError], Awaitable[None]] | None = None):
        self.browser = browser
        self.portal = portal
        self.base_url = base_url.rstrip("/") + "/"
        self._credentials = credentials
        self._state = state
        self.account_key = account_key
        self._totp = totp
        self.retry = retry
        self._block_images = block_images
        self.timeout_ms = timeout_ms
        # Called with the page still open when opening the session fails (evidence of a failed login).
        self._on_failure = on_failure
        self.context: BrowserContext | None = None
        self._page: Page | None = None
        self.logins = 0
        self.restored = False
        # The capability last asked for: a failure is charged to it (the fleet pauses that capability).
        self.capability_in_use: str | None = None
        # HTTP status of the last document a frame loaded: a 5xx after a click (a form POST) is the
        # portal being down, not its layout changing.
        self._document_status = 0

    # -- lifecycle ---------------------------------------------------------------------
    async def __aenter__(self) -> "PortalSession":
        envelope = self._state.load() or {}
        if envelope.get("totp_step") is not None:
            self._totp.note_used(self.account_key, int(envelope["totp_step"]))
        storage = envelope.get("storage_state") if envelope.get("version") == STATE_VERSION else None
        self.context = await self.browser.new_context(storage_state=storage, accept_downloads=True)
        self.context.set_default_timeout(self.timeout_ms)
        try:
            await self._install_routes()
            self._page = await self.context.new_page()
            self._page.on("response", self._note_document)
            self.restored = storage is not None
            # Logging in is a read: a 5xx or maintenance page is retried like any other (bounded backoff).
            await self.retry.call(self._log_in_or_start_over)
        except PortalError as exc:
            if self._on_failure is not None and self._page is not None:
                await self._on_failure(self, exc)
            await self.close()
            raise
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self.context is not None:
            context, self.context, self._page = self.context, None, None
            try:
                await context.close()
            except PlaywrightError:
                pass  # the browser already went away; nothing left to close

    def _note_document(self, response: Any) -> None:
        if response.request.resource_type == "document":
            self._document_status = response.status

    @property
    def page(self) -> Page:
        if self._page is None:
            raise RuntimeError("PortalSession is not open")
        return self._page

    def url(self, path: str) -> str:
        return urljoin(self.base_url, path.lstrip("/"))

    async def _install_routes(self) -> None:
        assert self.context is not None
        for glob in self.portal.blocked_urls:
            await self.context.route(glob, lambda route: route.abort())
        if self._block_images:
            async def block(route):
                if route.request.resource_type in BLOCKED_RESOURCE_TYPES:
                    await route.abort()
                else:
                    await route.fallback()
            await self.context.route("**/*", block)

    # -- login -------------------------------------------------------------------------
    async def ensure_logged_in(self) -> None:
        """Open home; if the saved session is live, keep it, else log in and save the new state."""
        await self.goto(self.portal.home_path, check_session=False)
        login = self.portal.login
        probes = {"in": login.signed_in(self.page), "form": login.sign_in_form(self.page)}
        state = await self.which(probes, "home")
        if state == "in":
            log.info("portal.session_restored", portal=self.portal.name, account=self.account_key)
            return
        await self.login(on_login_page=True)

    async def _log_in_or_start_over(self) -> None:
        """ensure_logged_in; after a failure half-way (say, past the password, before the code) the next
        try starts from a fresh sign-in, not from whatever step the portal's session was left at."""
        try:
            await self.ensure_logged_in()
        except PortalUnavailable:
            assert self.context is not None
            await self.context.clear_cookies()
            raise

    async def login(self, *, on_login_page: bool = False) -> None:
        """Log in with username, password and a fresh TOTP code; save the new state."""
        page, login = self.page, self.portal.login
        creds = self._credentials
        if not on_login_page:
            await self.goto(self.portal.home_path, check_session=False)
            if await self.which({"in": login.signed_in(page), "form": login.sign_in_form(page)}, "login form") == "in":
                return
        await login.enter_password(page, creds.username.get_secret_value(), creds.password.get_secret_value())
        step = await self.which({"in": login.signed_in(page), "totp": login.totp_field(page),
                                  "error": login.login_error(page)}, "login result")
        totp_step = None
        if step == "totp":
            if creds.totp_secret is None:
                raise LoginFailed("the portal asks for a one-time code but the account has no TOTP seed")
            code, totp_step = await self._totp.code(self.account_key, creds.totp_secret.get_secret_value())
            await login.enter_totp(page, code)
            step = await self.which({"in": login.signed_in(page), "error": login.login_error(page)}, "mfa result")
        if step == "error":
            message = (await login.login_error(page).first.inner_text()).strip()
            raise login.classify(message)
        self.logins += 1
        await self._save_state(totp_step)
        log.info("portal.logged_in", portal=self.portal.name, account=self.account_key, mfa=totp_step is not None)

    async def _save_state(self, totp_step: int | None) -> None:
        assert self.context is not None
        step = totp_step if totp_step is not None else self._totp.last_step(self.account_key)
        self._state.save({"version": STATE_VERSION, "storage_state": await self.context.storage_state(),
                          "totp_step": step})

    # -- navigation and waiting ----------------------------------------------------------
    async def goto(self, path: str, *, check_session: bool = True) -> None:
        """Navigate; 5xx or a network timeout is PortalUnavailable, the login page SessionExpired."""
        await self._navigate(self.page, path)
        if check_session and await self.portal.login.sign_in_form(self.page).first.is_visible():
            raise SessionExpired()

    async def goto_frame(self, name: str, path: str) -> None:
        """Navigate an app iframe (by name); same failure mapping as goto."""
        frame = self.page.frame(name=name)
        if frame is None:
            raise LayoutChanged(landmark=f"iframe {name}")
        await self._navigate(frame, path)

    async def _navigate(self, target: Any, path: str) -> None:
        """Load path in a page or frame; a timeout, network failure or 5xx is PortalUnavailable."""
        try:
            response = await target.goto(self.url(path), wait_until="domcontentloaded")
        except PlaywrightTimeout as exc:
            raise PortalUnavailable(f"{self.portal.name}: navigation timed out") from exc
        except PlaywrightError as exc:
            raise PortalUnavailable(f"{self.portal.name}: navigation failed ({exc.message.splitlines()[0]})") from exc
        if response is not None and response.status >= 500:
            raise PortalUnavailable(f"{self.portal.name}: HTTP {response.status}")

    async def expect(self, target: Locator, landmark: str) -> Locator:
        """Wait for a landmark, telling apart: present, logged out, portal down, still busy, changed."""
        await self.which({"target": target}, landmark)
        return target

    async def which(self, probes: Mapping[str, Locator], landmark: str) -> str:
        """Which probe shows; clicks past interstitials, tells logged-out / down / busy / changed apart."""
        page = self.page
        all_probes = dict(probes)
        roots = [page, *(page.frame_locator(sel) for sel in self.portal.app_frames)]
        for i, root in enumerate(roots):
            if "form" not in probes and "in" not in probes:
                all_probes[f"__login{i}"] = self.portal.login.sign_in_form(root)
            if self.portal.unavailable is not None:
                all_probes[f"__down{i}"] = self.portal.unavailable(root)
        interstitials = {f"__i{i}": item for i, item in enumerate(self.portal.interstitials)}
        for key, item in interstitials.items():
            all_probes[key] = item.locator(page)
        for _ in range(MAX_INTERSTITIALS + 1):
            found = await first_visible(all_probes, self.timeout_ms)
            if found in interstitials:
                log.info("portal.interstitial", portal=self.portal.name, interstitial=interstitials[found].name)
                await interstitials[found].dismiss(page)
                continue
            break
        else:
            raise LayoutChanged(f"{self.portal.name}: interstitials keep coming back", landmark=landmark)
        if found is not None and found.startswith("__login"):
            raise SessionExpired(f"{self.portal.name}: logged out while waiting for {landmark!r}")
        if found is not None and found.startswith("__down"):
            raise PortalUnavailable(f"{self.portal.name}: portal reports it is unavailable")
        if found is None:
            if self._document_status >= 500:
                raise PortalUnavailable(f"{self.portal.name}: HTTP {self._document_status} while waiting for {landmark!r}")
            if self.portal.busy is not None and await self.portal.busy(page).first.is_visible():
                raise PortalUnavailable(f"{self.portal.name}: still loading {landmark!r} after {self.timeout_ms} ms")
            raise LayoutChanged(landmark=landmark)
        return found

    # -- calling capabilities ------------------------------------------------------------
    def capability(self, name: str) -> Any:
        """The portal's implementation of a capability, bound to this session."""
        factory = self.portal.capabilities.get(name)
        self.capability_in_use = name
        if factory is None:
            raise CapabilityNotSupported(f"portal {self.portal.name!r} does not implement {name!r}")
        return factory(self)

    async def read(self, fn: Callable[[], Awaitable[T]]) -> T:
        """Run a read: retried with backoff on PortalUnavailable; re-login once on SessionExpired."""
        relogged = False
        while True:
            try:
                return await self.retry.call(fn)
            except SessionExpired:
                if relogged:
                    raise
                relogged = True
                log.info("portal.relogin", portal=self.portal.name, account=self.account_key)
                await self.retry.call(self._log_in_or_start_over)

    # -- files ---------------------------------------------------------------------------
    async def download(self, click: Callable[[], Awaitable[None]]) -> Download:
        """Click something that downloads a file, in this page or in a popup it opens; close the popup."""
        assert self.context is not None
        loop = asyncio.get_running_loop()
        done: asyncio.Future = loop.create_future()
        popups: list[Page] = []

        def on_download(download) -> None:
            if not done.done():
                done.set_result(download)

        def on_page(page: Page) -> None:
            popups.append(page)
            page.on("download", on_download)

        self.page.on("download", on_download)
        self.context.on("page", on_page)
        try:
            await click()
            try:
                download = await asyncio.wait_for(done, self.timeout_ms / 1000)
            except asyncio.TimeoutError as exc:
                raise PortalUnavailable(f"{self.portal.name}: download did not start") from exc
            path = await download.path()
            failure = await download.failure()
            if failure:
                raise PortalUnavailable(f"{self.portal.name}: download failed ({failure})")
            data = await asyncio.to_thread(path.read_bytes)
            return Download(download.suggested_filename, data)
        finally:
            self.page.remove_listener("download", on_download)
            self.context.remove_listener("page", on_page)
            for popup in popups:
                if not popup.is_closed():
                    await popup.close()

    async def popup(self, click: Callable[[], Awaitable[None]]) -> Page:
        """Click something that opens a new tab and return it loaded (caller closes it)."""
        async with self.page.expect_popup() as info:
            await click()
        popup = await info.value
        await popup.wait_for_load_state("domcontentloaded")
        return popup

    @staticmethod
    async def upload(input_: Locator, files: tuple[Attachment, ...]) -> None:
        await input_.set_input_files([{"name": f.name, "mimeType": f.media_type, "buffer": f.data} for f in files])
