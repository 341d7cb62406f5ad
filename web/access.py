"""What each role reaches: one table, checked by every route (web/guard.py)."""
from __future__ import annotations

from dataclasses import dataclass

# queues: team work queues and their items; all_teams: every team, not only the user's own;
# appeals: the appeals list; dashboard: recovered vs lost and the KPIs; fleet: runs, accounts, alerts;
# users: add and change users.
PERMISSIONS: dict[str, frozenset[str]] = {
    "biller": frozenset({"queues"}),
    "appeal_writer": frozenset({"queues", "appeals"}),
    "manager": frozenset({"queues", "all_teams", "appeals", "dashboard"}),
    "ops": frozenset({"fleet"}),
    "admin": frozenset({"users", "fleet"}),
}
# Where a role lands after signing in (the first page it reaches).
HOME = {"biller": "/queues", "appeal_writer": "/queues", "manager": "/dashboard", "ops": "/ops/runs",
        "admin": "/admin/users"}


@dataclass(frozen=True)
class Viewer:
    """The signed-in user as a request sees them (read from the store on every request)."""

    id: int
    name: str
    role: str
    teams: frozenset[str]

    def can(self, permission: str) -> bool:
        return permission in PERMISSIONS.get(self.role, frozenset())

    def sees_team(self, team: str) -> bool:
        return self.can("queues") and (self.can("all_teams") or team in self.teams)

    def visible_teams(self, all_teams: list[str]) -> list[str]:
        return [t for t in all_teams if self.sees_team(t)]

    @property
    def team_limit(self) -> frozenset[str] | None:
        """The teams whose items this user may move; None means any."""
        return None if self.can("all_teams") else self.teams
