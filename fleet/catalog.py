"""Automation lookup for the fleet: the product registry plus the fleet's own (the reconciler)."""
from __future__ import annotations

from typing import Any

from automations import registry
from automations.errors import UnknownAutomation

RECONCILE = "reconcile_submissions"


def names() -> list[str]:
    return sorted({*registry.names(), RECONCILE})


def resolve(name: str) -> Any:
    if name == RECONCILE:
        from fleet.reconciler import RECONCILE_SUBMISSIONS

        return RECONCILE_SUBMISSIONS
    return registry.get(name)


def check(name: str) -> None:
    if name not in names():
        raise UnknownAutomation(f"no automation named {name!r}; known: {', '.join(names())}")
