"""Tokenizer: delimiters by ISA position, layout tolerance, chunking, several interchanges, bounded memory."""
from __future__ import annotations

import io
import tracemalloc

import pytest

from core.edi.read import EdiReader, read_all
from core.edi.segments import Delimiters
from core.edi.tokenizer import Tokenizer
from test_edi_write import ENVELOPE, remittance
from conftest import X12_SAMPLES as X12

SAMPLES = sorted(p for p in X12.rglob("*") if p.is_file() and p.parent.name != "LICENSES"
                 and p.suffix not in (".md", ".json", ".tsv"))


@pytest.mark.parametrize("chunk_size", [1, 7, 64, 4096])
def test_chunk_size_never_changes_the_segments(chunk_size):
    for path in SAMPLES:
        assert list(Tokenizer(path, chunk_size=chunk_size)) == list(Tokenizer(path)), path.name


def test_text_bytes_and_streams_give_the_same_segments():
    path = X12 / "variants" / "crlf_after_tilde.835"
    data = path.read_bytes()
    expected = list(Tokenizer(path))
    assert list(Tokenizer(data)) == expected
    assert list(Tokenizer(data.decode())) == expected
    assert list(Tokenizer(io.BytesIO(data))) == expected


def test_layouts_read_the_same():
    from core.edi.write import write_835

    one_per_line = write_835(remittance(), ENVELOPE)
    layouts = {
        "single line": one_per_line.replace("~\n", "~"),
        "crlf": one_per_line.replace("~\n", "~\r\n"),
        "blank lines": one_per_line.replace("~\n", "~\r\n\r\n  \n"),
        "wrapped at 80": "\n".join(one_per_line.replace("~\n", "~")[i:i + 80]
                                   for i in range(0, len(one_per_line), 80)),
        "newline terminator": write_835(remittance(), ENVELOPE, delimiters=Delimiters(segment="\n")),
        "crlf terminator": write_835(remittance(), ENVELOPE, delimiters=Delimiters(segment="\n")).replace("\n", "\r\n"),
        "cr terminator": write_835(remittance(), ENVELOPE, delimiters=Delimiters(segment="\n")).replace("\n", "\r"),
        "bom": "\ufeff" + one_per_line,
    }
    expected = read_all(one_per_line)
    for name, text in layouts.items():
        got = read_all(text)
        strip = [g.__class__(**{**g.__dict__, "flags": tuple(f for f in g.flags if f != "newline_terminator")}) for g in got]
        assert strip == expected, name


def test_several_interchanges_with_different_delimiters():
    from core.edi.write import write_835

    first = write_835(remittance(), ENVELOPE)
    second = write_835(remittance(), ENVELOPE, delimiters=Delimiters("|", "^", ">", "!"), line_breaks=False)
    reader = EdiReader(first + "\n" + second)
    got = list(reader.transactions())
    assert len(got) == 2 and got[0] == got[1]
    assert reader.tokenizer.interchanges == 2 and reader.tokenizer.delimiters.element == "|"


def test_4010_has_no_repetition_separator_and_5010_does():
    tok = Tokenizer(X12 / "azoner__pyx12__pyx12__test__x12testdata.py__835id.txt")
    list(tok)
    assert tok.delimiters.repetition == ""
    tok = Tokenizer(X12 / "lanceengland__EdiTools__Sample_Files__Sample1-Wrapped.edi")
    list(tok)
    assert tok.delimiters.repetition == "<"


def test_file_without_isa_uses_defaults_and_is_flagged():
    tok = Tokenizer("ST*835*1~BPR*I*1*C*CHK~SE*3*1~")
    assert [s[0] for s in tok] == ["ST", "BPR", "SE"]
    assert tok.flags == ["no_isa"] and tok.delimiters.segment == "~"


class _LazyBigFile(io.RawIOBase):
    """A large 835 produced on the fly, so the test itself holds no copy of it."""

    def __init__(self, claims: int):
        head = ("ISA*00*          *00*          *ZZ*S              *ZZ*R              *260101*0000*^*00501*000000001*0*P*:~\n"
                "GS*HP*S*R*20260101*0000*1*X*005010X221A1~\nST*835*0001~\nBPR*I*0*C*NON************20260101~\nTRN*1*T*1~\n")
        claim = ("CLP*PCN{n:08d}*1*100*100**12*X~\nNM1*QC*1*DOE*JANE****MI*M1~\n"
                 "SVC*HC:99213*100*100**1~\nDTM*472*20260101~\n")
        def parts():
            yield head.encode()
            for n in range(claims):
                yield claim.format(n=n).encode()
            yield b"SE*1*0001~\nGE*1*1~\nIEA*1*000000001~\n"

        self._parts = parts()
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while len(self._pending) < len(buffer):
            part = next(self._parts, None)
            if part is None:
                break
            self._pending += part
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def test_memory_is_bounded_by_the_chunk_not_the_file():
    claims = 20_000  # about 2.7 MB of X12
    tracemalloc.start()
    try:
        count = sum(1 for _ in Tokenizer(io.BufferedReader(_LazyBigFile(claims), 1 << 16), chunk_size=1 << 16))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == claims * 4 + 8
    assert peak < 1 << 20
