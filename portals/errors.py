"""Typed portal failures; CONSEQUENCES maps each to the one thing callers do about it.

portals/ knows nothing of core, so this hierarchy has its own root; automations translate
nothing: the fleet reads `consequence` to decide retry, re-login, alert or human review.
"""
from __future__ import annotations

from enum import Enum


class Consequence(str, Enum):
    RETRY_READ = "retry_read"          # back off and retry the read (bounded); never a submit
    RELOGIN_ONCE = "relogin_once"      # log in again once, then repeat the step
    DISABLE_ACCOUNT = "disable_account"  # stop using the account and alert the operator
    ALERT = "alert"                    # stop the run, capture evidence, alert the portal owner
    RETRY_LATER = "retry_later"        # stop the run; the scheduler tries again on the next step
    SKIP_ITEM = "skip_item"            # record the outcome for this item and carry on
    HUMAN_REVIEW = "human_review"      # route to a person; automation must not decide
    RECONCILE = "reconcile"            # outcome unknown: only the reconciler may resolve it


class PortalError(Exception):
    """A portal operation failed."""

    consequence: Consequence = Consequence.ALERT

    def __init__(self, message: str | None = None):
        super().__init__(message or (self.__doc__ or "").strip())


class DuplicatePortal(PortalError):
    """A portal with this name is already registered."""


class UnknownPortal(PortalError):
    """No portal is registered under that name."""


class CapabilityNotSupported(PortalError):
    """The portal does not implement this capability."""


class LoginFailed(PortalError):
    """The portal refused the login."""


class BadCredentials(LoginFailed):
    """The portal rejected the username or password."""

    consequence = Consequence.DISABLE_ACCOUNT


class AccountLocked(LoginFailed):
    """The portal has locked this account."""

    consequence = Consequence.DISABLE_ACCOUNT


class MfaRejected(LoginFailed):
    """The portal rejected the one-time code (wrong seed, clock skew or a replayed code)."""

    consequence = Consequence.RETRY_LATER


class SessionExpired(PortalError):
    """The portal session ended (idle timeout or a second login elsewhere)."""

    consequence = Consequence.RELOGIN_ONCE


class PortalUnavailable(PortalError):
    """The portal answered 5xx, showed a maintenance page or timed out."""

    consequence = Consequence.RETRY_READ


class LayoutChanged(PortalError):
    """An expected landmark is missing: the portal's markup changed."""

    consequence = Consequence.ALERT

    def __init__(self, message: str | None = None, *, landmark: str = ""):
        super().__init__(message or f"landmark {landmark!r} not found: the portal layout changed")
        self.landmark = landmark


class ClaimNotFound(PortalError):
    """The portal has no claim matching the query."""

    consequence = Consequence.SKIP_ITEM


class ActionNotAllowed(PortalError):
    """The portal does not allow this action in the claim's current state."""

    consequence = Consequence.HUMAN_REVIEW


class AlreadySubmitted(PortalError):
    """The portal reports this submission already exists."""

    consequence = Consequence.RECONCILE


class InvalidAttachment(PortalError):
    """The portal refused an attachment (type, size or count)."""

    consequence = Consequence.HUMAN_REVIEW


class InvalidRequest(PortalError):
    """The request does not fit the portal's form (an unknown reason, a missing required field)."""

    consequence = Consequence.HUMAN_REVIEW


class SubmitOutcomeUnknown(PortalError):
    """The submit was clicked but no confirmation was read: the outcome is unknown."""

    consequence = Consequence.RECONCILE


CONSEQUENCES: dict[type[PortalError], Consequence] = {
    cls: cls.consequence
    for cls in (BadCredentials, AccountLocked, MfaRejected, SessionExpired, PortalUnavailable,
                LayoutChanged, ClaimNotFound, ActionNotAllowed, AlreadySubmitted, InvalidAttachment,
                InvalidRequest, SubmitOutcomeUnknown)
}


def consequence_of(exc: BaseException) -> Consequence:
    """The decided consequence of any exception; unknown ones alert."""
    return exc.consequence if isinstance(exc, PortalError) else Consequence.ALERT
