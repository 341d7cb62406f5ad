"""What an ingestion run did, per file and in total: counts and codes, never PHI."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FileReport:
    """One file's outcome. status: ingested | duplicate | error."""

    filename: str
    status: str
    sha256: str = ""
    kind: str = ""
    edi_file_id: int | None = None
    transactions: int = 0
    # Transactions already in the store (same payer + trace, same claim, same rejection): skipped.
    duplicate_transactions: int = 0
    # Transactions of a type payerfleet does not read (278, 277 X212, ...) or empty ST/SE: skipped.
    unsupported_transactions: int = 0
    claims: int = 0
    denied_lines: int = 0
    rejections: int = 0
    reversals_linked: int = 0
    flags: int = 0
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status != "error"


@dataclass
class IngestReport:
    files: list[FileReport] = field(default_factory=list)

    def add(self, report: FileReport) -> FileReport:
        self.files.append(report)
        return report

    @property
    def errors(self) -> list[FileReport]:
        return [f for f in self.files if not f.ok]

    def total(self, name: str) -> int:
        return sum(getattr(f, name) for f in self.files)
