"""Capture at checkpoints with real Chromium; traces kept on failure only, encrypted, purged after retention."""
import errno
import io
import os
import json
import uuid
import zipfile
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from core.config import Settings
from core.crypto import KeyRing
from core.store.models import EvidenceEntry
from evidence.blobs import LocalBlobStore
from evidence.errors import BlobWriteFailed, CaptureFailed
from evidence.recorder import EvidenceRecorder
from evidence.traces import finish_trace, purge_expired_traces, purge_scratch, scratch_dir, start_trace, traced
from evidence.verify import verify

PORTAL = "http://127.0.0.1:9"  # never contacted: every request below is answered by page.route
CLAIMS_PAGE = """<!doctype html><html><head><title>Claim status</title></head><body>
<h1>Claim status results</h1>
<table aria-label="claims"><tr><th>Claim</th><th>Status</th></tr>{rows}</table>
<iframe name="newBodyFrame" srcdoc="<p>remittance viewer inside the frame</p>"></iframe>
<button>Submit reconsideration</button></body></html>"""


class FixedClock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture
def store(tmp_path):
    return LocalBlobStore(tmp_path / "blobs", KeyRing.load(Settings(data_dir=tmp_path / "var"), create=True))


@pytest.fixture
def recorder(db, store):
    return EvidenceRecorder(db, store, run_id=str(uuid.uuid4()), portal="availity", account_alias="acme-availity",
                            clock=FixedClock(datetime(2026, 11, 2, 14, 30, tzinfo=timezone.utc)))


async def _serve(page, rows: int = 3):
    body = CLAIMS_PAGE.format(rows="".join(f"<tr><td>C{i:05d}</td><td>A2 denied</td></tr>" for i in range(rows)))
    await page.route(f"{PORTAL}/**", lambda route: route.fulfill(status=200, content_type="text/html", body=body))
    await page.goto(f"{PORTAL}/claims/status?page=1")


async def test_capture_page_stores_each_artifact_encrypted_and_chained(db, store, recorder, page):
    await _serve(page)
    entries = await recorder.capture_page(page, "claim_status_results", claim_id=42,
                                          requested_url=f"{PORTAL}/claims/search")
    assert [e.data["artifact"] for e in entries] == ["screenshot", "html", "aria_snapshot", "frames_html", "metadata"]
    assert all(e.claim_id == 42 and e.run_id == recorder.run_id and e.data["step"] == "claim_status_results"
               for e in entries)
    blobs = {e.data["artifact"]: store.get(e.blob_sha256) for e in entries}
    assert blobs["screenshot"][:8] == b"\x89PNG\r\n\x1a\n"
    assert b"Claim status results" in blobs["html"]
    assert 'button "Submit reconsideration"' in blobs["aria_snapshot"].decode()
    frames = json.loads(blobs["frames_html"])
    assert frames[0]["name"] == "newBodyFrame" and "remittance viewer" in frames[0]["html"]
    meta = json.loads(blobs["metadata"])
    assert set(meta) == {"url", "final_url", "captured_at", "run_id", "step", "portal", "account_alias",
                         "payerfleet_version", "browser", "viewport", "frame_count"}
    assert meta["url"] == f"{PORTAL}/claims/search" and meta["final_url"] == f"{PORTAL}/claims/status?page=1"
    assert meta["captured_at"] == "2026-11-02T14:30:00.000000+00:00" and meta["account_alias"] == "acme-availity"
    assert meta["browser"]["version"] and meta["payerfleet_version"]
    for e in entries:  # encrypted at rest: no page text in the stored files, no URL in the clear manifest
        assert b"Claim status" not in store.path_for(e.blob_sha256).read_bytes()
        assert "claims/status" not in e.content
    assert verify(db, store).ok


async def test_capture_cost_per_checkpoint(recorder, page):
    """Measured, printed for the report: a realistic results page of 50 rows, five checkpoints."""
    await _serve(page, rows=50)
    for i in range(5):
        await recorder.capture_page(page, f"results_{i}")
    costs = recorder.costs
    print("\ncapture cost per checkpoint: "
          + ", ".join(f"{c.ms:.0f} ms (browser {c.browser_ms:.0f}, store {c.store_ms:.0f}) / {c.bytes} B"
                      for c in costs)
          + f"; median {sorted(c.ms for c in costs)[2]:.0f} ms, {sorted(c.bytes for c in costs)[2]} B")
    assert len(costs) == 5 and all(c.bytes > 10_000 and c.ms > 0 for c in costs)


async def test_capture_of_a_closed_page_fails_typed_and_records_nothing(db, recorder, context):
    page = await context.new_page()
    await page.set_content("<p>x</p>")
    await page.close()
    with pytest.raises(CaptureFailed, match="capture at step 'after_close'"):
        await recorder.capture_page(page, "after_close")
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(EvidenceEntry)) == 0


async def test_disk_full_mid_checkpoint_records_no_entry(db, store, recorder, page, monkeypatch):
    await _serve(page)
    real = store._write_all
    calls = []

    def third_write_fails(fd, data):
        calls.append(len(data))
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(fd, data)

    monkeypatch.setattr(store, "_write_all", third_write_fails)
    with pytest.raises(BlobWriteFailed):
        await recorder.capture_page(page, "results")
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(EvidenceEntry)) == 0
    assert len(list(store.iter())) == 2 and list((store.root / "tmp").iterdir()) == []
    report = verify(db, store)
    assert report.ok and len(report.unreferenced_blobs) == 2  # complete blobs, named by nothing: listed
    monkeypatch.undo()
    assert len(await recorder.capture_page(page, "results")) == 5


async def test_trace_is_kept_encrypted_on_failure(db, store, recorder, context):
    page = await context.new_page()
    with pytest.raises(RuntimeError, match="layout changed"):
        async with traced(context, recorder, step="claim_status"):
            await page.set_content("<button>Search</button>")
            await page.get_by_role("button", name="Search").click()
            raise RuntimeError("layout changed")
    with db.transaction() as s:
        rows = s.scalars(select(EvidenceEntry)).all()
    assert len(rows) == 1
    entry = json.loads(rows[0].content)["data"]
    assert entry["artifact"] == "trace" and entry["run_failed"] is True and entry["media_type"] == "application/zip"
    trace = store.get(rows[0].blob_sha256)
    assert zipfile.ZipFile(io.BytesIO(trace)).namelist()  # a real Playwright trace archive
    assert b"Search" not in store.path_for(rows[0].blob_sha256).read_bytes()
    assert list((store.root / "tmp").glob("trace-*")) == []  # the plaintext spool is gone


async def test_trace_is_discarded_on_success_unless_policy_always(db, recorder, context):
    page = await context.new_page()
    async with traced(context, recorder):
        await page.set_content("<p>fine</p>")
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(EvidenceEntry)) == 0
    await start_trace(context)
    await page.set_content("<p>kept anyway</p>")
    kept = await finish_trace(context, recorder, failed=False, policy="always")
    assert kept is not None and kept.data["run_failed"] is False


async def test_expired_traces_are_purged_with_a_chained_record(db, store, recorder, context):
    page = await context.new_page()
    await start_trace(context)
    await page.set_content("<p>failing run</p>")
    trace = await finish_trace(context, recorder, failed=True)
    captured = recorder.clock()
    screenshot = await recorder.capture_page(page, "kept_evidence")
    assert purge_expired_traces(db, store, retention_days=30, now=captured + timedelta(days=29)).purged == 0
    result = purge_expired_traces(db, store, retention_days=30, now=captured + timedelta(days=31))
    assert (result.purged, result.kept) == (1, 0)
    assert not store.exists(trace.blob_sha256)
    assert all(store.exists(e.blob_sha256) for e in screenshot)  # only traces expire
    report = verify(db, store)
    assert report.ok, report.problems  # the recorded purge explains the missing blob
    assert purge_expired_traces(db, store, retention_days=30, now=captured + timedelta(days=40)).purged == 0
    with db.transaction() as s:
        purges = [json.loads(c)["data"] for c in s.scalars(select(EvidenceEntry.content)) if "trace.purged" in c]
    assert [(p["purged_seq"], p["purged_blob_sha256"]) for p in purges] == [(trace.seq, trace.blob_sha256)]
    # An unrecorded removal of any blob is still a problem.
    store.delete(screenshot[0].blob_sha256)
    assert [p.code for p in verify(db, store).problems] == ["blob_missing"]


async def test_a_lost_trace_never_hides_the_run_error(db, recorder, new_context):
    context = await new_context()
    with pytest.raises(RuntimeError, match="portal down"):
        async with traced(context, recorder):
            await context.close()  # e.g. the browser crashed: the trace cannot be saved
            raise RuntimeError("portal down")
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(EvidenceEntry)) == 0


def test_stale_plaintext_scratch_is_removed_but_fresh_is_left(store):
    scratch = scratch_dir(store)
    stale = scratch / "trace-crashed"
    stale.mkdir()
    (stale / "trace.zip").write_bytes(b"PK plaintext trace")
    fresh = scratch / "trace-running"
    fresh.mkdir()
    now = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)
    os.utime(stale, (now.timestamp() - 7 * 3600,) * 2)
    os.utime(fresh, (now.timestamp() - 60,) * 2)
    assert purge_scratch(store, now=now) == 1
    assert not stale.exists() and fresh.exists()
