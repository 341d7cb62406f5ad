"""Streaming X12 tokenizer: delimiters from the ISA by position, tolerant of real-world layout.

Reads in chunks (256 KiB by default); peak memory is about ten times one chunk plus the records the caller
keeps. Copes with CR/LF/CRLF after or instead of the terminator, line-wrapped segments, blank
lines, single-line files, several interchanges with different delimiters, 4010 and 5010, and a
file that starts at GS or ST (default delimiters, flagged "no_isa").
"""
from __future__ import annotations

import codecs
import io
import os
from collections.abc import Iterator
from typing import BinaryIO

from core.edi.errors import EdiParseError
from core.edi.segments import Delimiters

CHUNK = 1 << 18
_ISA_ELEMENTS = 16
# Characters that never appear in real X12 text but fill binary files.
_BINARY = frozenset("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17"
                    "\x18\x19\x1a\x1b\x1e\x1f")

Source = bytes | bytearray | str | os.PathLike | BinaryIO


def _chunks(source: Source, chunk_size: int) -> Iterator[str]:
    """Decoded text chunks; X12 is ASCII, names may be UTF-8 and anything else is latin-1."""
    if isinstance(source, str):
        yield source
        return
    if isinstance(source, (bytes, bytearray)):
        stream: BinaryIO = io.BytesIO(source)
        owned = False
    elif isinstance(source, os.PathLike):
        stream = open(source, "rb")
        owned = True
    else:
        stream, owned = source, False
    try:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        while True:
            raw = stream.read(chunk_size)
            if not raw:
                tail = decoder.decode(b"", final=True)
                if tail:
                    yield tail
                return
            yield decoder.decode(raw)
    finally:
        if owned:
            stream.close()


class Tokenizer:
    """Iterate segments as lists of element strings (element 0 is the segment id).

    `position` is the 1-based index of the last segment yielded; `delimiters` and `flags`
    describe what was detected ("no_isa", "newline_terminator", "isa_layout_irregular").
    """

    def __init__(self, source: Source, *, filename: str | None = None, chunk_size: int = CHUNK):
        self.filename = filename
        self.position = 0
        self.delimiters: Delimiters | None = None
        self.flags: list[str] = []
        self.interchanges = 0
        self._chunks = _chunks(source, chunk_size)

    def error(self, message: str, segment_id: str | None = None) -> EdiParseError:
        return EdiParseError(message, filename=self.filename, segment_index=self.position or None,
                             segment_id=segment_id)

    def __iter__(self) -> Iterator[list[str]]:
        buffer = ""
        chunks = self._chunks
        exhausted = False
        while True:
            # Detect delimiters at the start of each interchange (and of the file).
            buffer = buffer.lstrip("\r\n\t \ufeff")
            while len(buffer) < 512 and not exhausted:
                more = next(chunks, None)
                if more is None:
                    exhausted = True
                else:
                    buffer = (buffer + more).lstrip("\r\n\t \ufeff")
            if not buffer:
                if self.position == 0:
                    raise self.error("empty file: no X12 data")
                return
            self._check_text(buffer[:512])
            d = self._detect(buffer)
            self.delimiters = d
            term, elem = d.segment, d.element
            unwrap = term not in "\r\n"
            pending = ""
            restart = False
            while not restart:
                if unwrap:
                    buffer = buffer.replace("\r", "").replace("\n", "")
                joined = pending + buffer
                parts = joined.split(term)
                ends_interchange = "IEA" in joined
                del joined
                pending = parts.pop()
                buffer = ""
                if not ends_interchange:
                    # No interchange ends in this chunk: the same loop without the IEA bookkeeping.
                    position = self.position
                    for raw in parts:
                        text = raw.strip()
                        if text:
                            position += 1
                            self.position = position
                            yield text.split(elem)
                    parts = []
                for i, raw in enumerate(parts):
                    text = raw.strip()
                    if not text:
                        continue
                    seg = text.split(elem)
                    self.position += 1
                    yield seg
                    if seg[0] == "IEA":
                        rest = term.join([*parts[i + 1:], pending])
                        if rest.lstrip("\r\n\t \ufeff").startswith("ISA"):
                            buffer, restart = rest, True
                            break
                if restart:
                    break
                more = None if exhausted else next(chunks, None)
                if more is None:
                    exhausted = True
                    tail = pending.strip()
                    if tail:
                        # A last segment without its terminator is common and harmless.
                        self._check_text(tail[:512])
                        self.position += 1
                        yield tail.split(elem)
                    return
                self._check_text(more[:4096])
                buffer = more
            # restart: loop to detect the next interchange's delimiters from `buffer`.

    def _check_text(self, sample: str) -> None:
        if any(ch in _BINARY for ch in sample):
            raise self.error("binary data, not X12 text")

    def _detect(self, text: str) -> Delimiters:
        self.interchanges += 1
        if text.startswith("ISA"):
            return self._from_isa(text)
        if text[:2] in ("GS", "ST") and len(text) > 3 and not text[2].isalnum():
            self._flag("no_isa")
            element = text[2]
            for term in ("~", "\n", "'", "!"):
                if term in text and term != element:
                    break
            else:
                term = "~"
            component = ">" if ":" == element else ":"
            return Delimiters(element=element, repetition="^", component=component, segment=term)
        raise self.error("not X12: the data does not start with ISA, GS or ST")

    def _from_isa(self, text: str) -> Delimiters:
        if len(text) < 4:
            raise self.error("truncated ISA segment", "ISA")
        element = text[3]
        if element.isalnum() or element.isspace():
            raise self.error("not X12: ISA element separator is a letter, digit or space", "ISA")
        # ISA is fixed width (106 characters) but real files pad it wrongly; count separators instead.
        pos = -1
        for _ in range(_ISA_ELEMENTS):
            pos = text.find(element, pos + 1)
            if pos < 0:
                raise self.error("truncated ISA segment", "ISA")
        if pos != 103 and ("\n" in text[:pos] or "\r" in text[:pos]):
            # A file hard-wrapped at a fixed width: the line breaks are not part of the data.
            cleaned = text[:512].replace("\r", "").replace("\n", "")
            if cleaned.startswith("ISA") and len(cleaned) > 3 and cleaned[3] == element:
                return self._from_isa(cleaned)
        if pos != 103:
            self._flag("isa_layout_irregular")
        if pos + 2 >= len(text):
            raise self.error("truncated ISA segment", "ISA")
        component = text[pos + 1]
        term = text[pos + 2]
        if term in "\r\n":
            # CR, LF or CRLF ends segments: split on the first, the other is stripped as whitespace.
            self._flag("newline_terminator")
        fields = text[:pos].split(element)
        version = fields[12] if len(fields) > 12 else ""
        rep = fields[11] if len(fields) > 11 else ""
        # ISA11 is the repetition separator only from 00402 on; in 4010 it is the standards id "U".
        if version < "00402" or len(rep) != 1 or rep.isalnum() or rep in (element, component, term):
            rep = ""
        if component.isalnum() or component == element or term.isalnum() or term in (element, component):
            raise self.error("not X12: ISA16/terminator are not usable delimiters", "ISA")
        return Delimiters(element=element, repetition=rep, component=component, segment=term)

    def _flag(self, flag: str) -> None:
        if flag not in self.flags:
            self.flags.append(flag)


def tokenize(source: Source, *, filename: str | None = None) -> Iterator[list[str]]:
    """Segments of `source` (bytes, text, a path or a binary stream)."""
    return iter(Tokenizer(source, filename=filename))
