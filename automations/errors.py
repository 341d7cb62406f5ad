"""Errors raised by the automation layer (portal failures come from portals.errors)."""
from core.errors import PayerfleetError


class AutomationError(PayerfleetError):
    """An automation could not complete."""


class UnknownAutomation(AutomationError):
    """No automation is registered under that name."""


class InvalidParams(AutomationError):
    """The run's parameters are invalid for this automation."""


class SubmissionNotAllowed(AutomationError):
    """The submission intent is not in a state that allows a submit (never retry from SUBMITTING/IN_DOUBT)."""
