"""Checking attachments against a portal's published limits before anything is uploaded."""
from __future__ import annotations

from dataclasses import dataclass

from portals.capabilities import Attachment
from portals.errors import InvalidAttachment


@dataclass(frozen=True)
class AttachmentRules:
    max_files: int
    min_bytes: int
    max_bytes: int
    max_total_bytes: int
    extensions: frozenset[str]

    def check(self, files: tuple[Attachment, ...]) -> None:
        """InvalidAttachment naming the first broken rule (by position, never by file name)."""
        if len(files) > self.max_files:
            raise InvalidAttachment(f"{len(files)} files; the portal takes at most {self.max_files}")
        total = 0
        for index, f in enumerate(files, start=1):
            ext = f.name.rsplit(".", 1)[-1].lower() if "." in f.name else ""
            if ext not in self.extensions:
                raise InvalidAttachment(f"attachment {index}: type .{ext} is not accepted")
            if len(f.data) < self.min_bytes:
                raise InvalidAttachment(f"attachment {index}: {len(f.data)} bytes is below the {self.min_bytes}-byte minimum")
            if len(f.data) > self.max_bytes:
                raise InvalidAttachment(f"attachment {index}: larger than {self.max_bytes} bytes")
            total += len(f.data)
        if total > self.max_total_bytes:
            raise InvalidAttachment(f"attachments total {total} bytes; the limit is {self.max_total_bytes}")
