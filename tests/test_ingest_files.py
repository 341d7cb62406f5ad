"""Ingestion into the store (SQLite and PostgreSQL): rows, idempotency, reversals, bad files, atomicity."""
from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from core.edi.records import Adjustment, ClaimPayment as ClaimRecord, Remittance as RemitRecord
from core.edi.write import write_277ca, write_835, write_837p
from core.ingest import ingest_bytes, ingest_paths, payer_code
from core.store.models import (
    Adjustment as AdjustmentRow, Claim, ClaimDiagnosis, ClaimLine, ClaimPayment, EdiFile, LinePayment, Payer,
    ProviderAdjustment, Rejection, RemarkCode, Remittance,
)
from test_edi_write import ENVELOPE, acknowledgment, remittance, submission
from conftest import X12_SAMPLES as X12

TABLES = (EdiFile, Payer, Remittance, ClaimPayment, LinePayment, AdjustmentRow, RemarkCode, ProviderAdjustment,
          Rejection, Claim, ClaimLine, ClaimDiagnosis)


def counts(db) -> dict[str, int]:
    with db.transaction() as s:
        return {t.__tablename__: s.scalar(select(func.count()).select_from(t)) for t in TABLES}


def ingest(db, text: str, name: str = "f.835", provenance: str = "test"):
    return ingest_bytes(db, text.encode(), filename=name, provenance=provenance)


def test_835_rows_are_written_with_decimal_money_and_codes(db):
    report = ingest(db, write_835(remittance(), ENVELOPE), provenance="portal:availity-main")
    assert (report.status, report.kind, report.transactions, report.claims, report.denied_lines) == ("ingested", "835", 1, 1, 1)
    with db.transaction() as s:
        f = s.scalars(select(EdiFile)).one()
        assert (f.provenance, f.kind, f.size) == ("portal:availity-main", "835", len(write_835(remittance(), ENVELOPE)))
        r = s.scalars(select(Remittance)).one()
        assert (r.trace_number, r.payment_amount, r.payment_method, r.payment_date, r.payee_npi) == (
            "CHK000123", D("37.50"), "CHK", date(2026, 3, 3), "1234567893")
        payer = s.get(Payer, r.payer_id)
        assert (payer.code, payer.name, payer.x12_id) == ("SANDBOX_HEALTH_PLAN", "SANDBOX HEALTH PLAN", "12345")
        cp = s.scalars(select(ClaimPayment)).one()
        assert (cp.patient_control_number, cp.status_code, cp.charge, cp.paid, cp.payer_claim_number) == (
            "PCN-1001", "1", D("210.00"), D("40.00"), "PAYER-CLM-1")
        assert (cp.service_from, cp.service_to, cp.rendering_npi) == (date(2026, 2, 1), date(2026, 2, 2), "1999999984")
        lines = s.scalars(select(LinePayment).order_by(LinePayment.seq)).all()
        assert [(ln.procedure_code, ln.modifiers, ln.paid, ln.line_control_number) for ln in lines] == [
            ("99214", "25", D("0"), "LINE1"), ("80053", "", D("40.00"), None)]
        adjustments = s.execute(select(AdjustmentRow.line_payment_id, AdjustmentRow.group_code, AdjustmentRow.reason_code,
                                       AdjustmentRow.amount).order_by(AdjustmentRow.id)).all()
        assert [tuple(a)[1:] for a in adjustments] == [("CO", "197", D("150.00")), ("CO", "45", D("15.00")), ("PR", "2", D("5.00"))]
        assert adjustments[0].line_payment_id == lines[0].id
        remarks = s.execute(select(RemarkCode.source, RemarkCode.code, RemarkCode.line_payment_id).order_by(RemarkCode.id)).all()
        assert [tuple(m) for m in remarks] == [("MOA", "MA01", None), ("LQ", "N54", lines[0].id)]
        (plb,) = s.scalars(select(ProviderAdjustment)).all()
        assert (plb.reason, plb.reference, plb.amount) == ("WO", "PAYER-CLM-0", D("2.50"))


def test_same_file_twice_changes_nothing(db):
    text = write_835(remittance(), ENVELOPE)
    ingest(db, text)
    before = counts(db)
    again = ingest(db, text, name="renamed.835")
    assert again.status == "duplicate" and counts(db) == before


def test_same_transaction_in_another_file_adds_no_business_rows(db):
    ingest(db, write_835(remittance(), ENVELOPE))
    before = counts(db)
    other_envelope = replace(ENVELOPE, interchange_control_number=43)
    report = ingest(db, write_835(remittance(), other_envelope, line_breaks=False), name="resent.835")
    assert (report.status, report.duplicate_transactions, report.claims) == ("ingested", 1, 0)
    after = counts(db)
    assert after.pop("edi_files") == before.pop("edi_files") + 1  # the file's receipt is recorded
    assert after == before


def test_public_samples_ingest_and_variants_are_duplicates(db):
    report = ingest_paths(db, [X12 / "variants", X12 / "LinuxForHealth__x12__src__tests__resources__835_005010X221A1__managed-care.835"])
    statuses = [(f.status, f.duplicate_transactions) for f in report.files]
    # The first variant stores the payment; the rest carry the same TRN from the same payer.
    assert statuses == [("ingested", 0)] + [("ingested", 1)] * 4
    assert counts(db)["claim_payments"] == 2


def _payment(pcn: str, status: str, charge: str, paid: str, icn: str) -> ClaimRecord:
    base = remittance().claims[0]
    line = replace(base.lines[1], charge=D(charge), paid=D(paid),
                   adjustments=(Adjustment("CO", "45", D(charge) - D(paid)),), allowed=None)
    return replace(base, patient_control_number=pcn, status=status, charge=D(charge), paid=D(paid),
                   payer_claim_number=icn, lines=(line,), remarks=())


def _remit(trace: str, *claims: ClaimRecord) -> RemitRecord:
    base = remittance()
    return replace(base, claims=claims, provider_adjustments=(),
                   payment=replace(base.payment, trace_number=trace, amount=sum((c.paid for c in claims), D(0))))


def test_reversal_links_to_the_payment_it_reverses(db):
    original = _payment("PCN-9", "1", "100.00", "80.00", "ICN-1")
    ingest(db, write_835(_remit("EFT1", original), ENVELOPE), name="first.835")
    reversal = _payment("PCN-9", "22", "-100.00", "-80.00", "ICN-1")
    correction = _payment("PCN-9", "1", "100.00", "90.00", "ICN-2")
    report = ingest(db, write_835(_remit("EFT2", reversal, correction), ENVELOPE), name="second.835")
    assert report.reversals_linked == 1
    with db.transaction() as s:
        rows = {(p.status_code, p.payer_claim_number): p for p in s.scalars(select(ClaimPayment))}
        first, rev, corr = rows[("1", "ICN-1")], rows[("22", "ICN-1")], rows[("1", "ICN-2")]
        assert first.reversed and rev.reverses_id == first.id
        assert not corr.reversed and corr.reverses_id is None
    # Ingesting the reversal's file again changes nothing.
    before = counts(db)
    assert ingest(db, write_835(_remit("EFT2", reversal, correction), ENVELOPE, line_breaks=False)).duplicate_transactions == 1
    assert counts(db)["claim_payments"] == before["claim_payments"]


def test_reversal_without_its_original_is_flagged_and_linked_when_the_original_arrives(db):
    ingest(db, write_835(_remit("EFT3", _payment("PCN-7", "22", "-50.00", "-40.00", "ICN-7")), ENVELOPE))
    with db.transaction() as s:
        payment = s.scalars(select(ClaimPayment)).one()
        assert payment.reverses_id is None and "reversal_original_not_found" in payment.flags
    # A correction with the same numbers and charge but another paid amount is not the original.
    correction = _payment("PCN-7", "1", "50.00", "45.00", "ICN-7")
    assert ingest(db, write_835(_remit("EFT4", correction), ENVELOPE)).reversals_linked == 0
    original = _payment("PCN-7", "1", "50.00", "40.00", "ICN-7")
    assert ingest(db, write_835(_remit("EFT5", original), ENVELOPE)).reversals_linked == 1
    with db.transaction() as s:
        rows = {p.remittance.trace_number: p for p in s.scalars(select(ClaimPayment))}
        rev, corr, orig = rows["EFT3"], rows["EFT4"], rows["EFT5"]
        assert rev.reverses_id == orig.id and "reversal_original_not_found" not in rev.flags
        assert orig.reversed and not corr.reversed


def test_277ca_rejections_and_links_to_claims_in_either_order(db):
    report = ingest(db, write_277ca(acknowledgment(), ENVELOPE), name="ack.277")
    assert (report.kind, report.claims, report.rejections) == ("277CA", 2, 2)  # claim STC + line STC of PCN-1002
    with db.transaction() as s:
        rows = s.scalars(select(Rejection).order_by(Rejection.id)).all()
        assert [(r.level, r.patient_control_number, r.status, r.amount) for r in rows] == [
            ("claim", "PCN-1002", "A7:562:85", D("80")), ("line", "PCN-1002", "A7:562:85", D("80"))]
        assert all(r.claim_id is None and r.effective_date == date(2026, 3, 4) for r in rows)
    assert ingest(db, write_277ca(acknowledgment(), ENVELOPE, line_breaks=False)).duplicate_transactions == 1
    assert counts(db)["rejections"] == 2
    # The 837 arrives afterwards: the rejections get their claim.
    ingest(db, write_837p(submission(), ENVELOPE), name="claims.837")
    with db.transaction() as s:
        claim_id = s.scalar(select(Claim.id).where(Claim.patient_control_number == "PCN-1002"))
        assert set(s.scalars(select(Rejection.claim_id))) == {claim_id}


def test_batch_level_rejection_without_claims_is_stored(db):
    ack = acknowledgment()
    receiver = ack.batches[0]
    rejected = replace(receiver.statuses[0], codes=(replace(receiver.statuses[0].codes[0], category="A3", status="21"),),
                       action_code="U")
    ack = replace(ack, batches=(replace(receiver, statuses=(rejected,)), ack.batches[1]), claims=())
    ingest(db, write_277ca(ack, ENVELOPE))
    with db.transaction() as s:
        (row,) = s.scalars(select(Rejection)).all()
        assert (row.level, row.status, row.patient_control_number) == ("receiver", "A3:21", None)


def test_837_claims_lines_diagnoses_and_payment_linking(db):
    ingest(db, write_835(remittance(), ENVELOPE), name="era.835")  # the ERA first
    report = ingest(db, write_837p(submission(), ENVELOPE), name="claims.837")
    assert (report.kind, report.claims) == ("837P", 2)
    with db.transaction() as s:
        claim = s.scalars(select(Claim).where(Claim.patient_control_number == "PCN-1001")).one()
        assert (claim.billed_amount, claim.billing_npi, claim.rendering_npi, claim.place_of_service) == (
            D("210.00"), "1234567893", "1999999984", "11")
        assert (claim.dos_from, claim.dos_to, claim.member_id, claim.claim_type) == (
            date(2026, 2, 1), date(2026, 2, 2), "W987654321", "837P")
        assert [(ln.procedure_code, ln.modifiers, ln.diagnosis_pointers, ln.units) for ln in claim.lines] == [
            ("99214", "25", "1,2", D("1")), ("80053", "", "1", D("2"))]
        assert [d.code for d in claim.diagnoses] == ["E119", "I10"]
        assert s.scalars(select(ClaimPayment.claim_id)).one() == claim.id
        # The 835 and 837 name the payer alike, so both land on one payer row.
        assert s.scalar(select(func.count()).select_from(Payer)) == 1
    assert ingest(db, write_837p(submission(), ENVELOPE, line_breaks=False)).duplicate_transactions == 1
    assert counts(db)["claims"] == 2


def test_bad_files_are_typed_errors_and_the_batch_continues(db, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    good = write_835(remittance(), ENVELOPE)
    (inbox / "a_empty.835").write_bytes(b"")
    (inbox / "b_binary.835").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    (inbox / "c_garbage.835").write_text("Dear provider, please find attached")
    (inbox / "d_truncated.835").write_text(good[: good.index("CLP*") + 10])
    (inbox / "e_good.835").write_text(good)
    (inbox / "f_status_response.277").write_bytes((X12 / "LinuxForHealth__x12__src__tests__resources__277_005010X212__claim-level-status.277").read_bytes())
    report = ingest_paths(db, [inbox])
    outcome = {Path(f.filename).name: f for f in report.files}
    assert [n for n, f in outcome.items() if f.status == "error"] == [
        "a_empty.835", "b_binary.835", "c_garbage.835", "d_truncated.835", "f_status_response.277"]
    assert "empty file" in outcome["a_empty.835"].error and "binary" in outcome["b_binary.835"].error
    assert "d_truncated.835" in outcome["d_truncated.835"].error and "segment" in outcome["d_truncated.835"].error
    assert "005010X212" in outcome["f_status_response.277"].error
    assert outcome["e_good.835"].status == "ingested"
    c = counts(db)
    assert (c["edi_files"], c["remittances"], c["claim_payments"]) == (1, 1, 1)


def test_a_failure_while_writing_leaves_nothing_half_written(db, monkeypatch):
    import core.ingest.ingest as module

    real = module.store_remittance
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        outcome = real(*args, **kwargs)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return outcome

    monkeypatch.setattr(module, "store_remittance", failing)
    second = replace(remittance(), control_number="0002", payment=replace(remittance().payment, trace_number="OTHER"))
    with pytest.raises(RuntimeError):
        ingest(db, write_835([remittance(), second], ENVELOPE))
    assert set(counts(db).values()) == {0}


def test_payer_codes_are_derived_from_name_or_identifier():
    assert payer_code("Blue Cross & Blue Shield of N.C.", "X1") == "BLUE_CROSS_BLUE_SHIELD_OF_N_C"
    assert payer_code("", "12-345") == "PAYER_12_345"
    assert payer_code("", "") == "UNKNOWN_PAYER"


def test_payer_code_collision_gets_the_identifier(db):
    a = replace(remittance(), payer=replace(remittance().payer, identifier="111"))
    b = replace(remittance(), payer=replace(remittance().payer, name="Sandbox-Health Plan", identifier="222"),
                payment=replace(remittance().payment, trace_number="T2"))
    ingest(db, write_835(a, ENVELOPE), name="a")
    ingest(db, write_835(b, ENVELOPE), name="b")
    with db.transaction() as s:
        # Name matching is case-blind but exact: "Sandbox-Health Plan" is a different name, same code stem.
        assert sorted(s.scalars(select(Payer.code))) == ["SANDBOX_HEALTH_PLAN", "SANDBOX_HEALTH_PLAN_222"]


def test_cli_ingest_prints_per_file_counts_and_exits_1_on_errors(db, db_url, tmp_path, monkeypatch):
    from cli.main import app
    from core.config import get_settings

    inbox = tmp_path / "drop"
    inbox.mkdir()
    (inbox / "era.835").write_text(write_835(remittance(), ENVELOPE))
    (inbox / "junk.835").write_text("junk")
    monkeypatch.setenv("PAYERFLEET_DATABASE_URL", db_url)
    monkeypatch.setenv("PAYERFLEET_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["ingest", str(inbox)])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert "junk.835" in result.output and "not X12" in result.output
    row = next(line for line in result.output.splitlines() if "era.835" in line)
    assert [cell.strip() for cell in row.split("│")[2:7]] == ["ingested", "1", "1", "1", "0"]


def test_truncation_found_after_a_stored_transaction_rolls_the_whole_file_back(db):
    second = replace(remittance(), control_number="0002", payment=replace(remittance().payment, trace_number="T2"))
    text = write_835([remittance(), second], ENVELOPE)
    cut = text[: text.rindex("SE*")]  # the second transaction loses its SE, GE and IEA
    report = ingest(db, cut, name="cut.835")
    assert report.status == "error" and "truncated" in report.error and "cut.835" in report.error
    assert set(counts(db).values()) == {0}
    assert ingest(db, text, name="whole.835").transactions == 2  # the complete file is not blocked
