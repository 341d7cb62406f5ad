"""The synthetic data generator: reproducible, realistic in its codes, valid X12 that matches its truth."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest

from pyx12_support import pyx12_errors
from fixtures.generator import codes, generate, npi, x12
from fixtures.generator.export import dataset_json, export


@pytest.fixture(scope="module")
def ds():
    return generate(seed=11, claims=600)


def test_same_seed_gives_identical_bytes_and_another_seed_does_not(tmp_path):
    assert dataset_json(generate(5, 200)) == dataset_json(generate(5, 200))
    assert dataset_json(generate(5, 200)) != dataset_json(generate(6, 200))
    first, second = export(generate(5, 120), tmp_path / "a"), export(generate(5, 120), tmp_path / "b")
    assert first == second
    assert {p.split("/")[0] for p in first} == {"dataset.json", "837", "835", "277ca"}


def test_npis_carry_valid_check_digits(ds):
    assert npi.is_valid("1234567893")  # the CMS example NPI
    assert not npi.is_valid("1234567890")
    numbers = [p.npi for p in ds.providers] + [p.npi for p in ds.practices]
    assert numbers and all(npi.is_valid(n) for n in numbers)
    assert all(p.npi.startswith("1") for p in ds.providers) and all(p.npi.startswith("2") for p in ds.practices)


def test_patients_are_obviously_synthetic(ds):
    assert {p.last_name for p in ds.patients} <= set(codes.LAST_NAMES)
    assert all(any(stem in p.last_name for stem in ("Test", "Mock", "Sample", "Fake", "Dumm", "Place", "Fict",
                                                     "Synth", "Demo", "Fabri", "Pseud", "Null", "Speci", "Proto"))
               for p in ds.patients)


def test_outcomes_cover_every_kind_and_routing_category(ds):
    kinds = Counter(o.kind for o in ds.outcomes.values())
    assert set(kinds) == {"paid", "partial", "underpaid", "denied", "rejected", "corrected", "pending"}
    carcs = {a.carc for r in ds.remits for c in r.claims for ln in c.lines for a in ln.adjustments}
    wanted = {"27", "31", "177", "197", "198", "4", "6", "7", "9", "11", "16", "18", "50", "55", "29", "22", "23", "45"}
    assert wanted <= carcs
    rejections = {o.rejection.category for o in ds.outcomes.values() if o.rejection}
    assert rejections == {"A3", "A6", "A7", "A8"}
    assert {o.status_category for o in ds.outcomes.values() if o.kind == "pending"} <= {"A2", "P1", "P3"}


def test_835_variety_interest_recoveries_medicare_remarks_and_crossovers(ds):
    reasons = {a.reason for r in ds.remits for a in r.adjustments}
    assert reasons == {"L6", "WO"}
    statuses = {c.status_code for r in ds.remits for c in r.claims}
    assert {"1", "4", "19", "22"} <= statuses
    medicare = [c for r in ds.remits if r.payer == "MEDICARE" for c in r.claims if c.status_code != "22"]
    assert medicare and all("MA01" in c.rarcs for c in medicare)
    assert all("MA18" in c.rarcs for r in ds.remits for c in r.claims if c.status_code == "19")


def test_remark_codes_fit_their_reasons(ds):
    fitting = {d.carc: set(d.rarcs) for d in codes.DENIALS}
    for remit in ds.remits:
        for claim in remit.claims:
            for line in claim.lines:
                denial = [a.carc for a in line.adjustments if a.carc in fitting]
                if denial and line.paid == 0:
                    assert set(line.rarcs) == fitting[denial[0]]


def test_amounts_balance_and_underpayments_fall_below_contract(ds):
    for remit in ds.remits:
        plb = sum((a.amount for a in remit.adjustments), Decimal("0.00"))
        assert remit.amount == sum((c.paid for c in remit.claims), Decimal("0.00")) - plb
        for claim in remit.claims:
            assert claim.paid == sum((ln.paid for ln in claim.lines), Decimal("0.00"))
            for line in claim.lines:
                assert line.charge - sum((a.amount for a in line.adjustments), Decimal("0.00")) == line.paid
    for outcome in (o for o in ds.outcomes.values() if o.kind == "underpaid"):
        claim = ds.claim(outcome.claim_id)
        assert outcome.paid < claim.contract_total


def test_pending_claims_have_a_future_adjudication(ds):
    pending = [o for o in ds.outcomes.values() if o.kind == "pending"]
    assert pending and all(o.scheduled is not None and o.scheduled.finalized_on > ds.as_of for o in pending)
    scheduled_ids = {c.claim_id for r in ds.scheduled for c in r.claims}
    assert scheduled_ids == {o.claim_id for o in pending}
    assert all(r.paid_on > ds.as_of for r in ds.scheduled) and all(r.paid_on < ds.as_of for r in ds.remits)
    assert not scheduled_ids & {c.claim_id for r in ds.remits for c in r.claims}


def test_timely_filing_denials_were_really_filed_late(ds):
    late = [o for o in ds.outcomes.values() if o.category == "timely_filing"]
    assert late
    for outcome in late:
        claim = ds.claim(outcome.claim_id)
        assert claim.submitted_on - claim.dos_from > timedelta(days=ds.payers[claim.payer].timely_filing_days)


def test_corrections_reverse_then_repay(ds):
    corrected = [o for o in ds.outcomes.values() if o.kind == "corrected"]
    assert corrected
    for outcome in corrected:
        assert len(outcome.remit_ids) == 2
        later = next(r for r in ds.remits if r.id == outcome.remit_ids[1])
        statuses = [c.status_code for c in later.claims if c.claim_id == outcome.claim_id]
        assert statuses == ["22", "1"]


def test_caqh_has_reminder_and_expired_providers(ds):
    offsets = {(p.due_on - ds.as_of).days for p in ds.caqh}
    assert {15, 10, 5, -1, -30} <= offsets
    assert all((p.due_on - p.last_attested_on).days == 120 for p in ds.caqh)
    soon = [d for p in ds.caqh for d in p.documents if (d.expires_on - ds.as_of).days <= 30]
    assert any(d.expires_on < ds.as_of for d in soon) and any(d.expires_on >= ds.as_of for d in soon)


def test_x12_files_validate_clean_with_pyx12():
    small = generate(seed=3, claims=150)
    files = x12.remit_files(small)[:12] + x12.ack_files(small)[:6] + x12.claim_files(small)[:4]
    assert {f.kind for f in files} == {"835", "277CA", "837P"}
    for f in files:
        assert pyx12_errors(f.text) == [], f.name


def test_835_matches_the_generator_truth():
    small = generate(seed=3, claims=150)
    remit = max(small.remits, key=lambda r: len(r.claims))
    text = x12.write_remit(small, remit, 1).text
    clps = [seg.split("*") for seg in text.replace("\n", "").split("~") if seg.startswith("CLP*")]
    assert [(c[1], c[2], Decimal(c[4])) for c in clps] == [(c.claim_id, c.status_code, c.paid) for c in remit.claims]
    bpr = next(seg for seg in text.replace("\n", "").split("~") if seg.startswith("BPR*"))
    assert Decimal(bpr.split("*")[2]) == remit.amount
    with_plb = next(r for r in small.remits if r.adjustments)
    plb_text = x12.write_remit(small, with_plb, 2).text
    plb = next(seg for seg in plb_text.replace("\n", "").split("~") if seg.startswith("PLB*"))
    adj = with_plb.adjustments[0]
    assert plb.split("*")[3:5] == [f"{adj.reason}:{adj.reference}", str(adj.amount)]
    assert pyx12_errors(plb_text) == []
    assert f"TRN*1*{remit.trace_number}*" in text


def test_277ca_rejects_exactly_the_rejected_claims():
    small = generate(seed=3, claims=150)
    rejected = {o.claim_id: o.rejection for o in small.outcomes.values() if o.rejection}
    seen = {}
    for f in x12.ack_files(small):
        segments = f.text.replace("\n", "").split("~")
        for i, seg in enumerate(segments):
            if seg.startswith("TRN*2*SBX"):
                stc = segments[i + 1].split("*")
                seen[seg.split("*")[2]] = (stc[1], stc[3])
    assert len(seen) == len(small.claims)
    for claim_id, (composite, action) in seen.items():
        if claim_id in rejected:
            r = rejected[claim_id]
            assert composite == ":".join(p for p in (r.category, r.status, r.entity) if p) and action == "U"
        else:
            assert composite == "A2:20" and action == "WQ"


def test_837_carries_every_claim_once():
    small = generate(seed=3, claims=150)
    ids = [seg.split("*")[1] for f in x12.claim_files(small) for seg in f.text.replace("\n", "").split("~")
           if seg.startswith("CLM*")]
    assert sorted(ids) == sorted(c.id for c in small.claims)
