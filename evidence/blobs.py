"""Content-addressed, write-once, encrypted blob store behind a small interface."""
from __future__ import annotations

import errno
import hashlib
import os
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import structlog

from core.crypto import KeyRing
from core.errors import DecryptionFailed
from evidence.errors import BlobCorrupt, BlobMissing, BlobWriteFailed

log = structlog.get_logger()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _check_name(sha256: str) -> str:
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError("blob names are lowercase hex SHA-256 digests")
    return sha256


class BlobStore(ABC):
    """Blobs named by the SHA-256 of their plaintext; a name, once written, never changes content."""

    @abstractmethod
    def put(self, data: bytes) -> str:
        """Store `data` (idempotent) and return its SHA-256."""

    @abstractmethod
    def get(self, sha256: str) -> bytes:
        """Return the plaintext, checked against its name; BlobMissing / BlobCorrupt otherwise."""

    @abstractmethod
    def exists(self, sha256: str) -> bool: ...

    @abstractmethod
    def iter(self) -> Iterator[str]:
        """Every stored blob name."""

    @abstractmethod
    def delete(self, sha256: str) -> bool:
        """Remove a blob; only trace retention calls this. Returns whether it existed."""


class LocalBlobStore(BlobStore):
    """A directory of Fernet tokens: <root>/objects/<2 hex>/<sha256>; temp files in <root>/tmp."""

    def __init__(self, root: Path, keys: KeyRing):
        self.root = Path(root)
        self.keys = keys
        self._objects = self.root / "objects"
        self._tmp = self.root / "tmp"

    def path_for(self, sha256: str) -> Path:
        _check_name(sha256)
        return self._objects / sha256[:2] / sha256

    def _ensure_dirs(self, *dirs: Path) -> None:
        for d in dirs:
            d.mkdir(parents=True, exist_ok=True, mode=0o700)

    def _write_all(self, fd: int, data: bytes) -> None:
        # Separate so tests can simulate a disk filling up mid-write.
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]

    def _write_token(self, final: Path, token: bytes, *, replace: bool) -> None:
        """Temp file, fsync, then link (never overwrites) or replace (key rotation only)."""
        tmp = self._tmp / f"{final.name}.{os.getpid()}.{os.urandom(6).hex()}"
        try:
            self._ensure_dirs(self._tmp, final.parent)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                self._write_all(fd, token)
                os.fsync(fd)
            finally:
                os.close(fd)
            if replace:
                os.replace(tmp, final)
            else:
                try:
                    os.link(tmp, final)
                except FileExistsError:
                    pass  # a concurrent writer stored the same plaintext first
            _fsync_dir(final.parent)
        except OSError as exc:
            raise BlobWriteFailed(f"blob write failed: {errno.errorcode.get(exc.errno, exc.errno)}") from exc
        finally:
            tmp.unlink(missing_ok=True)

    def put(self, data: bytes) -> str:
        digest = sha256_hex(data)
        final = self.path_for(digest)
        if final.exists():
            return digest
        self._write_token(final, self.keys.encrypt(data), replace=False)
        log.debug("evidence.blob_stored", sha256=digest, bytes=len(data))
        return digest

    def read_token(self, sha256: str) -> bytes:
        try:
            return self.path_for(sha256).read_bytes()
        except FileNotFoundError:
            raise BlobMissing(f"blob {sha256} is missing") from None

    def get(self, sha256: str) -> bytes:
        token = self.read_token(sha256)
        try:
            data = self.keys.decrypt(token)
        except DecryptionFailed:
            raise BlobCorrupt(f"blob {sha256} does not decrypt: wrong key or altered bytes") from None
        if sha256_hex(data) != sha256:
            raise BlobCorrupt(f"blob {sha256} decrypts to different content")
        return data

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).exists()

    def iter(self) -> Iterator[str]:
        if not self._objects.exists():
            return
        for shard in sorted(self._objects.iterdir()):
            for f in sorted(shard.iterdir()):
                yield f.name

    def delete(self, sha256: str) -> bool:
        path = self.path_for(sha256)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        _fsync_dir(path.parent)
        return True

    def replace_token(self, sha256: str, token: bytes) -> None:
        """Atomically swap a blob's ciphertext for one of the same plaintext (key rotation)."""
        self._write_token(self.path_for(sha256), token, replace=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class RotationResult:
    # Blobs re-encrypted under the new primary key.
    reencrypted: int
    # Blobs already under the new primary key (a resumed rotation).
    already_current: int


def reencrypt_all(store: LocalBlobStore, old_ring: KeyRing, new_ring: KeyRing) -> RotationResult:
    """Re-encrypt every blob under new_ring's primary key; safe to re-run after a crash.

    Each blob is checked against its name before its new ciphertext replaces the old one,
    so a corrupt blob stops the rotation (BlobCorrupt) instead of being laundered.
    """
    primary = new_ring.primary_only()
    either = KeyRing((*new_ring.keys, *old_ring.keys), new_ring.source)
    done = current = 0
    for name in list(store.iter()):
        token = store.read_token(name)
        try:
            primary.decrypt(token)
            current += 1
            continue
        except DecryptionFailed:
            pass
        try:
            data = either.decrypt(token)
        except DecryptionFailed:
            raise BlobCorrupt(f"blob {name} does not decrypt with the old or new keys") from None
        if sha256_hex(data) != name:
            raise BlobCorrupt(f"blob {name} decrypts to different content")
        store.replace_token(name, primary.encrypt(data))
        done += 1
    log.info("evidence.blobs_rotated", reencrypted=done, already_current=current)
    return RotationResult(done, current)
