"""`payerfleet edi parse FILE --json`: the documented, stable JSON contract (docs/edi.md)."""
from __future__ import annotations

import json
import re

from typer.testing import CliRunner

from cli.main import app
from conftest import X12_SAMPLES as X12

MONEY = re.compile(r"^-?\d+\.\d{2}$")


def parse(name: str) -> list[dict]:
    result = CliRunner().invoke(app, ["edi", "parse", str(X12 / name), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_835_contract():
    (t,) = parse("LinuxForHealth__x12__src__tests__resources__835_005010X221A1__managed-care.835")
    assert t["type"] == "835" and t["version"] == "005010X221A1"
    assert t["payment"] == {"amount": "945.00", "method": "ACH", "trace_number": "7170066655",
                            "payer_name": "RUSHMORE LIFE", "payer_id": "", "date": None, "handling": "I"}
    claim = t["claims"][1]
    assert {k: claim[k] for k in ("patient_control_number", "status", "charge", "paid", "payer_claim_number")} == {
        "patient_control_number": "8765432112", "status": "1", "charge": "1200.00", "paid": "495.00",
        "payer_claim_number": "94077799230000"}
    assert claim["adjustments"] == [{"group": "CO", "reason": "A2", "amount": "55.00", "quantity": None}]
    (line,) = claim["lines"]
    assert {k: line[k] for k in ("procedure", "modifiers", "charge", "paid", "units")} == {
        "procedure": "93555", "modifiers": [], "charge": "1200.00", "paid": "550.00", "units": None}
    assert [a["reason"] for a in line["adjustments"]] == ["1", "45"] and line["remarks"] == []
    assert t["provider_adjustments"] == [] and "bad_date:BPR16" in t["flags"]


def test_amounts_are_two_decimal_strings_everywhere():
    (t, _) = parse("lanceengland__EdiTools__Tests__EdiTools.Tests.ps1__835Body_4010.txt")
    amounts = [t["payment"]["amount"]]
    for c in t["claims"]:
        amounts += [c["charge"], c["paid"], *(a["amount"] for a in c["adjustments"])]
        for line in c["lines"]:
            amounts += [line["charge"], line["paid"], *(a["amount"] for a in line["adjustments"])]
    assert all(MONEY.match(a) for a in amounts), amounts
    assert t["claims"][0]["lines"][0]["adjustments"][0] == {"group": "CO", "reason": "42", "amount": "0.18",
                                                            "quantity": "0"}
    assert t["reversal_pairs"] == [[7, None], [8, None]]


def test_plb_contract():
    (t,) = parse("LinuxForHealth__x12__src__tests__resources__835_005010X221A1__medicare-part-a.835")
    assert t["provider_adjustments"] == [{"reason": "CV", "reference": "CP", "amount": "-1.27"}]
    assert t["claims"][1]["remarks"] == ["MA02"]


def test_277ca_contract():
    (t,) = parse("imsweb__x12-parser__src__test__resources__277_5010__x12_277CA_accepted.txt")
    assert t["type"] == "277CA"
    (claim,) = t["claims"]
    assert (claim["patient_control_number"], claim["payer_claim_number"], claim["statuses"]) == (
        "5781", "1107000000014420", ["A2:20"])
    assert [(b["level"], b["statuses"]) for b in t["batch_statuses"]] == [("receiver", ["A1:20"]), ("provider", [])]


def test_837_and_unsupported_contract():
    (t,) = parse("LinuxForHealth__x12__src__tests__resources__837_005010X222A2__demo.example1.837")
    assert t["type"] == "837P" and t["claims"][0]["diagnoses"] == ["0340", "V7389"]
    (other,) = parse("LinuxForHealth__x12__src__tests__resources__277_005010X212__claim-level-status.277")
    assert other["type"] == "277" and other["supported"] is False and "005010X212" in other["reason"]


def test_unreadable_file_exits_1_with_the_typed_error(tmp_path):
    path = tmp_path / "empty.835"
    path.write_bytes(b"")
    result = CliRunner().invoke(app, ["edi", "parse", str(path), "--json"])
    assert result.exit_code == 1
    assert "EdiParseError" in result.output and "empty.835" in result.output


def test_summary_without_json():
    result = CliRunner().invoke(app, ["edi", "parse", str(X12 / "azoner__pyx12__pyx12__test__x12testdata.py__835id.txt")])
    assert result.exit_code == 0
    assert "3 claims (0 denied)" in result.output and "unbalanced_transaction" in result.output
