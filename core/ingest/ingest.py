"""Ingestion: X12 files (inbox drops or portal downloads) into the store, one transaction per file.

Idempotent at three levels: the file's sha256 (EdiFile), each 835 by payer + TRN02 (Remittance),
each 277CA rejection by its dedupe key, each 837 claim by payer + CLM01. A file is read and
stored transaction by transaction inside one database transaction, so memory stays at one
transaction's records and a bad file (even one found truncated at its very end) writes
nothing; the rest of a batch continues. Work items are not created here: routing reads the
rows this writes.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from pathlib import Path

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.config import get_settings
from core.edi.catalogs import Catalog, load_catalog
from core.edi.errors import EdiError, EdiParseError, UnsupportedTransaction
from core.edi.read import EdiReader
from core.edi.records import Acknowledgment, ClaimSubmission, OtherTransaction, Remittance, Transaction
from core.edi.tokenizer import Source
from core.ingest.payers import resolve_payer
from core.ingest.report import FileReport, IngestReport
from core.ingest.store_277 import store_acknowledgment
from core.ingest.store_835 import Outcome, fit, store_remittance
from core.ingest.store_837 import store_submission
from core.store.db import Database
from core.store.models import EdiFile

log = structlog.get_logger()
_READ_CHUNK = 1 << 20


def ingest_bytes(db: Database, data: bytes, *, filename: str, provenance: str,
                 catalog: Catalog | None = None) -> FileReport:
    """Ingest one file held in memory (e.g. an ERA a portal automation downloaded).

    Returns a FileReport whose status is "ingested", "duplicate" (same bytes seen before) or
    "error" (unreadable X12: the message names the file and segment; nothing was written).
    Raises only when the database itself fails (DatabaseUnavailable, StoreError).
    """
    sha = hashlib.sha256(data).hexdigest()
    return _ingest(db, data, sha=sha, size=len(data), filename=filename, provenance=provenance, catalog=catalog)


def ingest_file(db: Database, path: Path, *, provenance: str | None = None,
                catalog: Catalog | None = None) -> FileReport:
    """Ingest one file from disk, streaming it (hash first, then parse)."""
    digest = hashlib.sha256()
    size = 0
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(_READ_CHUNK):
                digest.update(chunk)
                size += len(chunk)
    except OSError as exc:
        return FileReport(filename=str(path), status="error", error=f"{path}: cannot read: {exc.strerror}")
    return _ingest(db, path, sha=digest.hexdigest(), size=size, filename=str(path),
                   provenance=provenance or f"inbox:{path}", catalog=catalog)


def expand(paths: Iterable[Path]) -> Iterator[Path]:
    """Files named directly, and every regular file inside named folders (recursively, sorted)."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
        else:
            yield path


def ingest_paths(db: Database, paths: Iterable[Path], *, catalog: Catalog | None = None) -> IngestReport:
    """Ingest files and inbox folders; one file's failure never stops the batch."""
    report = IngestReport()
    for path in expand(paths):
        report.add(ingest_file(db, path, catalog=catalog))
    return report


def _ingest(db: Database, source: Source, *, sha: str, size: int, filename: str, provenance: str,
            catalog: Catalog | None) -> FileReport:
    with db.transaction() as session:
        known = session.scalar(select(EdiFile.id).where(EdiFile.sha256 == sha))
    if known is not None:
        log.info("edi.duplicate_file", edi_file_id=known, sha256=sha)
        return FileReport(filename=filename, status="duplicate", sha256=sha, edi_file_id=known)
    if catalog is None:
        # The operator's newer code lists (`payerfleet edi codes load`) apply to every ingestion path.
        catalog = load_catalog(get_settings().data_dir)
    reader = EdiReader(source, filename=filename, catalog=catalog)
    try:
        return _write(db, reader, sha=sha, size=size, filename=filename, provenance=provenance)
    except EdiError as exc:
        # Raised while reading, inside the file's database transaction: it was rolled back whole.
        message = str(exc) if isinstance(exc, EdiParseError) and exc.filename else f"{filename}: {exc}"
        log.warning("edi.rejected_file", sha256=sha, error=type(exc).__name__)
        return FileReport(filename=filename, status="error", sha256=sha, error=message)
    except IntegrityError:
        # A concurrent ingester stored the same file first; that one won, this one is the duplicate.
        with db.transaction() as session:
            known = session.scalar(select(EdiFile.id).where(EdiFile.sha256 == sha))
        if known is None:
            raise
        return FileReport(filename=filename, status="duplicate", sha256=sha, edi_file_id=known)


def _empty(t: Transaction) -> bool:
    """An ST/SE with nothing in it (no payment, no claims): nothing to store."""
    if isinstance(t, Remittance):
        return not t.claims and not t.provider_adjustments and "missing_bpr" in t.flags
    return isinstance(t, ClaimSubmission) and not t.claims


def _flag_count(t: Transaction) -> int:
    count = len(t.flags)
    if isinstance(t, Remittance):
        count += sum(len(c.flags) + sum(len(line.flags) for line in c.lines) for c in t.claims)
    elif isinstance(t, (Acknowledgment, ClaimSubmission)):
        count += sum(len(c.flags) for c in t.claims)
    return count


def _write(db: Database, reader: EdiReader, *, sha: str, size: int, filename: str, provenance: str) -> FileReport:
    """Store the file's transactions as they are read, all in one database transaction.

    Streaming keeps memory to one transaction's records; a read error (truncation found at the
    end, say) propagates out of the `with` and rolls back everything this file wrote.
    """
    totals = Outcome()
    supported = duplicates = unsupported = flags = 0
    kinds: set[str] = set()
    reasons: set[str] = set()
    payers: dict[tuple[str, str], int] = {}
    with db.transaction() as session:
        edi_file = EdiFile(sha256=sha, filename=fit(filename, 500), provenance=fit(provenance, 500), size=size,
                           kind="mixed")
        session.add(edi_file)
        session.flush()
        for t in reader.transactions():
            if isinstance(t, OtherTransaction) or _empty(t):
                unsupported += 1
                if isinstance(t, OtherTransaction):
                    reasons.add(t.reason)
                continue
            kinds.add(t.type)
            supported += 1
            flags += _flag_count(t)
            if isinstance(t, Remittance):
                trace = t.payment.trace_number or f"no-trn:{sha[:16]}:{t.control_number}"
                outcome = store_remittance(session, t, edi_file_id=edi_file.id,
                                           payer_id=resolve_payer(session, t.payer, payers), trace_number=trace)
            elif isinstance(t, Acknowledgment):
                outcome = store_acknowledgment(session, t, edi_file_id=edi_file.id,
                                               payer_id=resolve_payer(session, t.payer, payers))
            else:
                assert isinstance(t, ClaimSubmission)
                outcome = store_submission(session, t, edi_file_id=edi_file.id,
                                           payer_ids=[resolve_payer(session, c.payer, payers) for c in t.claims])
            if outcome.duplicate:
                duplicates += 1
                continue
            for name in ("claims", "denied_lines", "rejections", "reversals_linked"):
                setattr(totals, name, getattr(totals, name) + getattr(outcome, name))
        if not kinds:
            raise UnsupportedTransaction("; ".join(sorted(reasons)) or "no claims, payments or statuses in the file",
                                         filename=filename)
        kind = next(iter(kinds)) if len(kinds) == 1 else "mixed"
        edi_file.kind = kind
        file_id = edi_file.id
    report = FileReport(
        filename=filename, status="ingested", sha256=sha, kind=kind, edi_file_id=file_id,
        transactions=supported, duplicate_transactions=duplicates, unsupported_transactions=unsupported,
        claims=totals.claims, denied_lines=totals.denied_lines, rejections=totals.rejections,
        reversals_linked=totals.reversals_linked, flags=len(reader.flags) + flags)
    log.info("edi.ingested", edi_file_id=file_id, sha256=sha, kind=kind, transactions=supported,
             duplicates=duplicates, claims=report.claims, denied_lines=report.denied_lines,
             rejections=report.rejections, flags=report.flags)
    return report
