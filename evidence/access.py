"""Reading one stored artifact for a person, with the view recorded in the audit trail."""
from __future__ import annotations

from sqlalchemy import select

from core import audit
from core.errors import NotFound
from core.store.db import Database
from core.store.models import EvidenceEntry
from evidence.blobs import BlobStore
from evidence.manifest import ManifestEntry


def view_artifact(db: Database, store: BlobStore, seq: int, *, actor: str) -> tuple[ManifestEntry, bytes]:
    """The entry and its decrypted, hash-checked bytes; audited as evidence.viewed (ok or failed)."""
    with db.transaction() as session:
        row = session.scalar(select(EvidenceEntry).where(EvidenceEntry.seq == seq))
    if row is None or row.blob_sha256 is None:
        raise NotFound(f"evidence entry {seq} has no stored artifact")
    entry = ManifestEntry.from_row(row)
    try:
        data = store.get(entry.blob_sha256)
    except Exception:
        with db.transaction() as session:
            audit.record(session, actor=actor, action="evidence.viewed", record_type="evidence_entry",
                         record_id=seq, outcome="failed")
        raise
    with db.transaction() as session:
        audit.record(session, actor=actor, action="evidence.viewed", record_type="evidence_entry", record_id=seq)
    return entry, data
