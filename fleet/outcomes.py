"""Typed run failures and the one consequence each has (DESIGN §5)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from portals.errors import CONSEQUENCES as PORTAL_CONSEQUENCES

# Run-level consequences of the errors that are not portal errors, by class name (looked up along
# the MRO). Portal errors carry their own decided consequence (portals.errors.CONSEQUENCES) and are
# never listed here, so there is one table per error and no two tables can disagree.
#   retry_later : transient; the next scheduled or on-demand run will try again
#   alert       : an operator must look (bad config, unknown failure, key trouble)
#   human_review: money may have moved; a person decides (never retried automatically)
#   none        : the input was wrong, or the account/capability is switched off (its alert is already
#                 open); fix it and submit again
CONSEQUENCES: dict[str, str] = {
    "DatabaseUnavailable": "retry_later",
    "RunTimedOut": "retry_later",
    "BrowserCrashed": "retry_later",
    "KeyMissing": "alert",
    "DecryptionFailed": "alert",
    "AccountNotAuthorised": "alert",
    "AccountDisabled": "none",
    "CapabilityPaused": "none",
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


def carry_out(s: Any, outcome: Outcome, *, run_id: str, automation: str, account: Any,
              capability: str | None) -> list[Any]:
    """Do what the failure's consequence declares, in the caller's transaction; returns the alerts raised.

    disable_account: the account takes no further logins until `payerfleet accounts enable`;
    LayoutChanged: the capability is paused on that portal until its alert is acknowledged;
    any other `alert`: an alert about the account's automation. Messages name types and aliases only.
    """
    from core import alerts
    from core.store.models import PortalAccount, utcnow

    raised = []
    if outcome.consequence == "disable_account":
        row = s.get(PortalAccount, account.id)
        if row is not None and row.enabled:
            row.enabled, row.disabled_reason, row.disabled_at = False, outcome.error_type, utcnow()
        raised.append(alerts.raise_alert(
            s, alerts.ACCOUNT_DISABLED, alerts.CRITICAL, alerts.account_subject(account.alias),
            f"{outcome.error_type} on {account.portal}: account {account.alias} is disabled; fix it on the portal, "
            f"then `payerfleet accounts enable {account.alias}`"))
    elif outcome.error_type == "LayoutChanged":
        cap = capability or "login"
        raised.append(alerts.raise_alert(
            s, alerts.CAPABILITY_PAUSED, alerts.CRITICAL, alerts.capability_subject(account.portal, cap),
            f"LayoutChanged in {cap} on {account.portal} (run {run_id}): {cap} is paused on {account.portal}; "
            f"update the portal package, then acknowledge this alert to resume"))
    elif outcome.consequence == "alert":
        raised.append(alerts.raise_alert(
            s, alerts.RUN_FAILED, alerts.WARNING, f"{alerts.account_subject(account.alias)}/automation:{automation}",
            f"{automation} on {account.alias} failed: {outcome.error_type} (run {run_id})"))
    return [a for a in raised if a is not None]
