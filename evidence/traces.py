"""Playwright traces: recorded per run, kept (encrypted, chained) only on failure, purged after retention."""
from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

import structlog
from sqlalchemy import select

from core import audit
from core.store.db import Database
from core.store.models import EvidenceEntry
from evidence import manifest
from evidence.blobs import BlobStore, LocalBlobStore
from evidence.manifest import EntryDraft, ManifestEntry, iso_utc
from evidence.recorder import EvidenceRecorder
from evidence.verify import PURGE_EVENT

log = structlog.get_logger()
KeepPolicy = Literal["on_failure", "always", "never"]
TRACE_MEDIA_TYPE = "application/zip"


def scratch_dir(store: BlobStore) -> Path | None:
    """A private (0700) directory beside the blobs for plaintext that must briefly touch disk."""
    if isinstance(store, LocalBlobStore):
        path = store.root / "tmp"
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        return path
    return None


def trace_launch_kwargs(store: BlobStore) -> dict:
    """Extra browser launch options so Playwright's own trace spool stays in the private scratch dir."""
    scratch = scratch_dir(store)
    return {"traces_dir": str(scratch / "playwright-traces")} if scratch else {}


async def start_trace(context) -> None:
    """Start tracing a browser context (screenshots and DOM snapshots; no source files)."""
    await context.tracing.start(screenshots=True, snapshots=True, sources=False)


def _keep(policy: KeepPolicy, failed: bool) -> bool:
    return policy == "always" or (policy == "on_failure" and failed)


async def finish_trace(context, recorder: EvidenceRecorder, *, failed: bool, policy: KeepPolicy = "on_failure",
                       step: str = "run", claim_id=None, work_item_id=None, appeal_id=None) -> ManifestEntry | None:
    """Stop tracing; store the trace as evidence if the policy keeps it, else discard it unsaved."""
    if not _keep(policy, failed):
        await context.tracing.stop()
        log.info("evidence.trace_discarded", run_id=recorder.run_id)
        return None
    tmpdir = Path(tempfile.mkdtemp(prefix="trace-", dir=scratch_dir(recorder.blobs)))
    try:
        path = tmpdir / "trace.zip"
        await context.tracing.stop(path=str(path))
        data = await asyncio.to_thread(path.read_bytes)
        entry = await asyncio.to_thread(recorder.capture_trace, data, step, failed=failed, claim_id=claim_id,
                                        work_item_id=work_item_id, appeal_id=appeal_id)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    log.info("evidence.trace_kept", run_id=recorder.run_id, seq=entry.seq, bytes=entry.data["size"])
    return entry


@asynccontextmanager
async def traced(context, recorder: EvidenceRecorder, *, policy: KeepPolicy = "on_failure",
                 step: str = "run") -> AsyncIterator[None]:
    """Trace the block; on an exception keep the trace (policy permitting) and re-raise."""
    await start_trace(context)
    try:
        yield
    except BaseException as run_error:
        try:
            await finish_trace(context, recorder, failed=True, policy=policy, step=step)
        except Exception as trace_error:  # losing the trace must not hide why the run failed
            log.warning("evidence.trace_lost", run_id=recorder.run_id, error_type=type(trace_error).__name__,
                        run_error_type=type(run_error).__name__)
        raise
    await finish_trace(context, recorder, failed=False, policy=policy, step=step)


@dataclass(frozen=True)
class PurgeResult:
    # Trace entries whose blob was removed by this call.
    purged: int
    # Trace entries still inside the retention period.
    kept: int


def purge_expired_traces(db: Database, store: BlobStore, *, retention_days: int, now: datetime | None = None,
                         actor: str = "retention") -> PurgeResult:
    """Remove trace blobs older than retention_days; each removal is first recorded in the chain.

    The purge event is appended before the blob is deleted, so a crash in between leaves a
    recorded purge whose blob still exists (finished by the next call), never an unexplained hole.
    """
    now = now or manifest.utc_now()
    cutoff = iso_utc(now - timedelta(days=retention_days))
    with db.transaction() as session:
        rows = session.scalars(select(EvidenceEntry).where(
            EvidenceEntry.blob_sha256.is_not(None), EvidenceEntry.content.like('%"artifact":"trace"%'))
            .order_by(EvidenceEntry.seq)).all()
        traces = [manifest.ManifestEntry.from_row(r) for r in rows]
        done_rows = session.scalars(select(EvidenceEntry.content).where(
            EvidenceEntry.kind == "event", EvidenceEntry.content.like(f'%"event":"{PURGE_EVENT}"%'))).all()
    already = {json.loads(c)["data"].get("purged_seq") for c in done_rows}
    purged = kept = 0
    for trace in traces:
        if trace.data.get("artifact") != "trace":
            continue
        if trace.body["created_at"] >= cutoff:
            kept += 1
            continue
        if trace.seq not in already:
            with db.transaction() as session:
                manifest.append_in(session, [EntryDraft(
                    kind="event", run_id=trace.run_id, claim_id=trace.claim_id, work_item_id=trace.work_item_id,
                    appeal_id=trace.appeal_id,
                    data={"event": PURGE_EVENT, "purged_seq": trace.seq, "purged_blob_sha256": trace.blob_sha256,
                          "retention_days": retention_days})], actor=actor)
                audit.record(session, actor=actor, action="evidence.trace_purged", record_type="evidence_entry",
                             record_id=trace.seq)
        if _only_traces_reference(db, trace.blob_sha256) and store.delete(trace.blob_sha256):
            purged += 1
            log.info("evidence.trace_purged", seq=trace.seq)
    return PurgeResult(purged, kept)


def purge_scratch(store: BlobStore, *, now: datetime | None = None, older_than: timedelta = timedelta(hours=6)) -> int:
    """Remove plaintext left in the scratch dir by a crashed trace save (and Playwright's spool)."""
    scratch = scratch_dir(store)
    if scratch is None:
        return 0
    cutoff = (now or manifest.utc_now()).timestamp() - older_than.total_seconds()
    removed = 0
    for path in scratch.iterdir():
        if path.stat().st_mtime >= cutoff:
            continue  # possibly in use by a running capture
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed += 1
    if removed:
        log.info("evidence.scratch_purged", removed=removed)
    return removed


def _only_traces_reference(db: Database, sha256: str) -> bool:
    with db.transaction() as session:
        contents = session.scalars(select(EvidenceEntry.content).where(EvidenceEntry.blob_sha256 == sha256)).all()
    return all('"artifact":"trace"' in c for c in contents)
