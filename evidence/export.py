"""Export bundles: decrypted artifacts plus the manifest slice, verifiable with sha256sum."""
from __future__ import annotations

import io
import json
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import structlog

from core import audit
from core.store.db import Database
from evidence.blobs import BlobStore
from evidence.bundle_readme import README, VERIFY_SH
from evidence.errors import BlobMissing, ChainBroken, ExportFailed, NothingToExport
from evidence.manifest import (
    ManifestEntry, entries_for, entry_hash, iso_utc, iter_entries, link_preimage, read_head, utc_now,
)
from evidence.recorder import payerfleet_version
from evidence.verify import PURGE_EVENT

log = structlog.get_logger()
FORMAT = "payerfleet-evidence-export/1"


@dataclass(frozen=True)
class Selection:
    """Which records to export: exactly one of appeal, claim or run."""

    appeal_id: int | None = None
    claim_id: int | None = None
    run_id: str | None = None

    def __post_init__(self) -> None:
        if sum(v is not None for v in (self.appeal_id, self.claim_id, self.run_id)) != 1:
            raise ValueError("select exactly one of appeal_id, claim_id, run_id")

    @property
    def record(self) -> tuple[str, str]:
        if self.appeal_id is not None:
            return "appeal", str(self.appeal_id)
        if self.claim_id is not None:
            return "claim", str(self.claim_id)
        return "run", str(self.run_id)


@dataclass(frozen=True)
class ExportResult:
    path: Path
    entries: int
    files: int
    purged: int
    head: tuple[int, str]


def _safe(text: str, limit: int = 40) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)[:limit] or "x"


def _pad(seq: int) -> str:
    return f"{seq:010d}"


def artifact_name(entry: ManifestEntry) -> str:
    data = entry.data
    what = data.get("artifact") or ("event" if entry.kind == "event" else "blob")
    return f"artifacts/{_pad(entry.seq)}-{_safe(str(data.get('step', 'step')))}-{_safe(what)}.{_safe(str(data.get('ext', 'bin')), 10)}"


def _chain_segment(db: Database, start: int) -> tuple[list[tuple[int, str, str, str]], tuple[int, str]]:
    """(seq, prev, content_sha, entry_hash) from `start` to the head, checked link by link."""
    rows: list[tuple[int, str, str, str]] = []
    with db.transaction() as session:
        head = read_head(session)
        for entry in iter_entries(session, start=start):
            if head is not None and entry.seq > head[0]:
                break  # appended after we read the head; the bundle stops at the head it names
            if entry_hash(entry.prev_hash, entry.content) != entry.entry_hash:
                raise ChainBroken(f"entry {entry.seq} fails its hash; run `payerfleet evidence verify`")
            if rows and (entry.seq != rows[-1][0] + 1 or entry.prev_hash != rows[-1][3]):
                raise ChainBroken(f"entry {entry.seq} does not link to the entry before it; run `payerfleet evidence verify`")
            rows.append((entry.seq, entry.prev_hash, entry.content_sha256, entry.entry_hash))
    if head is None or not rows or (rows[-1][0], rows[-1][3]) != head:
        raise ChainBroken("manifest does not end at the chain head; run `payerfleet evidence verify`")
    return rows, head


def _purged_seqs(db: Database, start: int) -> set[int]:
    with db.transaction() as session:
        return {e.data.get("purged_seq") for e in iter_entries(session, start=start)
                if e.kind == "event" and e.data.get("event") == PURGE_EVENT}


def build_bundle(db: Database, store: BlobStore, selection: Selection, *, actor: str,
                 exported_at_iso: str) -> tuple[bytes, ExportResult]:
    """The zip's bytes, built in memory so a failure can leave nothing on disk."""
    with db.transaction() as session:
        slice_ = entries_for(session, appeal_id=selection.appeal_id, claim_id=selection.claim_id,
                             run_id=selection.run_id)
    if not slice_:
        kind, ident = selection.record
        raise NothingToExport(f"no evidence is linked to {kind} {ident}")
    chain, head = _chain_segment(db, slice_[0].seq)
    by_seq = {row[0]: row for row in chain}
    purged_seqs = _purged_seqs(db, slice_[0].seq)
    kind, ident = selection.record
    root = f"evidence-{kind}-{_safe(ident)}"
    sums: list[str] = []
    listed: list[dict] = []
    purged: list[int] = []
    files = 0
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for entry in slice_:
            if by_seq.get(entry.seq, (None, None, None, None))[3] != entry.entry_hash:
                raise ChainBroken(f"entry {entry.seq} changed while exporting; run `payerfleet evidence verify`")
            seq = _pad(entry.seq)
            zf.writestr(f"{root}/entries/{seq}.json", entry.content.encode("utf-8"))
            zf.writestr(f"{root}/entries/{seq}.link", link_preimage(entry.prev_hash, entry.content_sha256))
            sums += [f"{entry.content_sha256}  entries/{seq}.json", f"{entry.entry_hash}  entries/{seq}.link"]
            name = None
            if entry.blob_sha256:
                try:
                    data = store.get(entry.blob_sha256)
                except BlobMissing:
                    if entry.seq not in purged_seqs:
                        raise
                    purged.append(entry.seq)
                else:
                    name = artifact_name(entry)
                    zf.writestr(f"{root}/{name}", data)
                    sums.append(f"{entry.blob_sha256}  {name}")
                    files += 1
            listed.append({"seq": entry.seq, "prev_hash": entry.prev_hash, "entry_hash": entry.entry_hash,
                           "content_sha256": entry.content_sha256, "content": entry.body, "file": name,
                           "purged": entry.seq in purged})
        zf.writestr(f"{root}/SHA256SUMS", "\n".join(sums) + "\n")
        zf.writestr(f"{root}/chain.tsv", "".join(f"{_pad(s)}\t{p}\t{c}\t{h}\n" for s, p, c, h in chain))
        if purged:
            zf.writestr(f"{root}/PURGED", "".join(f"{_pad(s)}\n" for s in purged))
        zf.writestr(f"{root}/manifest.json", json.dumps({
            "format": FORMAT, "selection": {f"{kind}_id": ident}, "exported_at": exported_at_iso,
            "exported_by": actor, "payerfleet_version": payerfleet_version(),
            "chain_head": {"seq": head[0], "entry_hash": head[1]},
            "hash_rule": "entry_hash = sha256(prev_hash LF sha256(content) LF)", "entries": listed,
        }, indent=2, sort_keys=True))
        zf.writestr(f"{root}/README.txt", README.format(
            selection=f"{kind} {ident}", exported_at=exported_at_iso, actor=actor, version=payerfleet_version(),
            entries=len(slice_), files=files, purged=len(purged), head_seq=head[0], head_hash=head[1]))
        info = zipfile.ZipInfo(f"{root}/verify.sh")
        info.external_attr = 0o755 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        zf.writestr(info, VERIFY_SH)
    return buf.getvalue(), ExportResult(Path(), len(slice_), files, len(purged), head)


def write_new_private(path: Path, data: bytes) -> None:
    """Write a new 0600 file atomically; refuse to replace an existing one; leave nothing on failure."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        raise ExportFailed(f"{path} already exists; choose another --out")
    tmp = path.with_name(f".{path.name}.partial-{os.urandom(4).hex()}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.link(tmp, path)
    except FileExistsError:
        raise ExportFailed(f"{path} already exists; choose another --out") from None
    except OSError as exc:
        raise ExportFailed(f"could not write {path.name}: {exc.strerror}") from exc
    finally:
        tmp.unlink(missing_ok=True)


def default_out(selection: Selection, exported_at_iso: str) -> Path:
    kind, ident = selection.record
    stamp = re.sub(r"[^0-9T]", "", exported_at_iso)[:15]
    return Path(f"evidence-{kind}-{_safe(ident)}-{stamp}Z.zip")


def export_bundle(db: Database, store: BlobStore, selection: Selection, *, out: Path | None = None,
                  actor: str = "cli") -> ExportResult:
    """Build and write the bundle; the audit trail records the outcome either way."""
    kind, ident = selection.record
    exported_at = iso_utc(utc_now())
    target = out or default_out(selection, exported_at)
    try:
        data, result = build_bundle(db, store, selection, actor=actor, exported_at_iso=exported_at)
        write_new_private(target, data)
    except Exception:
        with db.transaction() as session:
            audit.record(session, actor=actor, action="evidence.exported", record_type=kind, record_id=ident,
                         outcome="failed")
        raise
    with db.transaction() as session:
        audit.record(session, actor=actor, action="evidence.exported", record_type=kind, record_id=ident)
    log.info("evidence.exported", record_type=kind, entries=result.entries, files=result.files, bytes=len(data))
    return ExportResult(target, result.entries, result.files, result.purged, result.head)
