"""Manifest contract on both backends: linked hashes, serialised concurrent appends, audit, guards."""
import threading
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from core.store.db import Database
from core.store.models import AuditEvent, EvidenceChainHead, EvidenceEntry
from evidence import manifest
from evidence.errors import ChainBroken
from evidence.manifest import GENESIS, EntryDraft, entry_hash, read_head
from evidence.recorder import EvidenceRecorder
from evidence.testing import MemoryBlobStore
from evidence.verify import verify, verify_chain


class StepClock:
    """Deterministic UTC clock: each call is one second after the last."""

    def __init__(self):
        self.now = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)

    def __call__(self):
        self.now += timedelta(seconds=1)
        return self.now


def _recorder(db, store, run_id=None):
    return EvidenceRecorder(db, store, run_id=run_id or str(uuid.uuid4()), portal="availity",
                            account_alias="acme-main", clock=StepClock())


def test_entries_link_by_hash_and_head_follows(db):
    store = MemoryBlobStore()
    rec = _recorder(db, store)
    a = rec.capture_file(b"%PDF-1.7 letter", "download_letter", name="letter.pdf", media_type="application/pdf",
                         claim_id=11)
    b = rec.record_event("submit", "submission.confirmed", details={"tracking": "RC-1"}, appeal_id=5)
    with db.transaction() as s:
        rows = s.scalars(select(EvidenceEntry).order_by(EvidenceEntry.seq)).all()
        head = read_head(s)
    assert [r.seq for r in rows] == [1, 2, 3]  # file, its encrypted name sidecar, the event
    assert rows[0].prev_hash == GENESIS
    for before, after in zip(rows, rows[1:]):
        assert after.prev_hash == before.entry_hash
    for r in rows:
        assert entry_hash(r.prev_hash, r.content) == r.entry_hash
    assert head == (3, b.entry_hash) and a.seq == 1
    assert (rows[0].claim_id, rows[0].run_id, rows[2].appeal_id) == (11, rec.run_id, 5)
    # The original filename and event details are in encrypted blobs, not in the clear manifest.
    assert "letter.pdf" not in rows[1].content and "RC-1" not in rows[2].content
    assert b"letter.pdf" in store.get(rows[1].blob_sha256) and b"RC-1" in store.get(rows[2].blob_sha256)


def test_every_capture_is_in_the_audit_trail(db):
    rec = _recorder(db, MemoryBlobStore())
    entry = rec.record_event("login", "session.started", details={})
    with db.transaction() as s:
        events = s.scalars(select(AuditEvent)).all()
    assert [(e.actor, e.action, e.record_type, e.record_id, e.outcome) for e in events] == [
        ("automation", "evidence.captured", "evidence_entry", str(entry.seq), "ok")]


def test_database_refuses_update_and_delete_of_entries(db):
    _recorder(db, MemoryBlobStore()).record_event("s", "e", details={})
    for stmt in ("UPDATE evidence_entries SET claim_id = 9", "DELETE FROM evidence_entries"):
        with pytest.raises(DBAPIError, match="append-only"):
            with db.transaction() as s:
                s.execute(text(stmt))


def test_failed_append_writes_nothing(db):
    rec = _recorder(db, MemoryBlobStore())
    rec.record_event("s", "first", details={})

    def broken_clock():
        raise RuntimeError("clock failed under the lock")

    with pytest.raises(RuntimeError):
        manifest.append(db, [EntryDraft(kind="event", data={"n": 1}), EntryDraft(kind="event", data={"n": 2})],
                        actor="t", clock=broken_clock)
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(EvidenceEntry)) == 1
        assert read_head(s)[0] == 1
    with pytest.raises(ValueError):
        EntryDraft(kind="screenshot")
    with pytest.raises(ValueError):
        EntryDraft(kind="event", data={"bad": float("nan")})


def test_missing_head_with_entries_refuses_appends(db):
    rec = _recorder(db, MemoryBlobStore())
    rec.record_event("s", "first", details={})
    with db.transaction() as s:
        s.execute(EvidenceChainHead.__table__.delete())
    with pytest.raises(ChainBroken, match="head row is missing"):
        rec.record_event("s", "second", details={})
    with db.transaction() as s:
        assert [p.code for p in verify_chain(s).problems] == ["head_missing"]


def test_concurrent_writers_never_fork_the_chain(db):
    """Several workers append at once (own connections, own threads): seq and links stay one line."""
    writers, per_writer = 4, 15
    store = MemoryBlobStore()
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        own = Database(db.url)
        try:
            rec = _recorder(own, store, run_id=f"00000000-0000-0000-0000-{n:012d}")
            barrier.wait()
            for i in range(per_writer):
                rec.record_event(f"step{i}", "tick", details={"writer": n, "i": i})
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            own.dispose()

    finished = threading.Event()
    seen_problems: list = []
    verifier_passes = []

    def verifier() -> None:
        """verify runs beside the writers (as it will in production) and must not see phantom breaks."""
        own = Database(db.url)
        try:
            while not finished.is_set() or not verifier_passes:
                with own.transaction() as s:
                    seen_problems.extend(verify_chain(s).problems)
                verifier_passes.append(1)
        finally:
            own.dispose()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(writers)]
    checker = threading.Thread(target=verifier)
    checker.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    finished.set()
    checker.join()
    print(f"\nverifier passes during concurrent appends: {len(verifier_passes)}")
    assert errors == [] and seen_problems == [] and verifier_passes
    report = verify(db, store)
    assert report.ok, report.problems
    assert report.entries == writers * per_writer
    with db.transaction() as s:
        seqs = s.scalars(select(EvidenceEntry.seq).order_by(EvidenceEntry.seq)).all()
        runs = s.scalars(select(func.count(func.distinct(EvidenceEntry.run_id)))).one()
    assert seqs == list(range(1, writers * per_writer + 1)) and runs == writers


def test_crash_between_blob_and_manifest_leaves_only_an_unreferenced_blob(db, monkeypatch):
    store = MemoryBlobStore()
    rec = _recorder(db, store)

    def database_gone(*_a, **_k):
        raise ConnectionError("database went away")

    monkeypatch.setattr(manifest, "append", database_gone)
    with pytest.raises(ConnectionError):
        rec.record_event("submit", "submission.confirmed", details={"tracking": "RC-9"})
    monkeypatch.undo()
    report = verify(db, store)
    assert report.ok and report.entries == 0 and len(report.unreferenced_blobs) == 1
