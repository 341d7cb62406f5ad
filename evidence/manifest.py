"""The hash-chained evidence manifest: canonical content, entry hashes, serialised appends.

entry_hash = sha256(f"{prev_hash}\\n{sha256(content)}\\n"), hex. Hashing the content's digest
rather than the content lets an export prove the chain between two entries with digests only,
without disclosing the other entries. `content` is canonical JSON (sorted keys, no spaces,
UTF-8) holding seq, kind, links, blob hash, time and the entry's data, so every column that
matters is covered by the hash and checked against it by `evidence verify`.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from sqlalchemy import insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from core import audit
from core.store.db import Database
from core.store.models import EvidenceChainHead, EvidenceEntry
from evidence.errors import ChainBroken

GENESIS = "0" * 64
HEAD_ID = 1
KINDS = ("artifact", "event")
LINKS = ("run_id", "claim_id", "work_item_id", "appeal_id")

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def content_digest(content: str) -> str:
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def link_preimage(prev_hash: str, content_sha256: str) -> bytes:
    """The exact bytes an entry hash covers (also written into exports for sha256sum)."""
    return f"{prev_hash}\n{content_sha256}\n".encode("ascii")


def entry_hash(prev_hash: str, content: str) -> str:
    return hashlib.sha256(link_preimage(prev_hash, content_digest(content))).hexdigest()


def iso_utc(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("evidence times must be timezone-aware")
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class EntryDraft:
    """What a caller wants appended; seq, prev_hash and time are decided under the chain lock."""

    # artifact | event
    kind: str
    # Plaintext SHA-256 of the blob this entry proves (artifacts, and events with stored details).
    blob_sha256: str | None = None
    run_id: str | None = None
    claim_id: int | None = None
    work_item_id: int | None = None
    appeal_id: int | None = None
    # JSON-serialisable facts about the entry; no PHI (it is stored in clear in the database).
    data: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        canonical_json(self.data)  # fail now, not under the lock

    def links(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in LINKS}


@dataclass(frozen=True)
class ManifestEntry:
    """One stored manifest entry, exactly as hashed."""

    seq: int
    prev_hash: str
    entry_hash: str
    kind: str
    blob_sha256: str | None
    run_id: str | None
    claim_id: int | None
    work_item_id: int | None
    appeal_id: int | None
    # Canonical JSON exactly as stored and hashed.
    content: str
    created_at: datetime

    @property
    def body(self) -> dict[str, Any]:
        return json.loads(self.content)

    @property
    def data(self) -> dict[str, Any]:
        return self.body.get("data", {})

    @property
    def content_sha256(self) -> str:
        return content_digest(self.content)

    @classmethod
    def from_row(cls, row: EvidenceEntry) -> "ManifestEntry":
        return cls(row.seq, row.prev_hash, row.entry_hash, row.kind, row.blob_sha256, row.run_id,
                   row.claim_id, row.work_item_id, row.appeal_id, row.content, row.created_at)


def build_content(seq: int, draft: EntryDraft, created_at: datetime) -> str:
    return canonical_json({
        "v": 1,
        "seq": seq,
        "kind": draft.kind,
        "blob_sha256": draft.blob_sha256,
        "links": draft.links(),
        "created_at": iso_utc(created_at),
        "data": draft.data,
    })


def _lock_head(session: Session) -> tuple[int, str]:
    """Take the chain lock and return (last seq, last entry hash).

    The first statement is a write on the head row: PostgreSQL row-locks it until commit,
    SQLite takes its single writer lock (the BEGIN IMMEDIATE effect) before anything is read,
    so two writers can never both read the same head and fork the chain.
    """
    stmt = (update(EvidenceChainHead).where(EvidenceChainHead.id == HEAD_ID)
            .values(seq=EvidenceChainHead.seq)
            .returning(EvidenceChainHead.seq, EvidenceChainHead.entry_hash))
    row = session.execute(stmt).first()
    if row is None:
        # The head row is gone (a fresh or truncated table): only an empty chain may restart.
        if session.scalar(select(EvidenceEntry.seq).limit(1)) is not None:
            raise ChainBroken("evidence chain head row is missing while entries exist")
        dialect_insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
        session.execute(dialect_insert(EvidenceChainHead)
                        .values(id=HEAD_ID, seq=0, entry_hash=GENESIS)
                        .on_conflict_do_nothing(index_elements=["id"]))
        row = session.execute(stmt).one()
    return int(row[0]), str(row[1])


def append_in(session: Session, drafts: Sequence[EntryDraft], *, actor: str,
              clock: Clock = utc_now) -> list[ManifestEntry]:
    """Append drafts to the chain inside the caller's transaction (which must not have read yet on SQLite)."""
    if not drafts:
        return []
    seq, prev = _lock_head(session)
    out: list[ManifestEntry] = []
    for draft in drafts:
        seq += 1
        created_at = clock()
        content = build_content(seq, draft, created_at)
        digest = entry_hash(prev, content)
        session.execute(insert(EvidenceEntry).values(
            seq=seq, prev_hash=prev, entry_hash=digest, kind=draft.kind, blob_sha256=draft.blob_sha256,
            content=content, created_at=created_at, **draft.links()))
        audit.record(session, actor=actor, action="evidence.captured", record_type="evidence_entry",
                     record_id=seq)
        out.append(ManifestEntry(seq, prev, digest, draft.kind, draft.blob_sha256, draft.run_id,
                                 draft.claim_id, draft.work_item_id, draft.appeal_id, content, created_at))
        prev = digest
    session.execute(update(EvidenceChainHead).where(EvidenceChainHead.id == HEAD_ID)
                    .values(seq=seq, entry_hash=prev))
    return out


def append(db: Database, drafts: Sequence[EntryDraft], *, actor: str, clock: Clock = utc_now) -> list[ManifestEntry]:
    """Append drafts atomically in their own transaction: all of them or none."""
    with db.transaction() as session:
        return append_in(session, drafts, actor=actor, clock=clock)


def entries_for(session: Session, *, appeal_id: int | None = None, claim_id: int | None = None,
                run_id: str | None = None) -> list[ManifestEntry]:
    """Entries linked to one appeal, claim or run, in chain order."""
    given = [(EvidenceEntry.appeal_id, appeal_id), (EvidenceEntry.claim_id, claim_id), (EvidenceEntry.run_id, run_id)]
    chosen = [(col, val) for col, val in given if val is not None]
    if len(chosen) != 1:
        raise ValueError("give exactly one of appeal_id, claim_id, run_id")
    col, val = chosen[0]
    rows = session.scalars(select(EvidenceEntry).where(col == val).order_by(EvidenceEntry.seq))
    return [ManifestEntry.from_row(r) for r in rows]


def iter_entries(session: Session, *, start: int = 1, batch: int = 500) -> Iterable[ManifestEntry]:
    """Every entry from `start`, in seq order, in bounded batches."""
    last = start - 1
    while True:
        rows = session.scalars(select(EvidenceEntry).where(EvidenceEntry.seq > last)
                               .order_by(EvidenceEntry.seq).limit(batch)).all()
        if not rows:
            return
        for row in rows:
            yield ManifestEntry.from_row(row)
        last = rows[-1].seq


def read_head(session: Session) -> tuple[int, str] | None:
    row = session.execute(select(EvidenceChainHead.seq, EvidenceChainHead.entry_hash)
                          .where(EvidenceChainHead.id == HEAD_ID)).first()
    return (int(row[0]), str(row[1])) if row else None
