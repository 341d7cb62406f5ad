"""Read any X12 file into typed transactions: the envelope walk and the dispatch by ST01/version."""
from __future__ import annotations

import gc
from collections.abc import Iterator

from core.edi.catalogs import Catalog, shipped_catalog
from core.edi.elements import TxContext, el
from core.edi.read_277 import read_277ca
from core.edi.read_835 import read_835
from core.edi.read_837 import read_837
from core.edi.records import OtherTransaction, Transaction
from core.edi.tokenizer import Source, Tokenizer

_ENVELOPE = {"ST", "GE", "GS", "IEA", "ISA"}


class EdiReader:
    """One file: iterate `transactions()`; file-level findings collect in `flags`.

    Raises EdiParseError (naming the file and segment) for data that is not X12, is binary,
    empty, or truncated (a transaction without SE, an interchange without IEA).
    """

    def __init__(self, source: Source, *, filename: str | None = None, catalog: Catalog | None = None):
        self.tokenizer = Tokenizer(source, filename=filename)
        self.catalog = catalog or shipped_catalog()
        self.flags: list[str] = []

    def _flag(self, text: str) -> None:
        if text not in self.flags:
            self.flags.append(text)

    def read_all(self) -> list[Transaction]:
        """Every transaction, built with the cyclic garbage collector paused.

        Records hold no reference cycles, so the collector has nothing to find while a big
        file's hundred thousand records are built; pausing it makes the read about a third faster.
        """
        enabled = gc.isenabled()
        gc.disable()
        try:
            return list(self.transactions())
        finally:
            if enabled:
                gc.enable()

    def transactions(self) -> Iterator[Transaction]:
        tok = self.tokenizer
        segments = iter(tok)
        gs_version = ""
        open_isa: str | None = None
        open_gs: list[str] | None = None
        in_group = 0
        found = 0
        for seg in segments:
            sid = seg[0]
            if sid == "ST":
                found += 1
                in_group += 1
                ctx = TxContext(segments, tok, self.catalog, el(seg, 3) or gs_version, el(seg, 2),
                                tok.delimiters.component if tok.delimiters else ":", flags=list(tok.flags))
                if not ctx.version:
                    ctx.flag("version_unknown")
                yield _dispatch(el(seg, 1), ctx)
            elif sid == "GS":
                if open_gs is not None:
                    self._flag("missing_ge")
                open_gs, gs_version, in_group = seg, el(seg, 8), 0
            elif sid == "GE":
                if open_gs is None:
                    self._flag("ge_without_gs")
                elif el(seg, 1) != str(in_group):
                    self._flag(f"ge_count_mismatch:declared={el(seg, 1)},actual={in_group}")
                open_gs = None
            elif sid == "ISA":
                if open_isa is not None:
                    raise tok.error("truncated: interchange has no IEA trailer before the next ISA", "ISA")
                open_isa = el(seg, 13)
            elif sid == "IEA":
                if open_isa is not None and el(seg, 2) != open_isa:
                    self._flag("iea_control_mismatch")
                open_isa = None
                open_gs = None
            else:
                self._flag(f"segment_outside_transaction:{sid[:3]}")
        if open_isa is not None:
            raise tok.error("truncated: interchange has no IEA trailer", "IEA")
        if not found:
            raise tok.error("no transaction set (ST..SE) in the file")


def read(source: Source, *, filename: str | None = None, catalog: Catalog | None = None) -> Iterator[Transaction]:
    """Transactions of one file, streamed."""
    return EdiReader(source, filename=filename, catalog=catalog).transactions()


def read_all(source: Source, *, filename: str | None = None, catalog: Catalog | None = None) -> list[Transaction]:
    """Every transaction of one file, or EdiParseError before any is returned."""
    return EdiReader(source, filename=filename, catalog=catalog).read_all()


def _dispatch(st01: str, ctx: TxContext) -> Transaction:
    version = ctx.version
    if st01 == "835":
        return read_835(ctx)
    if st01 == "277":
        if "X214" in version:
            return read_277ca(ctx)
        return _skip(ctx, st01, f"277 {version or '(no version)'} is a claim status response, not a 277CA "
                                "acknowledgment (005010X214); payerfleet reads 277CA only")
    if st01 == "837":
        if any(v in version for v in ("X222", "X098")):
            return read_837(ctx, "837P")
        if any(v in version for v in ("X223", "X096")):
            return read_837(ctx, "837I")
        if any(v in version for v in ("X224", "X097")):
            return _skip(ctx, st01, "837D (dental) is not read by payerfleet")
        ctx.flag("version_unknown")
        return read_837(ctx, "837P")
    return _skip(ctx, st01, f"transaction set {st01 or '(none)'} is not read by payerfleet")


def _skip(ctx: TxContext, st01: str, reason: str) -> OtherTransaction:
    count = 1
    for seg in ctx.segments:
        count += 1
        if seg[0] == "SE":
            ctx.check_se(seg, count)
            return OtherTransaction(type=st01, version=ctx.version, control_number=ctx.control_number,
                                    reason=reason, flags=tuple(ctx.flags))
        if seg[0] in _ENVELOPE:
            break
    raise ctx.truncated(st01)
