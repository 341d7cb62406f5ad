"""Evidence: capture at checkpoints, encrypted blob store, hash-chained manifest, verify, export."""
from __future__ import annotations

from core.config import Settings
from core.crypto import KeyRing
from core.store.db import Database
from evidence.blobs import BlobStore, LocalBlobStore, reencrypt_all
from evidence.manifest import ManifestEntry
from evidence.recorder import EvidenceRecorder


def open_blob_store(settings: Settings, *, create_key: bool = False) -> LocalBlobStore:
    """The configured blob store; KeyMissing unless a key exists (or create_key for writers)."""
    return LocalBlobStore(settings.blob_dir, KeyRing.load(settings, create=create_key))


def open_recorder(settings: Settings, db: Database, *, run_id: str, portal: str, account_alias: str,
                  actor: str = "automation") -> EvidenceRecorder:
    """A recorder writing to the configured blob store and database."""
    return EvidenceRecorder(db, open_blob_store(settings, create_key=True), run_id=run_id, portal=portal,
                            account_alias=account_alias, actor=actor)


__all__ = ["BlobStore", "EvidenceRecorder", "LocalBlobStore", "ManifestEntry", "open_blob_store",
           "open_recorder", "reencrypt_all"]
