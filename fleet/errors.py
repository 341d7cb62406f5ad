"""Fleet errors: each is a typed run outcome or a refusal with one decided consequence."""
from core.errors import PayerfleetError


class FleetError(PayerfleetError):
    """The fleet could not complete the operation."""


class UnknownAccount(FleetError):
    """No enabled portal account has that alias."""


class AccountNotAuthorised(FleetError):
    """The operator has not confirmed automated access for this account (DESIGN §6)."""


class AccountDisabled(FleetError):
    """The account is disabled (the portal refused its credentials or locked it); `payerfleet accounts enable`."""


class CapabilityPaused(FleetError):
    """The capability is paused on this portal after a layout change; acknowledge its alert to resume."""


class BackendUnavailable(FleetError):
    """The configured run backend cannot be used here (Procrastinate needs PostgreSQL)."""


class RunTimedOut(FleetError):
    """The run took longer than the configured run timeout."""


class RunAbandoned(FleetError):
    """The run was interrupted (worker killed) more times than max_attempts allows."""


class BrowserCrashed(FleetError):
    """The browser crashed or disconnected during the run."""


class InvalidCrashPoint(FleetError):
    """PAYERFLEET_CRASH_AT must look like 'automation:checkpoint[@n]', comma-separated."""


class IntentStateError(FleetError):
    """The submission intent is not in a state that allows this transition."""


class ProcrastinateSchemaOutdated(FleetError):
    """The database's Procrastinate schema is behind the installed library (run `payerfleet db upgrade`)."""
