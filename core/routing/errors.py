"""Typed errors of the routing core."""
from core.errors import ConfigError, NotFound, PayerfleetError


class RoutingError(PayerfleetError):
    """The routing core could not complete the operation."""


class RulesFileInvalid(ConfigError):
    """A routing or payer-rules file is malformed; nothing from it was applied."""


class InvalidTransition(RoutingError):
    """This work item cannot move to that state from its current state."""


class WorkItemNotFound(NotFound):
    """No work item has that id."""


class TouchInvalid(RoutingError):
    """The payer touch is incomplete or contradicts the work item."""
