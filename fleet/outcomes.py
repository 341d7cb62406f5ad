"""Typed run failures and the one consequence each has (DESIGN §5)."""
from __future__ import annotations

from dataclasses import dataclass

# Exception class name -> consequence. Looked up along the exception's MRO, so a portal's own
# subclass of e.g. PortalUnavailable inherits its parent's consequence.
#   retry_later : transient; the next scheduled or on-demand run will try again
#   relogin     : the session is gone; the next run logs in afresh
#   alert       : an operator must look (layout changed, locked account, bad config)
#   human_review: money may have moved; a person decides (never retried automatically)
#   none        : the input was wrong; fix it and submit again
CONSEQUENCES: dict[str, str] = {
    "PortalUnavailable": "retry_later",
    "PortalTimeout": "retry_later",
    "RateLimited": "retry_later",
    "DatabaseUnavailable": "retry_later",
    "RunTimedOut": "retry_later",
    "BrowserCrashed": "retry_later",
    "SessionExpired": "relogin",
    "LayoutChanged": "alert",
    "AccountLocked": "alert",
    "BadCredentials": "alert",
    "MfaRejected": "alert",
    "KeyMissing": "alert",
    "DecryptionFailed": "alert",
    "AccountNotAuthorised": "alert",
    "RunAbandoned": "alert",
    "InternalError": "alert",
    "SubmissionNotAllowed": "human_review",
    "SubmissionInDoubt": "human_review",
    "InvalidParams": "none",
    "ClaimNotFound": "none",
    "ActionNotAllowed": "none",
    "NotFound": "none",
    "UnknownAutomation": "none",
}


@dataclass(frozen=True)
class Outcome:
    # Class name of the error, stored in automation_runs.error_type.
    error_type: str
    consequence: str
    # The error's message: typed errors carry codes and opaque ids, never PHI.
    message: str


def classify(exc: BaseException) -> Outcome:
    """The typed outcome of a failed run; anything untyped is an InternalError to alert on."""
    from core.errors import PayerfleetError

    declared = getattr(exc, "consequence", None)
    if declared is not None:  # portal errors carry their own decided consequence
        return Outcome(type(exc).__name__, getattr(declared, "value", str(declared)), str(exc))
    for cls in type(exc).__mro__:
        if cls.__name__ in CONSEQUENCES:
            return Outcome(type(exc).__name__, CONSEQUENCES[cls.__name__], str(exc))
    if isinstance(exc, PayerfleetError):
        return Outcome(type(exc).__name__, "alert", str(exc))
    if type(exc).__module__.startswith("playwright"):
        # Playwright's own errors (target closed, timeouts) can quote page text: keep only the type.
        return Outcome("BrowserError", "retry_later", f"playwright {type(exc).__name__}")
    return Outcome("InternalError", "alert", f"unexpected {type(exc).__name__}")


def consequence_of(error_type: str | None) -> str | None:
    return None if error_type is None else CONSEQUENCES.get(error_type, "alert")
