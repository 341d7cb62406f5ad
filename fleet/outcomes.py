"""Typed run failures and the one consequence each has (DESIGN §5)."""
from __future__ import annotations

from dataclasses import dataclass

from portals.errors import CONSEQUENCES as PORTAL_CONSEQUENCES

# Run-level consequences of the errors that are not portal errors, by class name (looked up along
# the MRO). Portal errors carry their own decided consequence (portals.errors.CONSEQUENCES) and are
# never listed here, so there is one table per error and no two tables can disagree.
#   retry_later : transient; the next scheduled or on-demand run will try again
#   alert       : an operator must look (bad config, unknown failure, key trouble)
#   human_review: money may have moved; a person decides (never retried automatically)
#   none        : the input was wrong; fix it and submit again
CONSEQUENCES: dict[str, str] = {
    "DatabaseUnavailable": "retry_later",
    "RunTimedOut": "retry_later",
    "BrowserCrashed": "retry_later",
    "KeyMissing": "alert",
    "DecryptionFailed": "alert",
    "AccountNotAuthorised": "alert",
    "RunAbandoned": "alert",
    "InternalError": "alert",
    "SubmissionNotAllowed": "human_review",
    "InvalidParams": "none",
    "NotFound": "none",
    "UnknownAutomation": "none",
}
_PORTAL_CONSEQUENCES = {cls.__name__: c.value for cls, c in PORTAL_CONSEQUENCES.items()}


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
    """The consequence recorded for a stored error type (the same answer classify gave)."""
    if error_type is None:
        return None
    return _PORTAL_CONSEQUENCES.get(error_type) or CONSEQUENCES.get(error_type, "alert")
