"""Bad input: a typed EdiParseError naming the file and segment, or flags; fuzzing finds nothing else."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from core.edi.errors import EdiParseError
from core.edi.read import read_all
from test_edi_write import ENVELOPE, acknowledgment, remittance, submission
from conftest import X12_SAMPLES as X12

MANAGED_CARE = (X12 / "LinuxForHealth__x12__src__tests__resources__835_005010X221A1__managed-care.835").read_bytes()


def _valid_files() -> list[str]:
    from core.edi.write import write_277ca, write_835, write_837p

    return [write_835(remittance(), ENVELOPE), write_277ca(acknowledgment(), ENVELOPE), write_837p(submission(), ENVELOPE),
            MANAGED_CARE.decode()]


VALID = _valid_files()


@pytest.mark.parametrize("data,message", [
    (b"", "empty file"),
    (b"  \r\n\n\t ", "empty file"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
    (b"PK\x03\x04\x14\x00\x00\x00\x08\x00", "binary"),
    (b"hello, this is a letter, not an ERA", "not X12"),
    (b"ISA*00*   ", "truncated ISA"),
    (b"ISA000000000000000000000000", "element separator"),
    (b"ST*835*1~BPR*I*1*C*CHK~", "no SE"),
])
def test_garbage_is_a_typed_error_naming_the_file(tmp_path, data, message):
    path = tmp_path / "drop.835"
    path.write_bytes(data)
    with pytest.raises(EdiParseError, match=message) as info:
        read_all(path, filename=str(path))
    assert str(path) in str(info.value)


def test_truncated_file_names_the_segment_position():
    cut = MANAGED_CARE[: MANAGED_CARE.index(b"SE*")]
    with pytest.raises(EdiParseError, match=r"segment \d+.*truncated") as info:
        read_all(cut, filename="cut.835")
    assert info.value.segment_index and info.value.filename == "cut.835"


def test_missing_iea_is_truncation():
    cut = MANAGED_CARE[: MANAGED_CARE.index(b"IEA*")]
    with pytest.raises(EdiParseError, match="no IEA"):
        read_all(cut)


@pytest.mark.parametrize("cut", range(0, len(MANAGED_CARE), 23))
def test_every_cut_point_raises_or_reads_the_complete_data(cut):
    full = read_all(MANAGED_CARE)
    try:
        got = read_all(MANAGED_CARE[:cut])
    except EdiParseError:
        return
    # Only a cut inside the final IEA leaves all transactions intact.
    assert cut > MANAGED_CARE.index(b"IEA*") and got == full


def test_malformed_content_is_flagged_not_refused():
    text = VALID[0].replace("CLP*PCN-1001*1*210.00", "CLP*PCN-1001*1*2X0.00").replace("DTM*472*20260201", "DTM*472*20261341")
    (r,) = read_all(text)
    assert "bad_amount:CLP03" in r.flags and "bad_date:DTM472" in r.flags
    assert r.claims[0].charge == 0


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600))
def test_fuzz_bytes_raise_only_the_typed_error(data):
    try:
        read_all(data)
    except EdiParseError:
        pass


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(VALID), st.lists(st.tuples(st.integers(0, 5000), st.integers(0, 40),
                                                   st.text(alphabet="*~:^|>\n\r ISTGEA0123456789.-", max_size=6)),
                                         min_size=1, max_size=6))
def test_fuzz_mutated_files_raise_only_the_typed_error(text, edits):
    for position, length, insert in edits:
        position %= max(len(text), 1)
        text = text[:position] + insert + text[position + length:]
    try:
        transactions = read_all(text)
    except EdiParseError:
        return
    from core.edi.json_out import to_json

    to_json(transactions)  # whatever was read must also serialise


@pytest.mark.parametrize("data", [b"ISA", b"ISA*", b"\nISA", b"ISA\r\n", "ISA"])
def test_a_bare_or_truncated_isa_is_the_typed_error(data):
    with pytest.raises(EdiParseError, match="ISA"):
        read_all(data)
