"""Classification of 835 claim payments from CAS group + CARC + RARC, per line."""
from __future__ import annotations

from decimal import Decimal

import pytest

from core.routing.classify import Adj, LineView, PaymentView, classify_payment, status_kind
from core.routing.table import load_routing_table

D = Decimal


@pytest.fixture(scope="module")
def table():
    return load_routing_table()


def line(seq, adjustments, *, paid="0", charge="100", contracted=None, rarcs=()):
    return LineView(id=seq * 10, seq=seq, procedure_code="99213", charge=D(charge), paid=D(paid),
                    contracted=D(contracted) if contracted is not None else None,
                    adjustments=tuple(Adj(g, c, D(a)) for g, c, a in adjustments), rarcs=tuple(rarcs))


def payment(lines=(), *, status="1", adjustments=(), rarcs=(), contracted=None, charge="100", paid="0"):
    return PaymentView(id=1, status_code=status, charge=D(charge), paid=D(paid),
                       contracted=D(contracted) if contracted is not None else None,
                       adjustments=tuple(Adj(g, c, D(a)) for g, c, a in adjustments), rarcs=tuple(rarcs),
                       lines=tuple(lines))


def test_patient_responsibility_is_not_a_denial(table):
    view = payment([line(1, [("PR", "1", "40"), ("PR", "2", "10"), ("PR", "3", "20")], paid="30")])
    assert classify_payment(view, table) == []


def test_denial_is_read_per_line_not_from_clp02(table):
    # CLP02=1 (processed as primary) yet line 2 is denied for authorization.
    view = payment([line(1, [("PR", "2", "20")], paid="80"), line(2, [("CO", "197", "250")], charge="250")])
    [finding] = classify_payment(view, table)
    assert (finding.kind, finding.carc, finding.group_code, finding.scope) == ("denial", "197", "CO", "2")
    assert finding.category.name == "authorization" and finding.amount == D("250")


def test_one_claim_can_carry_several_denied_lines(table):
    view = payment([line(1, [("CO", "50", "100")]), line(2, [("CO", "4", "60")]), line(3, [("CO", "16", "30"),
                                                                                          ("CO", "11", "20")])])
    found = {(f.scope, f.carc, f.category.name) for f in classify_payment(view, table)}
    assert found == {("1", "50", "medical_necessity"), ("2", "4", "coding"), ("3", "16", "coding"),
                     ("3", "11", "coding")}


def test_co45_is_contractual_unless_paid_below_the_contracted_rate(table):
    ok = payment([line(1, [("CO", "45", "40")], paid="60", contracted="60")])
    assert classify_payment(ok, table) == []
    short = payment([line(1, [("CO", "45", "55")], paid="45", contracted="60")])
    [finding] = classify_payment(short, table)
    assert (finding.kind, finding.amount, finding.category.name) == ("underpayment", D("15"), "underpayment")


def test_co45_without_a_known_contract_rate_is_not_an_underpayment(table):
    assert classify_payment(payment([line(1, [("CO", "45", "55")], paid="45")]), table) == []


def test_claim_level_contract_compared_when_there_are_no_lines(table):
    view = payment(adjustments=[("CO", "45", "70")], contracted="50", paid="30")
    [finding] = classify_payment(view, table)
    assert finding.kind == "underpayment" and finding.amount == D("20") and finding.scope == "claim"


def test_unknown_carc_is_kept_with_a_reason(table):
    [finding] = classify_payment(payment([line(1, [("CO", "Z99", "100")])]), table)
    assert finding.category is None and "Z99" in finding.reason


def test_denied_without_any_adjustment_is_never_dropped(table):
    [finding] = classify_payment(payment(status="4", charge="300"), table)
    assert finding.category is None and "CLP02=4" in finding.reason and finding.amount == D("300")


def test_routine_adjustments_are_not_work(table):
    view = payment([line(1, [("OA", "23", "50"), ("CO", "253", "2"), ("CR", "18", "10")], paid="48")])
    assert classify_payment(view, table) == []


def test_negative_adjustment_is_not_a_denial(table):
    assert classify_payment(payment([line(1, [("CO", "50", "-100")])]), table) == []


def test_reversal_claims_are_not_routed(table):
    assert classify_payment(payment([line(1, [("CO", "50", "100")])], status="22"), table) == []


def test_claim_level_remark_refines_line_denials(table):
    view = payment([line(1, [("CO", "16", "100")])], rarcs=["N382"])
    [finding] = classify_payment(view, table)
    assert finding.category.name == "eligibility" and "N382" in finding.rarcs


def test_ma130_makes_any_denial_an_unprocessable_resubmission(table):
    [finding] = classify_payment(payment([line(1, [("CO", "50", "100")], rarcs=["MA130"])]), table)
    assert finding.category.name == "unprocessable" and finding.category.team == "billing_edits"


def test_same_carc_twice_on_a_line_is_one_finding(table):
    [finding] = classify_payment(payment([line(1, [("CO", "50", "60"), ("CO", "50", "40")])]), table)
    assert finding.amount == D("100")


@pytest.mark.parametrize("code,kind", [("P1", "pending"), ("P3", "pending"), ("A3", "rejection"),
                                       ("A7", "rejection"), ("F1", None), ("F2", None), ("A1", None)])
def test_status_categories(code, kind):
    assert status_kind(code) == kind


def test_other_contractual_codes_are_compared_to_the_contract_too(table):
    # Old files carry CO-A2 ("Contractual adjustment", deactivated 2008) instead of CO-45.
    assert classify_payment(payment(adjustments=[("CO", "A2", "50")], paid="450", charge="500"), table) == []
    short = payment([line(1, [("CO", "59", "40"), ("CO", "A2", "10")], paid="50", contracted="80")])
    [finding] = classify_payment(short, table)
    assert (finding.kind, finding.carc, finding.amount) == ("underpayment", "59", D("30"))
    both = payment([line(1, [("CO", "A2", "10"), ("CO", "45", "40")], paid="50", contracted="80")])
    assert classify_payment(both, table)[0].carc == "45"


def test_bundling_is_a_coding_fix_and_excess_processing_is_not_work(table):
    [finding] = classify_payment(payment([line(1, [("CO", "97", "100"), ("OA", "94", "5")])]), table)
    assert (finding.carc, finding.category.name) == ("97", "coding")
