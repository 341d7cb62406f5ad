"""Automations by name: `get(name)` and `names()`; the table is data, one line per automation."""
from __future__ import annotations

from importlib import import_module

from automations.base import Automation
from automations.errors import UnknownAutomation

# name -> "module:attribute"; imported lazily so the fleet can list names without a browser stack.
_TABLE: dict[str, str] = {
    "claim_status_pull": "automations.claim_status_pull:CLAIM_STATUS_PULL",
    "era_pull": "automations.era_pull:ERA_PULL",
    "reconsideration_submit": "automations.reconsideration_submit:RECONSIDERATION_SUBMIT",
    "caqh_status": "automations.caqh_status:CAQH_STATUS",
}


def names() -> list[str]:
    return sorted(_TABLE)


def get(name: str) -> Automation:
    """The automation registered under `name`; UnknownAutomation otherwise."""
    try:
        target = _TABLE[name]
    except KeyError:
        raise UnknownAutomation(f"no automation named {name!r}; known: {', '.join(names())}") from None
    module, attr = target.split(":")
    automation = getattr(import_module(module), attr)
    if automation.name != name:
        raise UnknownAutomation(f"{target} is named {automation.name!r}, registered as {name!r}")
    return automation
