"""Tamper trials: an attacker with database and disk access edits, deletes, reorders, flips bytes.

The append-only triggers stop accidents, not attackers: each trial first drops/disables them,
tampers inside a transaction, runs the verifier on that transaction, then rolls back.
Every trial must be detected and located at the right entry or blob.
"""
import random
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.orm import Session

from core.config import Settings
from core.crypto import KeyRing
from evidence.blobs import LocalBlobStore
from evidence.manifest import entry_hash, read_head
from evidence.recorder import EvidenceRecorder
from evidence.verify import verify_blobs, verify_chain

N_FILES, N_EVENTS = 4, 4  # 2 entries per file (file + encrypted name sidecar) + 1 per event = 12


@pytest.fixture
def chain(db, tmp_path):
    store = LocalBlobStore(tmp_path / "blobs", KeyRing.load(Settings(data_dir=tmp_path / "var"), create=True))
    rec = EvidenceRecorder(db, store, run_id=str(uuid.uuid4()), portal="uhc", account_alias="clinic-uhc")
    for i in range(N_FILES):
        rec.capture_file(f"decision letter {i}".encode() * 50, f"letter_{i}", name=f"l{i}.pdf",
                         media_type="application/pdf", claim_id=100 + i)
        rec.record_event(f"submit_{i}", "submission.confirmed", details={"tracking": f"T{i}"}, appeal_id=200 + i)
    with db.transaction() as s:
        clean = verify_chain(s)
    assert clean.problems == () and clean.entries == 12
    return store, clean


@contextmanager
def attacker(db):
    """A connection in a transaction with the append-only triggers out of the way; always rolled back."""
    sqlite = db.dialect == "sqlite"
    if sqlite:
        # pysqlite would autocommit DDL; explicit BEGIN makes the trigger drop part of the rollback.
        engine = create_engine(db.url, connect_args={"timeout": 30})
        event.listen(engine, "connect", lambda conn, _rec: setattr(conn, "isolation_level", None))
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
    else:
        engine = db.engine
    with engine.connect() as conn:
        tx = conn.begin()
        try:
            if sqlite:
                conn.exec_driver_sql("DROP TRIGGER evidence_entries_no_update")
                conn.exec_driver_sql("DROP TRIGGER evidence_entries_no_delete")
            else:
                conn.exec_driver_sql("ALTER TABLE evidence_entries DISABLE TRIGGER evidence_entries_append_only")
            yield conn
        finally:
            tx.rollback()
    if sqlite:
        engine.dispose()


def _row(conn, seq):
    return conn.execute(text("SELECT prev_hash, content FROM evidence_entries WHERE seq = :s"), {"s": seq}).one()


def edit_content(conn, k):
    conn.execute(text("UPDATE evidence_entries SET content = replace(content, '\"step\":\"', '\"step\":\"x') "
                      "WHERE seq = :k"), {"k": k})


def edit_and_rehash(conn, k):
    prev, content = _row(conn, k)
    forged = content.replace('"step":"', '"step":"forged_')
    conn.execute(text("UPDATE evidence_entries SET content = :c, entry_hash = :h WHERE seq = :k"),
                 {"c": forged, "h": entry_hash(prev, forged), "k": k})


def edit_link_column(conn, k):
    conn.execute(text("UPDATE evidence_entries SET claim_id = 999999, appeal_id = 888888 WHERE seq = :k"), {"k": k})


def edit_created_at(conn, k):
    conn.execute(text("UPDATE evidence_entries SET created_at = :t WHERE seq = :k"),
                 {"t": datetime(2020, 1, 1, tzinfo=timezone.utc), "k": k})


def delete_entry(conn, k):
    conn.execute(text("DELETE FROM evidence_entries WHERE seq = :k"), {"k": k})


def swap_with_next(conn, k):
    for old, new in ((k, -1), (k + 1, k), (-1, k + 1)):
        conn.execute(text("UPDATE evidence_entries SET seq = :n WHERE seq = :o"), {"n": new, "o": old})


# (name, tamper, where the first problem must be reported: entry k, entry k+1, or head when k is last)
ENTRY_TAMPERS = [
    ("edit content", edit_content, lambda k, n: k),
    ("edit content and recompute its hash", edit_and_rehash, lambda k, n: k + 1 if k < n else "head"),
    ("relink to another claim/appeal", edit_link_column, lambda k, n: k),
    ("backdate", edit_created_at, lambda k, n: k),
    ("delete", delete_entry, lambda k, n: k + 1 if k < n else "head"),
    ("reorder (swap with next)", swap_with_next, lambda k, n: k),
]


def test_every_manifest_tampering_is_detected_and_located(db, chain):
    _, clean = chain
    n = clean.entries
    trials = detected = 0
    misses = []
    for name, tamper, expected in ENTRY_TAMPERS:
        for k in range(1, n + 1):
            if tamper is swap_with_next and k == n:
                continue
            trials += 1
            with attacker(db) as conn:
                tamper(conn, k)
                problems = verify_chain(Session(bind=conn)).problems
            where = expected(k, n)
            located = problems and (problems[0].where == "head" if where == "head" else problems[0].seq == where)
            if problems and located:
                detected += 1
            else:
                misses.append((name, k, [str(p) for p in problems]))
    print(f"\nmanifest tamper trials: {trials}, detected and located: {detected}")
    assert misses == [] and detected == trials == 6 * n - 1


def test_every_blob_tampering_is_detected_and_located(db, chain):
    store, clean = chain
    rng = random.Random(20261127)
    blobs = sorted(clean.referenced)
    trials = detected = 0
    for sha in blobs:
        path = store.path_for(sha)
        original = path.read_bytes()
        for _ in range(5):  # flip one random bit at a random offset
            trials += 1
            raw = bytearray(original)
            raw[rng.randrange(len(raw))] ^= 1 << rng.randrange(8)
            path.write_bytes(bytes(raw))
            problems, _, _ = verify_blobs(store, clean)
            detected += [(p.code, p.blob_sha256) for p in problems] == [("blob_corrupt", sha)]
        trials += 1
        path.unlink()  # deleted blob
        problems, _, _ = verify_blobs(store, clean)
        detected += [(p.code, p.blob_sha256) for p in problems] == [("blob_missing", sha)]
        path.write_bytes(original)
    a, b = store.path_for(blobs[0]), store.path_for(blobs[1])  # swapped ciphertexts
    ta, tb = a.read_bytes(), b.read_bytes()
    a.write_bytes(tb), b.write_bytes(ta)
    trials += 1
    problems, _, _ = verify_blobs(store, clean)
    detected += sorted(p.blob_sha256 for p in problems if p.code == "blob_corrupt") == sorted(blobs[:2])
    a.write_bytes(ta), b.write_bytes(tb)
    print(f"\nblob tamper trials: {trials}, detected and located: {detected}")
    assert detected == trials == len(blobs) * 6 + 1
    assert verify_blobs(store, clean)[0] == []


def test_tail_rewrite_with_head_is_caught_only_by_an_anchor(db, chain):
    """Removing the last entry AND rewriting the head row is self-consistent; an external anchor catches it."""
    _, clean = chain
    with db.transaction() as s:
        head = read_head(s)
    with attacker(db) as conn:
        conn.execute(text("DELETE FROM evidence_entries WHERE seq = :k"), {"k": head[0]})
        prev = conn.execute(text("SELECT entry_hash FROM evidence_entries WHERE seq = :k"), {"k": head[0] - 1}).scalar()
        conn.execute(text("UPDATE evidence_chain_head SET seq = :s, entry_hash = :h"), {"s": head[0] - 1, "h": prev})
        session = Session(bind=conn)
        assert verify_chain(session).problems == ()  # the documented limit of an internal chain
        anchored = verify_chain(session, {head[0]: head[1]}).problems
    assert [(p.code, p.seq) for p in anchored] == [("anchor_missing", head[0])]
