"""`evidence verify`: walk the hash chain and re-hash every blob; name exactly what is wrong."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timezone

import structlog
from sqlalchemy.orm import Session

from core import audit
from core.store.db import Database
from evidence.blobs import BlobStore
from evidence.errors import BlobCorrupt, BlobMissing
from evidence.manifest import GENESIS, KINDS, LINKS, ManifestEntry, canonical_json, entry_hash, iter_entries, read_head

log = structlog.get_logger()
PURGE_EVENT = "trace.purged"


@dataclass(frozen=True)
class Problem:
    """One defect, located: an entry by seq, a blob by SHA-256, or the chain head."""

    # entry | blob | head
    where: str
    # Stable machine-readable reason, e.g. hash_mismatch, prev_hash_mismatch, seq_gap, blob_corrupt.
    code: str
    seq: int | None = None
    blob_sha256: str | None = None
    detail: str = ""

    def __str__(self) -> str:
        at = f"entry {self.seq}" if self.where == "entry" else (
            f"blob {self.blob_sha256}" if self.where == "blob" else "chain head")
        return f"{at}: {self.code}" + (f" ({self.detail})" if self.detail else "")


@dataclass(frozen=True)
class ChainReport:
    entries: int
    # (seq, entry_hash) of the head row, or None if it is missing.
    head: tuple[int, str] | None
    problems: tuple[Problem, ...]
    # blob SHA-256 -> seqs of the entries naming it.
    referenced: dict[str, tuple[int, ...]]
    # Trace blobs whose removal the chain records (retention), so their absence is expected.
    purged: frozenset[str]


@dataclass(frozen=True)
class VerifyReport:
    entries: int
    blobs_checked: int
    head: tuple[int, str] | None
    problems: tuple[Problem, ...]
    # Blobs in the store that no entry names (e.g. a crash between blob write and manifest append).
    unreferenced_blobs: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def _column_mismatches(entry: ManifestEntry, body: dict) -> list[str]:
    wrong = []
    if body.get("seq") != entry.seq:
        wrong.append("seq")
    if body.get("kind") != entry.kind or entry.kind not in KINDS:
        wrong.append("kind")
    if body.get("blob_sha256") != entry.blob_sha256:
        wrong.append("blob_sha256")
    links = body.get("links") or {}
    wrong += [name for name in LINKS if links.get(name) != getattr(entry, name)]
    created = entry.created_at
    stored = (created.astimezone(timezone.utc).replace(tzinfo=None) if created.tzinfo else created)
    if str(body.get("created_at", ""))[:26] != stored.isoformat(timespec="microseconds"):
        wrong.append("created_at")
    return wrong


class _Walk:
    """State of one pass along the chain: checks each entry against the one before it."""

    def __init__(self, anchors: dict[int, str]):
        self.anchors = anchors
        self.problems: list[Problem] = []
        self.referenced: dict[str, list[int]] = {}
        self.traces: dict[int, str] = {}
        self.purged: set[str] = set()
        self.expected_seq, self.prev, self.count = 1, GENESIS, 0
        self.last: ManifestEntry | None = None

    def feed(self, entry: ManifestEntry) -> None:
        add = self.problems.append
        self.count += 1
        if entry.seq != self.expected_seq:
            add(Problem("entry", "seq_gap", entry.seq, detail=f"expected seq {self.expected_seq}: entries missing or reordered"))
        if entry.prev_hash != self.prev:
            add(Problem("entry", "prev_hash_mismatch", entry.seq, detail="does not link to the entry before it"))
        if entry_hash(entry.prev_hash, entry.content) != entry.entry_hash:
            add(Problem("entry", "hash_mismatch", entry.seq, detail="content or hash was altered"))
        try:
            body = json.loads(entry.content)
            if canonical_json(body) != entry.content:
                add(Problem("entry", "not_canonical", entry.seq))
            wrong = _column_mismatches(entry, body)
            if wrong:
                add(Problem("entry", "column_mismatch", entry.seq,
                            detail="columns differ from hashed content: " + ", ".join(wrong)))
            data = body.get("data") or {}
        except (ValueError, TypeError, AttributeError):
            add(Problem("entry", "content_invalid", entry.seq, detail="content is not a JSON object"))
            data = {}
        if entry.seq in self.anchors and self.anchors.pop(entry.seq) != entry.entry_hash:
            add(Problem("entry", "anchor_mismatch", entry.seq, detail="differs from the independently recorded hash"))
        if entry.blob_sha256:
            self.referenced.setdefault(entry.blob_sha256, []).append(entry.seq)
            if data.get("artifact") == "trace":
                self.traces[entry.seq] = entry.blob_sha256
        if data.get("event") == PURGE_EVENT:
            target = data.get("purged_seq")
            if self.traces.get(target) == data.get("purged_blob_sha256"):
                self.purged.add(self.traces[target])
            else:
                add(Problem("entry", "bad_purge", entry.seq, detail="purge names no earlier trace entry"))
        self.expected_seq, self.prev, self.last = entry.seq + 1, entry.entry_hash, entry

    @property
    def last_seq(self) -> int:
        return self.last.seq if self.last else 0


def verify_chain(session: Session, anchors: dict[int, str] | None = None) -> ChainReport:
    """Check every entry's hash, link, seq and columns, and the head row against the last entry.

    `anchors` maps seq -> entry hash recorded outside the database (an earlier verify's head,
    an export's head): they catch a rewrite of the chain's end together with its head row.
    Writers may append while this runs: the head is read after the walk (appends only move it
    forward), entries up to it that arrived meanwhile are walked too, later ones are left for
    the next run.
    """
    walk = _Walk(dict(anchors or {}))
    for entry in iter_entries(session):
        walk.feed(entry)
    head = read_head(session)
    if head is not None and head[0] > walk.last_seq:
        for entry in iter_entries(session, start=walk.last_seq + 1):
            if entry.seq > head[0]:
                break
            walk.feed(entry)
    problems = walk.problems
    for seq in sorted(walk.anchors):
        problems.append(Problem("entry", "anchor_missing", seq, detail="anchored entry no longer exists"))
    last = walk.last
    if head is None:
        if walk.count:
            problems.append(Problem("head", "head_missing", detail="chain head row is missing"))
    elif last is None:
        if head != (0, GENESIS):
            problems.append(Problem("head", "head_mismatch", detail=f"head says seq {head[0]} but no entries exist"))
    elif head != (last.seq, last.entry_hash):
        problems.append(Problem("head", "head_mismatch", detail=f"head says seq {head[0]}, last entry is {last.seq}: "
                                "entries removed from the end or head altered"))
    return ChainReport(walk.count, head, tuple(problems), {k: tuple(v) for k, v in walk.referenced.items()},
                       frozenset(walk.purged))


def verify_blobs(store: BlobStore, chain: ChainReport) -> tuple[list[Problem], int, list[str]]:
    """Decrypt and re-hash every referenced blob; list blobs nothing references."""
    problems: list[Problem] = []
    checked = 0
    for sha, seqs in sorted(chain.referenced.items()):
        if sha in chain.purged and not store.exists(sha):
            continue
        checked += 1
        where = "named by entries " + ",".join(map(str, seqs[:10])) + ("..." if len(seqs) > 10 else "")
        try:
            store.get(sha)
        except BlobMissing:
            problems.append(Problem("blob", "blob_missing", seqs[0], sha, where))
        except BlobCorrupt as exc:
            problems.append(Problem("blob", "blob_corrupt", seqs[0], sha, f"{exc}; {where}"))
    unreferenced = [sha for sha in store.iter() if sha not in chain.referenced]
    return problems, checked, unreferenced


def parse_anchor(text: str) -> tuple[int, str]:
    """'SEQ:HASH' as printed by verify and export."""
    seq, _, digest = text.partition(":")
    if not seq.isdigit() or len(digest) != 64:
        raise ValueError("an anchor is SEQ:ENTRY_HASH, e.g. 42:3f1c...")
    return int(seq), digest.lower()


def verify(db: Database, store: BlobStore, *, actor: str = "cli", anchors: dict[int, str] | None = None) -> VerifyReport:
    """Full verification; records the outcome in the audit trail."""
    with db.transaction() as session:
        chain = verify_chain(session, anchors)
    blob_problems, checked, unreferenced = verify_blobs(store, chain)
    report = VerifyReport(chain.entries, checked, chain.head, chain.problems + tuple(blob_problems),
                          tuple(unreferenced))
    with db.transaction() as session:
        audit.record(session, actor=actor, action="evidence.verified", record_type="evidence_chain",
                     record_id=chain.head[0] if chain.head else 0, outcome="ok" if report.ok else "failed")
    log.info("evidence.verified", entries=report.entries, blobs=checked, problems=len(report.problems),
             unreferenced=len(unreferenced))
    return report
