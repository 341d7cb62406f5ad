"""Capture at named checkpoints: the one API automations call to record evidence."""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import structlog

from core.store.db import Database
from evidence import manifest
from evidence.blobs import BlobStore
from evidence.errors import CaptureFailed
from evidence.manifest import Clock, EntryDraft, ManifestEntry, canonical_json, iso_utc

log = structlog.get_logger()

# Artifacts of one page checkpoint, in capture order: (artifact, media type, file extension).
PAGE_ARTIFACTS = (
    ("screenshot", "image/png", "png"),
    ("html", "text/html; charset=utf-8", "html"),
    ("aria_snapshot", "text/yaml; charset=utf-8", "yaml"),
    ("frames_html", "application/json", "json"),
    ("metadata", "application/json", "json"),
)
# Child frames beyond this are noted in metadata but not stored (ad and tracking iframes).
MAX_FRAMES = 10


@lru_cache(maxsize=1)
def payerfleet_version() -> str:
    try:
        return version("payerfleet")
    except PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True)
class CheckpointCost:
    """What one capture_page cost: wall time and stored plaintext bytes."""

    step: str
    # Total wall time of the checkpoint.
    ms: float
    # Plaintext bytes stored (before encryption, which adds about a third: Fernet is base64).
    bytes: int
    # Of ms: time spent in the browser (screenshot, HTML, ARIA) and in blob writes plus manifest append.
    browser_ms: float = 0.0
    store_ms: float = 0.0


class EvidenceRecorder:
    """Records a run's evidence: blobs first (encrypted, content-addressed), then manifest entries.

    A blob without a manifest entry is harmless (unreferenced, reported by verify); a manifest
    entry is only ever written after every blob it names is durably stored.
    """

    def __init__(self, db: Database, blobs: BlobStore, *, run_id: str, portal: str, account_alias: str,
                 actor: str = "automation", clock: Clock = manifest.utc_now):
        self.db = db
        self.blobs = blobs
        self.run_id = run_id
        self.portal = portal
        self.account_alias = account_alias
        self.actor = actor
        self.clock = clock
        # Costs of this recorder's page checkpoints, for benchmarks and the run summary.
        self.costs: list[CheckpointCost] = []

    def _links(self, claim_id, work_item_id, appeal_id) -> dict[str, Any]:
        return {"run_id": self.run_id, "claim_id": claim_id, "work_item_id": work_item_id, "appeal_id": appeal_id}

    def _artifact_data(self, step: str, artifact: str, media_type: str, size: int, **extra: Any) -> dict[str, Any]:
        return {"step": step, "artifact": artifact, "media_type": media_type, "size": size,
                "portal": self.portal, "account_alias": self.account_alias, **extra}

    def _store(self, items: list[tuple[bytes, dict[str, Any]]], links: dict[str, Any],
               kind: str = "artifact") -> list[ManifestEntry]:
        """Put every blob, then append all entries in one transaction (all or none)."""
        drafts = [EntryDraft(kind=kind, blob_sha256=self.blobs.put(data), data=facts, **links) for data, facts in items]
        return manifest.append(self.db, drafts, actor=self.actor, clock=self.clock)

    async def capture_page(self, page, step: str, *, claim_id=None, work_item_id=None, appeal_id=None,
                           requested_url: str | None = None) -> list[ManifestEntry]:
        """Screenshot, HTML (main and child frames), ARIA snapshot and metadata of the page now."""
        started = time.perf_counter()
        captured_at = self.clock()
        try:
            screenshot = await page.screenshot(full_page=True, type="png")
            html = await page.content()
            aria = await page.locator("body").aria_snapshot()
            frames = []
            for frame in page.frames[1:MAX_FRAMES + 1]:
                frames.append({"name": frame.name, "url": frame.url, "html": await frame.content()})
            browser = page.context.browser
            browser_version = browser.version if browser is not None else "unknown"
            viewport = page.viewport_size
        except Exception as exc:  # any Playwright failure: record nothing rather than a partial checkpoint
            raise CaptureFailed(f"capture at step {step!r} failed: {exc.__class__.__name__}") from exc
        metadata = {
            "url": requested_url or page.url,
            "final_url": page.url,
            "captured_at": iso_utc(captured_at),
            "run_id": self.run_id,
            "step": step,
            "portal": self.portal,
            "account_alias": self.account_alias,
            "payerfleet_version": payerfleet_version(),
            "browser": {"name": "chromium", "version": browser_version},
            "viewport": viewport,
            "frame_count": len(page.frames) - 1,
        }
        payloads = {
            "screenshot": screenshot,
            "html": html.encode("utf-8"),
            "aria_snapshot": aria.encode("utf-8"),
            "frames_html": canonical_json(frames).encode("utf-8"),
            "metadata": canonical_json(metadata).encode("utf-8"),
        }
        items = [(payloads[name], self._artifact_data(step, name, media, len(payloads[name]), ext=ext,
                                                      captured_at=iso_utc(captured_at)))
                 for name, media, ext in PAGE_ARTIFACTS]
        links = self._links(claim_id, work_item_id, appeal_id)
        browser_done = time.perf_counter()
        entries = await asyncio.to_thread(self._store, items, links)
        done = time.perf_counter()
        cost = CheckpointCost(step, (done - started) * 1000, sum(len(p) for p in payloads.values()),
                              (browser_done - started) * 1000, (done - browser_done) * 1000)
        self.costs.append(cost)
        log.info("evidence.checkpoint_captured", run_id=self.run_id, step=step, entries=len(entries),
                 bytes=cost.bytes, ms=round(cost.ms, 1))
        return entries

    def capture_file(self, data: bytes, step: str, *, name: str, media_type: str, claim_id=None,
                     work_item_id=None, appeal_id=None) -> ManifestEntry:
        """A downloaded file or confirmation, stored as-is; its original name goes to an encrypted sidecar."""
        ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        ext = ext if ext.isalnum() and len(ext) <= 8 else "bin"  # the manifest is clear text: no odd suffixes
        facts = self._artifact_data(step, "file", media_type, len(data), ext=ext,
                                    captured_at=iso_utc(self.clock()))
        meta = canonical_json({"name": name, "media_type": media_type, "step": step, "run_id": self.run_id})
        links = self._links(claim_id, work_item_id, appeal_id)
        # The original filename may carry PHI (e.g. a member id), so it goes in an encrypted sidecar.
        entries = self._store([(data, facts), (meta.encode("utf-8"),
                                               self._artifact_data(step, "file_metadata", "application/json",
                                                                   len(meta.encode("utf-8")), ext="json",
                                                                   captured_at=facts["captured_at"]))], links)
        log.info("evidence.file_captured", run_id=self.run_id, step=step, bytes=len(data), seq=entries[0].seq)
        return entries[0]

    def capture_trace(self, data: bytes, step: str, *, failed: bool, claim_id=None, work_item_id=None,
                      appeal_id=None) -> ManifestEntry:
        """A Playwright trace zip (called by evidence.traces; traces hold PHI like any screenshot)."""
        facts = self._artifact_data(step, "trace", "application/zip", len(data), ext="zip",
                                    captured_at=iso_utc(self.clock()), run_failed=failed)
        return self._store([(data, facts)], self._links(claim_id, work_item_id, appeal_id))[0]

    def record_event(self, step: str, event: str, *, details: dict, claim_id=None, work_item_id=None,
                     appeal_id=None) -> ManifestEntry:
        """An evidence event (e.g. submission confirmed); details are stored encrypted, their hash chained."""
        body = canonical_json({"event": event, "step": step, "details": details}).encode("utf-8")
        facts = {"step": step, "event": event, "media_type": "application/json", "size": len(body), "ext": "json",
                 "portal": self.portal, "account_alias": self.account_alias, "captured_at": iso_utc(self.clock())}
        entry = self._store([(body, facts)], self._links(claim_id, work_item_id, appeal_id), kind="event")[0]
        log.info("evidence.event_recorded", run_id=self.run_id, step=step, event_name=event, seq=entry.seq)
        return entry
