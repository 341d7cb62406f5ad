"""Key management: Fernet keys kept outside the database (env var or a 0600 key file)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from core.config import Settings
from core.errors import DecryptionFailed, KeyInvalid, KeyMissing


def _parse_keys(text: str, source: str) -> list[bytes]:
    keys = [k.strip().encode() for k in text.replace(",", "\n").splitlines() if k.strip()]
    if not keys:
        raise KeyMissing(f"no key in {source}")
    for key in keys:
        try:
            Fernet(key)
        except (ValueError, TypeError) as exc:
            raise KeyInvalid(f"malformed Fernet key in {source}") from exc
    return keys


def _write_private(path: Path, text: str) -> None:
    """Write a file readable by its owner only, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


@dataclass(frozen=True)
class KeyRing:
    """Ordered keys, newest first: encrypt with the newest, decrypt with any."""

    keys: tuple[bytes, ...]
    # Where the keys came from: "env" or the key file path.
    source: str

    @classmethod
    def load(cls, settings: Settings, *, create: bool = False) -> "KeyRing":
        if settings.secret_key is not None:
            return cls(tuple(_parse_keys(settings.secret_key.get_secret_value(), "PAYERFLEET_SECRET_KEY")), "env")
        path = settings.key_file
        if not path.exists():
            if not create:
                raise KeyMissing(f"no key: set PAYERFLEET_SECRET_KEY or create {path} (any write command creates it)")
            _write_private(path, Fernet.generate_key().decode() + "\n")
        return cls(tuple(_parse_keys(path.read_text(), str(path))), str(path))

    @property
    def _fernet(self) -> MultiFernet:
        return MultiFernet([Fernet(k) for k in self.keys])

    def encrypt(self, plaintext: bytes) -> bytes:
        return self._fernet.encrypt(plaintext)

    def decrypt(self, token: bytes) -> bytes:
        try:
            return self._fernet.decrypt(token)
        except InvalidToken as exc:
            raise DecryptionFailed() from exc

    def reencrypt(self, token: bytes) -> bytes:
        """Re-encrypt under the newest key (used by key rotation)."""
        try:
            return self._fernet.rotate(token)
        except InvalidToken as exc:
            raise DecryptionFailed() from exc

    def with_new_primary(self) -> "KeyRing":
        return KeyRing((Fernet.generate_key(), *self.keys), self.source)

    def primary_only(self) -> "KeyRing":
        return KeyRing(self.keys[:1], self.source)

    def save(self, settings: Settings) -> None:
        """Persist to the key file; keys from the environment are the operator's to change."""
        if self.source == "env":
            raise KeyInvalid("keys come from PAYERFLEET_SECRET_KEY; set the new key list there instead")
        _write_private(settings.key_file, "\n".join(k.decode() for k in self.keys) + "\n")
