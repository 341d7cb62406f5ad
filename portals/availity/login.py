"""Availity login: user id + password, then a 6-digit authenticator code."""
from __future__ import annotations

import re

from portals.availity import selectors as sel
from portals.errors import AccountLocked, BadCredentials, LoginFailed, MfaRejected, PortalError


class Login:
    def signed_in(self, page):
        return sel.signed_in(page)

    def sign_in_form(self, page):
        return sel.password(sel.login_form(page))

    async def enter_password(self, page, username: str, password: str) -> None:
        form = sel.login_form(page)
        await form.get_by_role("textbox").first.fill(username)
        await sel.password(form).fill(password)
        await form.get_by_role("button").click()

    def totp_field(self, page):
        return sel.code_field(page)

    async def enter_totp(self, page, code: str) -> None:
        field = sel.code_field(page)
        await field.fill(code)
        await field.press("Enter")

    def login_error(self, page):
        return sel.alert(page)

    def classify(self, message: str) -> PortalError:
        return classify_login_error(message)


def classify_login_error(message: str) -> PortalError:
    """The sign-in refusal texts shared by the sandbox portals, mapped to typed failures."""
    if re.search(r"locked", message, re.I):
        return AccountLocked()
    if re.search(r"code", message, re.I):
        return MfaRejected("the portal rejected the one-time code" +
                           (" (already used)" if re.search(r"already been used", message, re.I) else ""))
    if re.search(r"username or password|incorrect|invalid", message, re.I):
        return BadCredentials()
    return LoginFailed("the portal refused the sign-in")
