"""The web workbench: server-rendered pages for billers, appeal writers, managers, ops and admins."""
