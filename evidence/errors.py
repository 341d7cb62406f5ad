"""Typed evidence errors; each maps to one consequence (stop the write, flag for a custodian)."""
from core.errors import PayerfleetError


class EvidenceError(PayerfleetError):
    """An evidence operation failed."""


class BlobMissing(EvidenceError):
    """A blob named by the manifest is not in the blob store."""


class BlobCorrupt(EvidenceError):
    """A stored blob cannot be decrypted or its plaintext does not match its SHA-256 name."""


class BlobWriteFailed(EvidenceError):
    """A blob could not be written (disk full, I/O error); nothing was stored."""


class ChainBroken(EvidenceError):
    """The evidence manifest's hash chain is inconsistent; appends are refused until a custodian looks."""


class CaptureFailed(EvidenceError):
    """The browser could not produce the checkpoint's artifacts; nothing was recorded."""


class NothingToExport(EvidenceError):
    """No evidence is linked to the requested appeal, claim or run."""


class ExportFailed(EvidenceError):
    """The export bundle could not be written; no partial file was left behind."""
