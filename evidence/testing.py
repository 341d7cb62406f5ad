"""Public fakes for tests: an in-memory blob store with the same contract as LocalBlobStore."""
from __future__ import annotations

from collections.abc import Iterator

from evidence.blobs import BlobStore, sha256_hex
from evidence.errors import BlobCorrupt, BlobMissing


class MemoryBlobStore(BlobStore):
    """Plaintext in a dict (no encryption): for unit tests of code that only needs the interface."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    def put(self, data: bytes) -> str:
        digest = sha256_hex(data)
        self.blobs.setdefault(digest, bytes(data))
        return digest

    def get(self, sha256: str) -> bytes:
        if sha256 not in self.blobs:
            raise BlobMissing(f"blob {sha256} is missing")
        data = self.blobs[sha256]
        if sha256_hex(data) != sha256:
            raise BlobCorrupt(f"blob {sha256} decrypts to different content")
        return data

    def exists(self, sha256: str) -> bool:
        return sha256 in self.blobs

    def iter(self) -> Iterator[str]:
        yield from sorted(self.blobs)

    def delete(self, sha256: str) -> bool:
        return self.blobs.pop(sha256, None) is not None
