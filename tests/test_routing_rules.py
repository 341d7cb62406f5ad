"""Routing table and payer rules as data; the date rules that turn them into deadlines."""
from __future__ import annotations

from datetime import date

import pytest

from core.routing import deadlines as dl
from core.routing.errors import RulesFileInvalid
from core.routing.payer_rules import load_payer_rules
from core.routing.table import DATA_DIR, load_routing_table


@pytest.fixture(scope="module")
def table():
    return load_routing_table()


@pytest.fixture(scope="module")
def rules():
    return load_payer_rules()


@pytest.mark.parametrize("carc,category,team", [
    ("27", "eligibility", "front_desk"), ("31", "eligibility", "front_desk"), ("177", "eligibility", "front_desk"),
    ("197", "authorization", "prior_auth"), ("198", "authorization", "prior_auth"),
    ("4", "coding", "coding"), ("6", "coding", "coding"), ("7", "coding", "coding"), ("9", "coding", "coding"),
    ("11", "coding", "coding"), ("16", "coding", "coding"), ("18", "duplicate", "billing_ops"),
    ("50", "medical_necessity", "clinical_docs"), ("55", "experimental", "clinical_docs"),
    ("29", "timely_filing", "billing_manager"), ("22", "cob", "patient_access"), ("23", "cob", "patient_access"),
    ("45", "underpayment", "contract_mgmt"),
])
def test_seed_routing_table_is_the_shipped_data(table, carc, category, team):
    cat = table.category_for(carc)
    assert (cat.name, cat.team) == (category, team)


def test_unknown_carc_has_no_category(table):
    assert table.category_for("999") is None


def test_rarc_refines_the_carc(table):
    assert table.category_for("16", ("N382",)).name == "eligibility"
    assert table.category_for("50", ("MA130",)).name == "unprocessable"
    assert table.category_for("16", ("M20",)).name == "coding"


def test_eligibility_resubmits_within_24_hours_and_rejections_too(table):
    assert table.category("eligibility").sla_hours == 24
    assert table.category("rejection").sla_hours == 24
    assert table.category("rejection").team == "billing_edits"


def test_every_category_and_payer_cites_a_source(table, rules):
    assert all(c.source.strip() for c in table.categories)
    assert all(entry.sources for entry in rules.payers.values())
    assert all(any("seed" in s for s in entry.sources) for entry in rules.payers.values())


def test_operator_directory_replaces_the_shipped_table(tmp_path):
    text = (DATA_DIR / "routing.toml").read_text().replace('carcs = ["18"]', 'carcs = ["18", "B13"]')
    (tmp_path / "routing.toml").write_text(text)
    assert load_routing_table(tmp_path).category_for("B13").name == "duplicate"
    assert load_routing_table(None).category_for("B13") is None
    # No payer_rules.toml in the directory: the shipped one is used.
    assert "AETNA" in load_payer_rules(tmp_path).payers


@pytest.mark.parametrize("mutation,message", [
    (lambda t: t.replace('team = "coding"', 'team = "nobody"'), "unknown team"),
    (lambda t: t.replace('carcs = ["18"]', 'carcs = ["18", "27"]'), "CARC 27"),
    (lambda t: t + "\n[[[broken", "not valid TOML"),
    (lambda t: t.replace("prior = 0.75", "prior = 1.5", 1), "less than or equal"),
])
def test_malformed_routing_file_is_refused_with_a_typed_error(tmp_path, mutation, message):
    (tmp_path / "routing.toml").write_text(mutation((DATA_DIR / "routing.toml").read_text()))
    with pytest.raises(RulesFileInvalid, match=message):
        load_routing_table(tmp_path)


def test_payer_rule_with_both_days_and_months_is_refused(tmp_path):
    text = (DATA_DIR / "payer_rules.toml").read_text().replace(
        'appeal = { days = 180, from = "determination" }', 'appeal = { days = 180, months = 6, from = "determination" }', 1)
    (tmp_path / "payer_rules.toml").write_text(text)
    with pytest.raises(RulesFileInvalid, match="exactly one"):
        load_payer_rules(tmp_path)


def test_payers_match_by_code_then_x12_id_then_name(rules):
    assert rules.match("uhc") == "UHC"
    assert rules.match("XYZ", "87726") == "UHC"
    assert rules.match("XYZ", None, "UNITED HEALTHCARE INSURANCE COMPANY") == "UHC"
    assert rules.match("XYZ", None, "Noridian Healthcare Solutions") == "MEDICARE"
    assert rules.match("ACME", "00000", "Acme Health") is None


# ---- date rules -------------------------------------------------------------------------------

DOS = date(2026, 3, 10)
EOB = date(2026, 4, 20)


def _deadlines(rules, code, plan_type=None, *, dos=DOS, determined=EOB):
    return dl.compute(rules.rule(code, plan_type), dos=dos, determined_on=determined)


def test_aetna_90_days_from_dos_and_180_days_from_eob(rules):
    d = _deadlines(rules, "AETNA")
    assert d.filing == date(2026, 6, 8)  # 2026-03-10 + 90 days
    assert d.appeal == date(2026, 10, 17)  # 2026-04-20 + 180 days


def test_uhc_twelve_months_total_from_the_eob(rules):
    d = _deadlines(rules, "UHC")
    assert d.filing == date(2026, 6, 8)
    assert d.appeal == date(2027, 4, 20)


def test_uhc_month_arithmetic_clamps_to_the_month_end(rules):
    d = _deadlines(rules, "UHC", determined=date(2028, 2, 29))
    assert d.appeal == date(2029, 2, 28)
    assert dl.add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert dl.add_months(date(2027, 12, 15), 2) == date(2028, 2, 15)


def test_medicare_365_days_from_dos_and_120_days_from_determination(rules):
    d = _deadlines(rules, "MEDICARE")
    assert d.filing == date(2027, 3, 10)
    assert d.appeal == date(2026, 8, 18)  # 2026-04-20 + 120 days, no mail-receipt grace added
    assert rules.rule("MEDICARE", None).plan_type == "medicare"
    assert rules.rule("MEDICARE", None).first_level.form.startswith("CMS-20027")


def test_cigna_180_days_from_denial_but_90_for_its_medicare_plans(rules):
    assert _deadlines(rules, "CIGNA").appeal == date(2026, 10, 17)
    assert _deadlines(rules, "CIGNA", "medicare").appeal == date(2026, 7, 19)


def test_anthem_90_days_filing_and_180_days_appeal(rules):
    d = _deadlines(rules, "ANTHEM")
    assert (d.filing, d.appeal) == (date(2026, 6, 8), date(2026, 10, 17))


def test_missing_basis_date_gives_no_deadline(rules):
    d = _deadlines(rules, "AETNA", dos=None, determined=None)
    assert d == dl.Deadlines(None, None)


def test_escalation_splits_by_plan_type(rules):
    assert "IRO" in rules.rule("AETNA", "commercial_fully_insured").escalation[-1]
    assert "ERISA" in rules.rule("AETNA", "erisa_self_funded").escalation[-1]
    assert rules.rule("MEDICARE", None).escalation[0].startswith("redetermination")


def test_resubmission_is_due_by_the_filing_limit_while_it_is_open():
    deadlines = dl.Deadlines(filing=date(2026, 6, 8), appeal=date(2026, 10, 17))
    assert dl.due_date("resubmit", deadlines, date(2026, 5, 1)) == date(2026, 6, 8)
    assert dl.due_date("resubmit", deadlines, date(2026, 7, 1)) == date(2026, 10, 17)
    assert dl.due_date("appeal", deadlines, date(2026, 5, 1)) == date(2026, 10, 17)


def test_peer_to_peer_is_booked_inside_the_first_appeal_window():
    assert dl.peer_to_peer_due(date(2026, 10, 17), date(2026, 5, 1), 14) == date(2026, 10, 3)
    assert dl.peer_to_peer_due(date(2026, 5, 5), date(2026, 5, 1), 14) == date(2026, 5, 1)
    assert dl.peer_to_peer_due(None, date(2026, 5, 1), 14) is None
