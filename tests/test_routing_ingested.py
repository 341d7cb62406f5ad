"""Real sample files through core.ingest, then route_pending (both backends)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from core.ingest import ingest_file
from core.routing import load_config, route_pending
from core.store.models import Payer
from core.store.models.work import WorkItem
from conftest import X12_SAMPLES as X12

UHC = X12 / "keironstoddart__edi-835-parser__tests__test_edi_835_files__united_healthcare_legacy_sample.txt"
EMEDNY = X12 / "keironstoddart__edi-835-parser__tests__test_edi_835_files__emedny_sample.txt"
REJECTED = X12 / "imsweb__x12-parser__src__test__resources__277_5010__x12_277CA_rejected.txt"


def test_ingested_samples_are_routed_once(db):
    for path in (UHC, EMEDNY, REJECTED):
        assert ingest_file(db, path).status == "ingested"
    config = load_config()
    with db.transaction() as s:
        report = route_pending(s, date(2026, 11, 27), config=config)
    with db.transaction() as s:
        items = s.scalars(select(WorkItem).order_by(WorkItem.id)).all()
        payers = {p.id: p for p in s.scalars(select(Payer))}
        by_payer = {}
        for item in items:
            by_payer.setdefault(payers[item.payer_id].code if item.payer_id else None, []).append(item)

    # UHC file: CO-45 with no contracted rate on file and PR-1/PR-2 only -> nothing to work,
    # though every claim payment was read.
    assert report.sources_read["claim_payment"] >= 5
    assert "UNITED_HEALTHCARE_INSURANCE_COMPANY" not in by_payer

    # eMedNY file: CO-29 timely-filing denials on two lines of one claim, CO-251 with RARC N206 on
    # two lines of another. The payer has no rules file entry, so all go to triage with the reason.
    emedny = [i for i in items if i.kind == "denial"]
    assert sorted((i.carc, i.amount) for i in emedny) == [
        ("251", Decimal("2.75")), ("251", Decimal("20.00")), ("29", Decimal("12.00")), ("29", Decimal("22.00"))]
    assert all(i.team == "triage" and "no payer rules for payer NYSDOH" in i.reason for i in emedny)
    assert all("unknown CARC 251" in i.reason and i.rarc == "N206" for i in emedny if i.carc == "251")
    assert {i.dos for i in emedny} == {date(2010, 1, 1)}

    # 277CA rejection: never adjudicated, still in the store even without a claim on file.
    [rejection] = [i for i in items if i.kind == "rejection"]
    assert rejection.intake_source == "277CA" and "claim has no DOS" in rejection.reason

    with db.transaction() as s:
        again = route_pending(s, date(2026, 11, 28), config=config)
    assert again.total_created == 0 and sum(again.sources_read.values()) == 0
