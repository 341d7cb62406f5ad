"""Code catalogs: dated validity, warnings on records (never failures), operator-supplied newer lists."""
from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal as D

import pytest

from core.edi.catalogs import CodeListInvalid, load_catalog, parse_code_list, shipped_catalog
from core.edi.read import read_all
from core.edi.records import Adjustment, Remark
from core.edi.write import write_835
from test_edi_write import ENVELOPE, remittance

CATALOG = shipped_catalog()


def test_shipped_lists_are_loaded_with_dates():
    assert len(CATALOG.lists["carc"].entries) == 351 and len(CATALOG.lists["rarc"].entries) == 1006
    a7 = CATALOG.lists["carc"].entries["A7"]
    assert a7.stop == date(2015, 7, 1) and a7.description.startswith("Presumptive")
    assert set(CATALOG.lists["group_codes"].entries) == {"CO", "CR", "OA", "PI", "PR"}


@pytest.mark.parametrize("kind,code,on,expected", [
    ("carc", "A7", date(2015, 6, 30), None),
    ("carc", "A7", date(2015, 7, 1), "deactivated"),
    ("carc", "45", date(2026, 1, 1), None),
    ("carc", "251", date(2010, 1, 1), "not_yet_valid"),
    ("carc", "ZZZ9", date(2026, 1, 1), "unknown"),
    ("carc", "A7", None, None),
    ("rarc", "N14", date(2007, 9, 30), None),
    ("rarc", "N14", date(2007, 10, 1), "deactivated"),
    ("group_codes", "XX", None, "unknown"),
    ("plb_reasons", "WO", date(2001, 1, 1), None),  # VistA's PLB start dates are not X12's
    ("claim_status_categories", "A7", None, None),
    ("claim_status_categories", "Q9", None, "unknown"),
    ("claim_status_codes", "99999", None, None),  # partial list: unknown status codes are not flagged
])
def test_codes_are_checked_against_the_date_they_were_used(kind, code, on, expected):
    assert CATALOG.problem(kind, code, on) == expected


def test_deactivated_and_unknown_codes_are_warnings_on_the_record():
    base = remittance()
    claim = base.claims[0]
    line = replace(claim.lines[1], adjustments=(Adjustment("CO", "A7", D("15.00")), Adjustment("PR", "2", D("5.00"))),
                   remarks=(Remark("LQ", "N14"), Remark("LQ", "X999")))
    r = replace(base, claims=(replace(claim, lines=(claim.lines[0], line)),))
    (back,) = read_all(write_835(r, ENVELOPE))
    assert back.claims[0].lines[1].flags == ("deactivated_carc:A7", "deactivated_rarc:N14", "unknown_rarc:X999")
    assert back.claims[0].lines[1].adjustments == line.adjustments  # the data is kept as sent


def test_operator_list_replaces_the_shipped_one(tmp_path):
    codes = tmp_path / "codes"
    codes.mkdir()
    (codes / "carc.csv").write_text("code,description,start_date,stop_date\nA7,Presumptive,1995-01-01,\nP1,New,2020-01-01,\n")
    catalog = load_catalog(tmp_path)
    assert catalog.problem("carc", "P1", date(2026, 1, 1)) is None
    assert catalog.problem("carc", "A7", date(2026, 1, 1)) is None
    assert catalog.problem("carc", "45", date(2026, 1, 1)) == "unknown"  # the operator's list is the whole list
    assert catalog.problem("rarc", "N14", date(2026, 1, 1)) == "deactivated"  # other lists stay shipped


@pytest.mark.parametrize("text,message", [
    ("description\nfoo\n", "'code' column"),
    ("code,start_date\nA1,2020-13-01\n", "line 2"),
    ("code\n\n", "no codes"),
])
def test_bad_code_list_files_are_refused_clearly(text, message):
    with pytest.raises(CodeListInvalid, match=message):
        parse_code_list("carc", text, source="new.csv")
    with pytest.raises(CodeListInvalid, match="unknown code list kind"):
        parse_code_list("cptx", "code\nA\n")


def test_codes_load_cli_installs_a_list(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from cli.main import app
    from core.config import get_settings

    monkeypatch.setenv("PAYERFLEET_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    source = tmp_path / "rarc-2026.csv"
    source.write_text("code,description,start_date,stop_date\nN999,New remark,2025-01-01,\n")
    try:
        result = CliRunner().invoke(app, ["edi", "codes", "load", "rarc", str(source)])
        assert result.exit_code == 0, result.output
        assert load_catalog(tmp_path).problem("rarc", "N999", date(2026, 1, 1)) is None
        shown = CliRunner().invoke(app, ["edi", "codes", "show", "rarc", "N999"])
        assert "New remark" in shown.output
    finally:
        get_settings.cache_clear()
