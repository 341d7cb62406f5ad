"""Portals by name. A duplicate name is an error, never a silent override."""
from __future__ import annotations

from importlib import import_module
from importlib.metadata import entry_points

from portals.definition import PortalDefinition
from portals.errors import DuplicatePortal, UnknownPortal

# Packages shipped with payerfleet; each exposes `PORTAL`. Adding a portal adds one line here
# (or an entry point in the "payerfleet.portals" group for an out-of-tree package).
BUILTIN = ("portals.availity", "portals.uhc", "portals.caqh")
ENTRY_POINT_GROUP = "payerfleet.portals"


class PortalRegistry:
    def __init__(self) -> None:
        self._portals: dict[str, PortalDefinition] = {}

    def register(self, portal: PortalDefinition) -> PortalDefinition:
        existing = self._portals.get(portal.name)
        if existing is not None:
            raise DuplicatePortal(f"portal {portal.name!r} is already registered ({existing.title})")
        self._portals[portal.name] = portal
        return portal

    def get(self, name: str) -> PortalDefinition:
        try:
            return self._portals[name]
        except KeyError:
            raise UnknownPortal(f"no portal named {name!r}; known: {', '.join(self.names())}") from None

    def names(self) -> list[str]:
        return sorted(self._portals)

    def all(self) -> list[PortalDefinition]:
        return [self._portals[n] for n in self.names()]


_default: PortalRegistry | None = None


def default_registry() -> PortalRegistry:
    """The built-in portals plus any installed through entry points, loaded once."""
    global _default
    if _default is None:
        registry = PortalRegistry()
        for module in BUILTIN:
            registry.register(import_module(module).PORTAL)
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            registry.register(ep.load())
        _default = registry
    return _default


def get(name: str) -> PortalDefinition:
    return default_registry().get(name)


def names() -> list[str]:
    return default_registry().names()
