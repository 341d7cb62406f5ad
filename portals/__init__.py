"""Portal SDK: a portal is a package (login, page objects, selectors, typed rows) registered by name.

Public surface: PortalDefinition / PortalSession / capabilities / errors; see docs/adding-a-portal.md.
"""
