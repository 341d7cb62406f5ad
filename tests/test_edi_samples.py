"""Every public sample in tests/data/x12 is read; ORACLE.json and the hand-checked SOURCES.md facts hold."""
from __future__ import annotations

import json
from collections import Counter
from datetime import date
from decimal import Decimal as D

import pytest

from core.edi.read import EdiReader, read_all
from core.edi.records import Acknowledgment, ClaimSubmission, OtherTransaction, Remittance
from core.edi.tokenizer import Tokenizer
from conftest import X12_SAMPLES as X12


ORACLE = json.loads((X12 / "ORACLE.json").read_text())
SAMPLES = sorted(p for p in X12.rglob("*") if p.is_file() and p.parent.name != "LICENSES"
                 and p.suffix not in (".md", ".json", ".tsv"))


def sample(fragment: str) -> Path:
    matches = [p for p in SAMPLES if fragment in p.name]
    assert len(matches) == 1, fragment
    return matches[0]


def remits(fragment: str) -> list[Remittance]:
    return [t for t in read_all(sample(fragment)) if isinstance(t, Remittance)]


def test_the_sample_folder_is_all_there():
    assert len(SAMPLES) == 26


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name[-45:])
def test_every_sample_is_read(path):
    transactions = read_all(path, filename=path.name)
    assert transactions
    for t in transactions:
        assert t.type in ("835", "277CA", "837P", "837I") or isinstance(t, OtherTransaction)


@pytest.mark.parametrize("name", sorted(ORACLE), ids=lambda n: n[-45:])
def test_oracle_delimiters_and_transaction_sets(name):
    oracle = ORACLE[name]
    tok = Tokenizer(X12 / name)
    list(tok)
    d = oracle["delimiters"]
    assert (tok.delimiters.element, tok.delimiters.component, tok.delimiters.segment) == (d["ele"], d["comp"], d["term"])
    # The oracle reports ISA11 even for 4010, where it is the standards id "U", not a separator.
    assert tok.delimiters.repetition == ("" if d["rep"] == "U" else d["rep"])
    got = [(t.type[:3], t.control_number) for t in read_all(X12 / name)]
    assert got == [(t["st"], t["st02"]) for t in oracle["transactions"]]


ORACLE_835 = [(name, i) for name, o in sorted(ORACLE.items())
              for i, t in enumerate([t for t in o["transactions"] if t["st"] == "835"]) if "bpr02" in t]


def _cas(items) -> list[list[str]]:
    return [[a.group, a.reason, a.amount, a.quantity] for a in items]


def _oracle_cas(items) -> list[list]:
    return [[g, r, D(a), D(q) if q else None] for g, r, a, q in items]


@pytest.mark.parametrize("name,index", ORACLE_835, ids=lambda v: str(v)[-40:])
def test_oracle_835_facts(name, index):
    o = [t for t in ORACLE[name]["transactions"] if t["st"] == "835"][index]
    r = [t for t in read_all(X12 / name) if t.type == "835"][index]
    p = r.payment
    if o["bpr02"] is None:  # an empty ST/SE: read, flagged, nothing invented
        assert "missing_bpr" in r.flags and "missing_trn" in r.flags and not r.claims
        return
    assert (r.control_number, p.handling, p.amount, p.method, p.trace_number) == (
        o["st02"], o["bpr01"], D(o["bpr02"]), o["bpr04"], o["trn02"])
    assert len(r.claims) == o["n_claims"]
    assert [c.status for c in r.claims] == o["statuses"]
    assert sum(c.paid for c in r.claims) == D(o["sum_clp04"])
    assert sum(a.amount for a in r.provider_adjustments) == D(o["sum_plb"])
    assert o["balances"] == (not any(f.startswith("unbalanced_transaction") for f in r.flags))
    carcs = {f"{a.group}-{a.reason}" for c in r.claims for a in (*c.adjustments, *(x for ln in c.lines for x in ln.adjustments))}
    assert sorted(carcs) == o["carcs"]
    rarcs = {m.code for c in r.claims for m in (*c.remarks, *(x for ln in c.lines for x in ln.remarks))}
    assert sorted(rarcs) == o["rarcs"]
    plb = [[a.provider_id, a.fiscal_period_end.strftime("%Y%m%d"), a.reason + (":" + a.reference if a.reference else ""),
            a.amount] for a in r.provider_adjustments]
    assert plb == [[pid, day, reason, D(amount)] for pid, day, reason, amount in o["plb"]]
    for claim, oc in zip(r.claims, o["claims"], strict=True):
        assert (claim.patient_control_number, claim.status, claim.charge, claim.paid) == (
            oc["clp01"], oc["status"], D(oc["charge"]), D(oc["paid"]))
        assert _cas(claim.adjustments) == _oracle_cas(oc["claim_cas"])
        assert len(claim.lines) == oc["n_svc"]
        assert [a for ln in claim.lines for a in _cas(ln.adjustments)] == _oracle_cas(oc["svc_cas"])
        assert [["HE", m.code] for ln in claim.lines for m in ln.remarks] == oc["lq"]
        assert [m.code for m in claim.remarks] == oc["moa_mia_rarc"]


@pytest.mark.parametrize("name", [n for n in ORACLE if "277CA" in n])
def test_oracle_277ca_stc01(name):
    (ack,) = read_all(X12 / name)
    assert isinstance(ack, Acknowledgment)
    stc01 = [str(s.codes[0]) for b in ack.batches for s in b.statuses] + [str(s.codes[0]) for c in ack.claims for s in c.statuses]
    # The oracle prints the raw composite; this file's ISA16 is "|".
    assert stc01 == [c.replace("|", ":") for c in ORACLE[name]["transactions"][0]["stc01"]]


# --- hand-checked facts from SOURCES.md ------------------------------------------------------------

def test_mult_loops_denial_with_lq_and_codes_valid_at_their_service_date():
    (r,) = remits("835_mult_loops")
    (claim,) = r.claims
    assert (claim.patient_control_number, claim.status, claim.charge, claim.paid) == ("2005555A", "4", D("915.39"), D("0"))
    assert [ln.procedure.code for ln in claim.lines] == ["T1005"] * 3
    assert [m.code for ln in claim.lines for m in ln.remarks] == ["N14"] * 3
    # A7 (stopped 2015) and N14 (stopped 2007) were active on the 2003 service dates: no flags.
    assert not [f for ln in claim.lines for f in ln.flags]
    assert not any(f.startswith("unbalanced") for f in r.flags + claim.flags)


def test_835id_reversal_correction_pair():
    (r,) = remits("835id")
    assert [(c.patient_control_number, c.status, c.charge, c.paid) for c in r.claims] == [
        ("123839-24635", "22", D("-310"), D("-210")), ("123839-24635", "1", D("300"), D("200")),
        ("134158-27488", "22", D("-500.25"), D("-500.25"))]
    assert r.reversal_pairs == ((0, 1), (2, None))
    assert [(a.reason, a.amount) for a in r.provider_adjustments] == [("CS", D("-1008.1")), ("CS", D("24.21")),
                                                                      ("CS", D("5.95"))]
    assert any(f.startswith("unbalanced_transaction") for f in r.flags)


def test_bad_header_looping_is_read_with_flags():
    (r,) = remits("bad_header_looping")
    assert "se_count_mismatch:declared=39,actual=72" in r.flags
    assert r.claims


def test_mult_isa_splits_two_interchanges():
    reader = EdiReader(sample("mult_isa"))
    kinds = Counter(t.type for t in reader.transactions())
    assert reader.tokenizer.interchanges == 2
    assert kinds == {"278": 6, "837P": 2, "835": 4}


def test_medicare_part_a_claim_cas_moa_and_plb():
    (r,) = remits("medicare-part-a")
    assert (r.payment.amount, r.payment.handling, r.payment.method, r.payment.format) == (D("150000.00"), "C", "ACH", "CTX")
    assert [(c.patient_control_number, c.paid) for c in r.claims] == [("666123", D("138018.40")), ("777777", D("11980.33"))]
    assert [m.code for m in r.claims[1].remarks] == ["MA02"]
    (plb,) = r.provider_adjustments
    assert (plb.provider_id, plb.fiscal_period_end, plb.reason, plb.reference, plb.amount) == (
        "6543210903", date(2002, 12, 31), "CV", "CP", D("-1.27"))
    assert not [f for f in r.flags if f.startswith("unbalanced")]


def test_managed_care_invalid_bpr16_is_a_flag():
    (r,) = remits("managed-care")
    assert r.payment.date is None and "bad_date:BPR16" in r.flags
    assert r.payer.name == "RUSHMORE LIFE" and r.payee.identifier == "5544667733"
    assert [a.reason for a in r.claims[1].lines[0].adjustments] == ["1", "45"]


def test_secondary_payment_two_triplets_and_component_mismatch():
    (r,) = remits("secondary-payment")
    line_cas = [(a.group, a.reason, a.amount) for ln in r.claims[1].lines for a in ln.adjustments]
    assert ("PR", "1", D("150.00")) in line_cas and ("PR", "2", D("70.00")) in line_cas
    assert r.claims[1].lines[0].procedure.code == "12345"
    assert "component_separator_mismatch:>" in r.flags


def test_cob_negative_adjustment():
    (r,) = remits("cob-contractural")
    assert ("OA", "94", D("-9.00")) in [(a.group, a.reason, a.amount) for a in r.claims[0].lines[0].adjustments]


def test_tertiary_malformed_svc_is_read_shifted():
    (r,) = remits("tertiary-payment")
    (line,) = r.claims[0].lines
    assert (line.charge, line.paid) == (D("1766.50"), D("187.50"))
    assert "malformed_svc:shifted" in r.flags


def test_emedny_same_clp01_three_times_and_corrected_insured():
    (r,) = remits("emedny")
    assert [c.patient_control_number for c in r.claims] == ["PATIENT ACCOUNT NUMBER"] * 3
    assert [c.paid for c in r.claims] == [D("34.25"), D("0"), D("11.5")]
    assert any(c.corrected_insured is not None for c in r.claims)
    reasons = [f"{a.group}-{a.reason}" for c in r.claims for ln in c.lines for a in ln.adjustments]
    assert reasons.count("CO-29") == 2 and reasons.count("CO-251") == 2


def test_uhc_component_separator_from_isa16():
    (r,) = remits("united_healthcare")
    codes = [ln.procedure.code for c in r.claims for ln in c.lines]
    assert "B4152" in codes
    assert [c.paid for c in r.claims] == [D("88.92"), D("261.07")]
    cas = [(a.group, a.reason, a.amount) for c in r.claims for ln in (c, *c.lines) for a in ln.adjustments]
    assert ("PR", "2", D("5.13")) in cas and ("PR", "1", D("110")) in cas


def test_blue_cross_without_envelope_is_read_and_flagged():
    (r,) = remits("blue_cross_nc")
    assert "no_isa" in r.flags and r.payment.amount == D("1922.86")
    assert [f"{a.group}-{a.reason}" for ln in r.claims[0].lines for a in ln.adjustments] == ["CO-42", "PR-2", "PR-3"]


@pytest.mark.parametrize("fragment", ["Sample1-Wrapped", "Sample1-unwrapped"])
def test_editools_two_transactions_balance_with_plb(fragment):
    reader = EdiReader(sample(fragment))
    rs = list(reader.transactions())
    assert [r.control_number for r in rs] == ["112233", "112299"]
    assert reader.tokenizer.delimiters.repetition == "<"
    for r in rs:
        assert r.payment.amount == D("391.05")
        assert [c.paid for c in r.claims] == [D("200"), D("195")]
        assert [(a.reason, a.amount) for a in r.provider_adjustments] == [("90", D("3.95"))]
        assert not [f for f in r.flags if f.startswith("unbalanced")]
    assert "ge_count_mismatch:declared=10,actual=2" in reader.flags


def test_wrapped_and_unwrapped_read_the_same():
    assert read_all(sample("Sample1-Wrapped")) == read_all(sample("Sample1-unwrapped"))


def test_4010_body_statuses_reversals_and_predetermination():
    rs = remits("835Body_4010")
    assert len(rs) == 2
    for r in rs:
        assert [c.status for c in r.claims] == ["1", "4", "4", "2", "4", "1", "25", "22", "22"]
        assert r.payment.amount == D("5.75") and sum(c.paid for c in r.claims) == D("5.75")
        assert [m.code for m in r.claims[8].lines[0].remarks] == ["MA92"]


def test_277ca_accepted():
    (ack,) = read_all(sample("277CA_accepted"))
    (claim,) = ack.claims
    assert (claim.patient_control_number, claim.payer_claim_number) == ("5781", "1107000000014420")
    assert [str(c) for s in claim.statuses for c in s.codes] == ["A2:20"] and not claim.rejected
    assert claim.service_from is None and "bad_date:DTP472" in ack.flags  # 10010101 is a placeholder
    assert [b.level for b in ack.batches] == ["receiver", "provider"]
    assert ack.batches[0].accepted_quantity == 1 and ack.batches[0].accepted_amount == D("125.0")


def test_277ca_rejected_pipe_component_separator():
    (ack,) = read_all(sample("277CA_rejected"))
    (claim,) = ack.claims
    assert claim.patient_control_number == "3920394930203"
    assert [str(c) for s in claim.statuses for c in s.codes] == ["A7:562:85"] and claim.rejected
    assert (claim.payer_claim_number, claim.bill_type) == ("1107000000001120", "731")
    assert claim.billing_provider_id == "123456789"


def test_277_x212_is_refused_with_a_clear_message():
    (t,) = read_all(sample("277_005010X212"))
    assert isinstance(t, OtherTransaction)
    assert "005010X212" in t.reason and "not a 277CA" in t.reason


def test_837p_claim_lines_diagnoses_and_pointers():
    (s,) = read_all(sample("demo.example1"))
    assert isinstance(s, ClaimSubmission) and s.kind == "837P"
    (claim,) = s.claims
    assert (claim.patient_control_number, claim.charge, claim.facility_code, claim.frequency_code) == (
        "26463774", D("100.00"), "11", "1")
    assert claim.billing_provider.identifier == "1912301953" and claim.payer.identifier == "999996666"
    assert [d.code for d in claim.diagnoses] == ["0340", "V7389"]
    assert [(ln.procedure.code, ln.charge, ln.diagnosis_pointers) for ln in claim.lines][:3] == [
        ("99213", D("40.00"), (1,)), ("87070", D("15.00"), (1,)), ("99214", D("35.00"), (2,))]
    assert claim.patient is not None and claim.patient.first_name == "TED" and claim.relationship == "19"


def test_837p_cob_claim_keeps_its_own_subscriber_and_rendering():
    (s,) = read_all(sample("demo.cob.example3"))
    (claim,) = s.claims
    assert claim.subscriber.identifier == "111223333"  # not the other payer's subscriber in 2330A
    assert claim.rendering_provider.identifier == "1999996666"
    assert claim.lines[0].diagnosis_pointers == (1, 2, 3, 4)


def test_837i_revenue_codes_and_statement_dates():
    (s,) = read_all(sample("institutional-claim"))
    assert s.kind == "837I"
    (claim,) = s.claims
    assert (claim.facility_code, claim.facility_qualifier, claim.filing_indicator) == ("14", "A", "MB")
    assert claim.service_from == date(1996, 9, 11)
    assert [(ln.revenue_code, ln.procedure.code, ln.units) for ln in claim.lines] == [
        ("0305", "85025", D("1.00")), ("0730", "93005", D("3.00"))]
    assert claim.subscriber.identifier == "030005074A"


def test_variants_read_like_the_original():
    base = remits("managed-care")
    for variant in sorted((X12 / "variants").iterdir()):
        got = [t for t in read_all(variant) if isinstance(t, Remittance)]
        strip = lambda rs: [r.__class__(**{**r.__dict__, "flags": tuple(f for f in r.flags if f != "newline_terminator")})
                            for r in rs]
        assert strip(got) == strip(base), variant.name
