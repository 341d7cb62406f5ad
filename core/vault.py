"""Secrets vault: portal credentials and saved browser sessions, encrypted with the key ring."""
from __future__ import annotations

import json
from dataclasses import dataclass

import structlog
from pydantic import BaseModel, SecretStr
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core import alerts, audit
from core.crypto import KeyRing
from core.errors import AccountExists, NotFound
from core.store.db import Database
from core.store.models import PortalAccount, VaultSecret, utcnow

CREDENTIALS = "credentials"
STORAGE_STATE = "storage_state"
# disabled_reason of a removed account: it never comes back (its alias is freed).
REMOVED = "removed"
log = structlog.get_logger()


class Credentials(BaseModel):
    """A portal login; the password and TOTP seed never leave SecretStr except to type them."""

    model_config = {"frozen": True}
    username: SecretStr
    password: SecretStr
    totp_secret: SecretStr | None = None

    def to_json(self) -> bytes:
        return json.dumps({
            "username": self.username.get_secret_value(),
            "password": self.password.get_secret_value(),
            "totp_secret": self.totp_secret.get_secret_value() if self.totp_secret else None,
        }).encode()


@dataclass(frozen=True)
class AccountInfo:
    """What may be shown about an account: never a secret."""

    id: int
    alias: str
    portal: str
    base_url: str
    authorised: bool
    enabled: bool
    has_credentials: bool
    has_session: bool
    # Why it is disabled (BadCredentials, AccountLocked, ...); None while enabled.
    disabled_reason: str | None = None


class Vault:
    def __init__(self, db: Database, keys: KeyRing):
        self.db = db
        self.keys = keys

    # -- accounts -------------------------------------------------------------------------
    def add_account(self, *, alias: str, portal: str, base_url: str, credentials: Credentials,
                    authorised: bool = False) -> int:
        with self.db.transaction() as s:
            if s.scalar(select(PortalAccount.id).where(PortalAccount.alias == alias)) is not None:
                raise AccountExists(f"account {alias!r} already exists")
            account = PortalAccount(alias=alias, portal=portal, base_url=base_url, authorised=authorised)
            s.add(account)
            s.flush()
            self._put(s, account.id, CREDENTIALS, credentials.to_json())
        log.info("vault.account_added", account_id=account.id, portal=portal)
        return account.id

    def remove_account(self, alias: str) -> None:
        with self.db.transaction() as s:
            account = self._account(s, alias)
            for secret in s.scalars(select(VaultSecret).where(VaultSecret.account_id == account.id)):
                s.delete(secret)
            account.enabled, account.disabled_reason, account.disabled_at = False, REMOVED, utcnow()
            account.alias = f"{alias}#removed-{account.id}"
        log.info("vault.account_removed", account_id=account.id)

    def enable(self, alias: str, *, by: str) -> str | None:
        """Let a disabled account log in again (the operator fixed it on the portal); returns the old reason.

        The account's open account_disabled alerts are acknowledged with it.
        """
        with self.db.transaction() as s:
            account = self._account(s, alias)
            reason = account.disabled_reason
            account.enabled, account.disabled_reason, account.disabled_at = True, None, None
            alerts.ack_subject(s, alerts.ACCOUNT_DISABLED, alerts.account_subject(alias), by)
            audit.record(s, actor=by, action="account.enabled", record_type="portal_account", record_id=account.id)
        log.info("vault.account_enabled", account_id=account.id)
        return reason

    def authorise(self, alias: str, *, by: str) -> None:
        """Record the operator's confirmation that automated access to this account is authorised (DESIGN §6)."""
        with self.db.transaction() as s:
            account = self._account(s, alias)
            account.authorised = True
            audit.record(s, actor=by, action="account.authorised", record_type="portal_account", record_id=account.id)
        log.info("vault.account_authorised", account_id=account.id)

    def list_accounts(self) -> list[AccountInfo]:
        with self.db.transaction() as s:
            kinds: dict[int, set[str]] = {}
            for account_id, kind in s.execute(select(VaultSecret.account_id, VaultSecret.kind)):
                kinds.setdefault(account_id, set()).add(kind)
            live = or_(PortalAccount.disabled_reason.is_(None), PortalAccount.disabled_reason != REMOVED)
            return [
                AccountInfo(a.id, a.alias, a.portal, a.base_url, a.authorised, a.enabled,
                            CREDENTIALS in kinds.get(a.id, ()), STORAGE_STATE in kinds.get(a.id, ()), a.disabled_reason)
                for a in s.scalars(select(PortalAccount).where(live).order_by(PortalAccount.alias))
            ]

    def account_id(self, alias: str) -> int:
        with self.db.transaction() as s:
            return self._account(s, alias).id

    # -- secrets --------------------------------------------------------------------------
    def put_credentials(self, account_id: int, credentials: Credentials) -> None:
        with self.db.transaction() as s:
            self._put(s, account_id, CREDENTIALS, credentials.to_json())

    def get_credentials(self, account_id: int) -> Credentials:
        raw = self._get(account_id, CREDENTIALS)
        if raw is None:
            raise NotFound(f"no credentials for account {account_id}")
        return Credentials.model_validate_json(raw)

    def put_storage_state(self, account_id: int, state: dict) -> None:
        with self.db.transaction() as s:
            self._put(s, account_id, STORAGE_STATE, json.dumps(state).encode())
        log.info("vault.session_saved", account_id=account_id)

    def get_storage_state(self, account_id: int) -> dict | None:
        raw = self._get(account_id, STORAGE_STATE)
        return None if raw is None else json.loads(raw)

    def clear_storage_state(self, account_id: int) -> None:
        with self.db.transaction() as s:
            secret = s.scalar(select(VaultSecret).where(VaultSecret.account_id == account_id,
                                                        VaultSecret.kind == STORAGE_STATE))
            if secret is not None:
                s.delete(secret)

    def reencrypt_all(self, new_keys: KeyRing) -> int:
        """Re-encrypt every secret under new_keys' primary key in one transaction; returns the count."""
        with self.db.transaction() as s:
            secrets = list(s.scalars(select(VaultSecret)))
            for secret in secrets:
                secret.ciphertext = new_keys.reencrypt(secret.ciphertext)
                secret.updated_at = utcnow()
        self.keys = new_keys
        log.info("vault.reencrypted", secrets=len(secrets))
        return len(secrets)

    # -- internals ------------------------------------------------------------------------
    @staticmethod
    def _account(s: Session, alias: str) -> PortalAccount:
        account = s.scalar(select(PortalAccount).where(PortalAccount.alias == alias))
        if account is None:
            raise NotFound(f"no account {alias!r}")
        return account

    def _put(self, s: Session, account_id: int, kind: str, plaintext: bytes) -> None:
        secret = s.scalar(select(VaultSecret).where(VaultSecret.account_id == account_id, VaultSecret.kind == kind))
        token = self.keys.encrypt(plaintext)
        if secret is None:
            s.add(VaultSecret(account_id=account_id, kind=kind, ciphertext=token))
        else:
            secret.ciphertext = token
            secret.updated_at = utcnow()

    def _get(self, account_id: int, kind: str) -> bytes | None:
        with self.db.transaction() as s:
            token = s.scalar(select(VaultSecret.ciphertext).where(VaultSecret.account_id == account_id,
                                                                  VaultSecret.kind == kind))
        return None if token is None else self.keys.decrypt(token)
