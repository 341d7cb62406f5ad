"""Payers, plans and portal accounts (account rows hold no secrets; see vault_secrets)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.store.models.base import Base, BigId, CreatedMixin, IdMixin, utcnow


class Payer(IdMixin, CreatedMixin, Base):
    __tablename__ = "payers"
    # Short stable code used by rules files and the CLI, e.g. "AETNA", "UHC", "MEDICARE".
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str]
    # The payer's X12 identifier (N1*PR REF*2U / NM1*PR), when known.
    x12_id: Mapped[str | None] = mapped_column(String(80), index=True)


class Plan(IdMixin, CreatedMixin, Base):
    __tablename__ = "plans"
    __table_args__ = (UniqueConstraint("payer_id", "name"),)
    payer_id: Mapped[int] = mapped_column(BigId, ForeignKey("payers.id"))
    name: Mapped[str]
    # commercial_fully_insured | erisa_self_funded | medicare | medicaid
    plan_type: Mapped[str] = mapped_column(String(40))


class PortalAccount(IdMixin, CreatedMixin, Base):
    __tablename__ = "portal_accounts"
    # Operator-chosen name; the only account identifier that appears in logs and evidence.
    alias: Mapped[str] = mapped_column(String(80), unique=True)
    # Registered portal package name, e.g. "availity".
    portal: Mapped[str] = mapped_column(String(40))
    base_url: Mapped[str] = mapped_column(String(500))
    # True only where the operator confirmed automated access is authorised (DESIGN §6).
    authorised: Mapped[bool] = mapped_column(default=False)
    enabled: Mapped[bool] = mapped_column(default=True)
    # Why the fleet disabled it (BadCredentials, AccountLocked), or "removed"; None while usable.
    # Only `payerfleet accounts enable` clears it.
    disabled_reason: Mapped[str | None] = mapped_column(String(80))
    disabled_at: Mapped[datetime | None]
    # The last TOTP time step used to log in, claimed in the database so no two workers on any
    # machine ever send the same code (portals/totp.py).
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)


class VaultSecret(IdMixin, Base):
    __tablename__ = "vault_secrets"
    __table_args__ = (UniqueConstraint("account_id", "kind"),)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("portal_accounts.id", ondelete="CASCADE"))
    # "credentials" (username, password, TOTP seed) or "storage_state" (Playwright session).
    kind: Mapped[str] = mapped_column(String(40))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
