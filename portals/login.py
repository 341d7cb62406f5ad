"""Typing a portal's sign-in refusal: the default wording most portals use, overridable per portal."""
from __future__ import annotations

import re

from portals.errors import AccountLocked, BadCredentials, LoginFailed, MfaRejected, PortalError

LOCKED = re.compile(r"\blocked\b", re.I)
CODE = re.compile(r"\bcode\b", re.I)
CODE_REUSED = re.compile(r"already been used", re.I)
CREDENTIALS = re.compile(r"username or password|password you entered|incorrect|invalid", re.I)


def classify_refusal(message: str) -> PortalError:
    """Locked beats everything; then a code problem; then wrong credentials; else a generic refusal."""
    if LOCKED.search(message):
        return AccountLocked()
    if CODE.search(message):
        return MfaRejected("the portal rejected the one-time code" + (" (already used)" if CODE_REUSED.search(message) else ""))
    if CREDENTIALS.search(message):
        return BadCredentials()
    return LoginFailed("the portal refused the sign-in")


def password_form(root):
    """The one form on the page that has a password field."""
    return root.locator("form").filter(has=root.locator("input[type=password]"))


class PasswordFormLogin:
    """The usual sign-in shape: a form with a password field, then a one-time-code field.

    The user field is the form's first text box whatever its label, so a relabelled field
    ("User ID" -> "Username or email") does not break sign-in; the drift check reports it.
    """

    def __init__(self, signed_in, *, code_label: re.Pattern[str] = CODE, classify=classify_refusal):
        self._signed_in = signed_in
        self._code_label = code_label
        self._classify = classify

    def signed_in(self, page):
        return self._signed_in(page)

    def sign_in_form(self, page):
        return password_form(page).get_by_label("Password", exact=True)

    async def enter_password(self, page, username: str, password: str) -> None:
        form = password_form(page)
        await form.get_by_role("textbox").first.fill(username)
        await form.get_by_label("Password", exact=True).fill(password)
        await form.get_by_role("button").click()

    def totp_field(self, page):
        return page.get_by_label(self._code_label)

    async def enter_totp(self, page, code: str) -> None:
        field = self.totp_field(page)
        await field.fill(code)
        await field.press("Enter")

    def login_error(self, page):
        return page.get_by_role("alert")

    def classify(self, message: str) -> PortalError:
        return self._classify(message)
