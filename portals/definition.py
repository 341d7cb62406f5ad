"""What a portal package declares: its login page knowledge, capabilities and landmarks."""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from playwright.async_api import Locator, Page

from portals.capabilities import CAPABILITIES
from portals.errors import PortalError

if TYPE_CHECKING:
    from portals.session import PortalSession


class PortalLogin(Protocol):
    """A portal's login pages: locators and field entry only; PortalSession owns the flow."""

    def signed_in(self, page: Page) -> Locator:
        """Visible only when a session is live (e.g. the "Sign out" control)."""
        ...

    def sign_in_form(self, page: Page) -> Locator:
        """Visible only on the login page (the username field)."""
        ...

    async def enter_password(self, page: Page, username: str, password: str) -> None:
        """Fill and submit the username/password step."""
        ...

    def totp_field(self, page: Page) -> Locator:
        ...

    async def enter_totp(self, page: Page, code: str) -> None:
        ...

    def login_error(self, page: Page) -> Locator:
        """The alert the portal shows when a login step is refused."""
        ...

    def classify(self, message: str) -> PortalError:
        """Map the portal's refusal text to a typed failure (BadCredentials, AccountLocked, ...)."""
        ...


@dataclass(frozen=True)
class Interstitial:
    """A page or overlay that may appear anywhere (terms, notices): `dismiss` clicks past it."""

    name: str
    locator: Callable[[Page], Locator]
    dismiss: Callable[[Page], Awaitable[None]]


@dataclass(frozen=True)
class Landmark:
    """A page whose structure the drift check records; `open` navigates and returns its root."""

    name: str
    open: Callable[["PortalSession"], Awaitable[Locator]]


@dataclass(frozen=True)
class PortalDefinition:
    """Everything the SDK needs to drive one portal; registered by unique name."""

    name: str
    title: str
    login: PortalLogin
    # Capability name (see portals.capabilities.CAPABILITIES) -> factory taking the live session.
    capabilities: Mapping[str, Callable[["PortalSession"], Any]]
    # Page the session opens first; both the login form and the signed-in shell are reachable from it.
    home_path: str = "/"
    # Visible when the portal is down (maintenance page, 5xx page, error banner).
    unavailable: Callable[[Page], Locator] | None = None
    # Visible while the portal is still working (spinner): a timeout then means "slow", not "changed".
    busy: Callable[[Page], Locator] | None = None
    interstitials: tuple[Interstitial, ...] = ()
    # CSS selectors of iframes that host the portal's apps; the login form and outage pages
    # are looked for inside them too (an expired session redirects the frame, not the page).
    app_frames: tuple[str, ...] = ()
    landmarks: tuple[Landmark, ...] = ()
    # URL globs never loaded (analytics); images/fonts are blocked separately by the session.
    blocked_urls: tuple[str, ...] = ()
    # Where the drift check keeps this portal's landmark baselines (usually <package>/landmarks).
    baseline_dir: Path | None = None
    # Default base URL of the real portal (informational; accounts carry their own).
    default_base_url: str = ""
    notes: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        unknown = set(self.capabilities) - set(CAPABILITIES)
        if unknown:
            raise ValueError(f"portal {self.name!r} declares unknown capabilities {sorted(unknown)}")

    def supports(self, capability: str) -> bool:
        return capability in self.capabilities
