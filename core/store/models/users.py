"""Workbench users (argon2 password hashes, a role, their teams) and the sign-in attempts that throttle them."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Index, String, true
from sqlalchemy.orm import Mapped, mapped_column

from core.store.models.base import Base, CreatedMixin, IdMixin, utcnow


class User(IdMixin, CreatedMixin, Base):
    __tablename__ = "users"
    name: Mapped[str] = mapped_column(String(80), unique=True)
    # argon2id encoded hash (salt and parameters inside); never the password.
    password_hash: Mapped[str] = mapped_column(String(200))
    # biller | appeal_writer | manager | ops | admin (core/users.py ROLES)
    role: Mapped[str] = mapped_column(String(20))
    # Routing teams whose queues a biller or appeal writer works (core/routing/data/routing.toml).
    teams: Mapped[list[Any]] = mapped_column(default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class LoginAttempt(IdMixin, Base):
    """One sign-in try, kept to throttle guessing per name and per client address."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_name_at", "name", "at"),
                      Index("ix_login_attempts_client_at", "client", "at"))
    at: Mapped[datetime]
    # The name as typed (it may match no user).
    name: Mapped[str] = mapped_column(String(80))
    client: Mapped[str] = mapped_column(String(64))
    ok: Mapped[bool] = mapped_column(Boolean)
