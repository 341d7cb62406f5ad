"""Workbench users: argon2id password hashes, one role each, their teams; sign-in with throttling.

A role decides which pages a user reaches (web/access.py); a biller's or appeal writer's teams decide
whose queues and items they see. Every sign-in try is kept in login_attempts: too many failures for
one name, or from one client address, in the last THROTTLE_WINDOW refuse further tries until the
window has passed, whether or not the password would have been right.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import audit
from core.errors import PayerfleetError
from core.store.models import LoginAttempt, User

ROLES = ("biller", "appeal_writer", "manager", "ops", "admin")
# Roles that work items of their own teams only.
TEAM_ROLES = frozenset({"biller", "appeal_writer"})
MIN_PASSWORD = 12
THROTTLE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_NAME = 5
MAX_FAILURES_PER_CLIENT = 20
_hasher = PasswordHasher()  # argon2id with the library's (RFC 9106 low-memory) parameters
# Verified against when the name is unknown, so a wrong name costs as much time as a wrong password.
_DUMMY_HASH = _hasher.hash("payerfleet-no-such-user")


def use_hasher(hasher: PasswordHasher) -> None:
    """Replace the hashing parameters (tests use cheap ones; stored hashes keep their own parameters)."""
    global _hasher, _DUMMY_HASH
    _hasher, _DUMMY_HASH = hasher, hasher.hash("payerfleet-no-such-user")


class UserError(PayerfleetError):
    """The user record could not be changed as asked."""


class UserExists(UserError):
    """A user with this name already exists."""


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"a password needs at least {MIN_PASSWORD} characters")
    return _hasher.hash(password)


def check_role(role: str, teams: Iterable[str], known_teams: Iterable[str]) -> list[str]:
    """The user's teams, sorted, if the role exists and the teams are known and fit it; else UserError."""
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    teams = sorted(set(teams))
    unknown = sorted(set(teams) - set(known_teams))
    if unknown:
        raise UserError(f"unknown team(s) {', '.join(unknown)}")
    if role in TEAM_ROLES and not teams:
        raise UserError(f"a {role} needs at least one team (--team)")
    return teams


def add_user(session: Session, name: str, password: str, role: str, teams: Iterable[str] = (), *,
             known_teams: Iterable[str], actor: str, now: datetime) -> User:
    name = name.strip()
    if not name or len(name) > 80 or any(c.isspace() for c in name):
        raise UserError("a user name is 1-80 characters without spaces")
    if session.scalar(select(User.id).where(User.name == name)) is not None:
        raise UserExists(f"user {name!r} already exists")
    user = User(name=name, password_hash=hash_password(password), role=role,
                teams=check_role(role, teams, known_teams), enabled=True, created_at=now, updated_at=now)
    session.add(user)
    session.flush()
    audit.record(session, actor=actor, action="user.added", record_type="user", record_id=user.id, outcome=role)
    return user


def get_user(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise UserError(f"no user {name!r}")
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.name)))


def update_user(session: Session, name: str, *, actor: str, now: datetime, known_teams: Iterable[str],
                role: str | None = None, teams: Iterable[str] | None = None, enabled: bool | None = None,
                password: str | None = None) -> User:
    """Change a user's role, teams, enabled flag or password; each change is audited."""
    user = get_user(session, name)
    new_role = role or user.role
    user.teams = check_role(new_role, user.teams if teams is None else teams, known_teams)
    user.role = new_role
    if enabled is not None:
        user.enabled = enabled
    if password is not None:
        user.password_hash = hash_password(password)
    user.updated_at = now
    audit.record(session, actor=actor, action="user.changed", record_type="user", record_id=user.id,
                 outcome=("enabled" if user.enabled else "disabled") if enabled is not None else user.role)
    return user


@dataclass(frozen=True)
class SignIn:
    # ok | failed | throttled
    outcome: str
    user: User | None = None


def authenticate(session: Session, name: str, password: str, *, client: str, now: datetime) -> SignIn:
    """Check a sign-in try and record it (login_attempts and the audit trail) in the caller's transaction.

    Returns rather than raises, so the caller commits the record of a failed try too."""
    name, client = name.strip()[:80], client[:64]
    since = now - THROTTLE_WINDOW
    failures = select(func.count()).select_from(LoginAttempt).where(LoginAttempt.at >= since,
                                                                     LoginAttempt.ok.is_(False))
    user = None
    if (session.scalar(failures.where(LoginAttempt.name == name)) >= MAX_FAILURES_PER_NAME
            or session.scalar(failures.where(LoginAttempt.client == client)) >= MAX_FAILURES_PER_CLIENT):
        outcome = "throttled"
    else:
        user = session.scalar(select(User).where(User.name == name))
        ok = _verify(user.password_hash if user else _DUMMY_HASH, password) and user is not None and user.enabled
        outcome = "ok" if ok else "failed"
    session.add(LoginAttempt(at=now, name=name, client=client, ok=outcome == "ok"))
    audit.record(session, actor=name or "-", action="user.sign_in", record_type="user",
                 record_id=user.id if user else name or "-", outcome=outcome)
    if outcome != "ok":
        return SignIn(outcome)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return SignIn(outcome, user)


def _verify(encoded: str, password: str) -> bool:
    try:
        return _hasher.verify(encoded, password)
    except (VerificationError, InvalidHashError):
        return False
