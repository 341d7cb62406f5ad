"""Typed X12 errors: a file we cannot read names itself and the segment where reading stopped."""
from __future__ import annotations

from core.errors import PayerfleetError


class EdiError(PayerfleetError):
    """An X12 file could not be processed."""


class EdiParseError(EdiError):
    """The data is not readable X12."""

    def __init__(self, message: str | None = None, *, filename: str | None = None,
                 segment_index: int | None = None, segment_id: str | None = None):
        self.reason = message or (self.__doc__ or "").strip()
        self.filename = filename
        self.segment_index = segment_index
        self.segment_id = segment_id
        super().__init__(self._render())

    def _render(self) -> str:
        where = []
        if self.filename:
            where.append(self.filename)
        if self.segment_index is not None:
            where.append(f"segment {self.segment_index}" + (f" ({self.segment_id})" if self.segment_id else ""))
        return f"{': '.join(where)}: {self.reason}" if where else self.reason

    def with_filename(self, filename: str) -> "EdiParseError":
        """The same error, naming the file it came from."""
        return EdiParseError(self.reason, filename=filename, segment_index=self.segment_index,
                             segment_id=self.segment_id)


class UnsupportedTransaction(EdiParseError):
    """The transaction set is recognised but not one payerfleet reads."""


class EdiWriteError(EdiError):
    """The records cannot be written as valid X12."""
