"""End to end: the sandbox generator's 837P, 277CA and 835 files ingest in any order and match its truth."""
from __future__ import annotations

import random
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from core.ingest import ingest_bytes
from core.store.models import Claim, ClaimPayment, EdiFile, Rejection, Remittance
from fixtures.generator import x12 as generated
from fixtures.generator.build import generate


Original = aliased(ClaimPayment)


@pytest.fixture(scope="module")
def world():
    ds = generate(seed=7, claims=60)
    return ds, generated.claim_files(ds) + generated.ack_files(ds) + generated.remit_files(ds)


def _count(session, query) -> int:
    return session.scalar(select(func.count()).select_from(query.subquery()))


@pytest.mark.parametrize("order", ["claims_first", "shuffled"])
def test_generated_files_ingest_and_match_the_generator(db, world, order):
    ds, files = world
    files = list(files)
    if order == "shuffled":
        random.Random(3).shuffle(files)
    reports = [ingest_bytes(db, f.data, filename=f.name, provenance="sandbox") for f in files]
    assert [r.status for r in reports] == ["ingested"] * len(files)
    payments = [p for remit in ds.remits for p in remit.claims]
    with db.transaction() as s:
        assert _count(s, select(EdiFile.id)) == len(files)
        assert _count(s, select(Claim.id)) == len(ds.claims)
        assert sorted(s.scalars(select(Remittance.trace_number))) == sorted(r.trace_number for r in ds.remits)
        assert s.scalar(select(func.sum(Remittance.payment_amount))) == sum((r.amount for r in ds.remits), Decimal(0))
        assert _count(s, select(ClaimPayment.id)) == len(payments)
        # Every payment and rejection finds its claim, whichever file came first.
        assert _count(s, select(ClaimPayment.id).where(ClaimPayment.claim_id.is_(None))) == 0
        assert _count(s, select(Rejection.id).where(Rejection.claim_id.is_(None))) == 0
        reversals = [p for p in payments if p.status_code == "22"]
        linked = _count(s, select(ClaimPayment.id).where(ClaimPayment.reverses_id.is_not(None)))
        # Whichever file came first, every reversal ends linked to the payment it exactly negates.
        assert linked == len(reversals)
        assert _count(s, select(ClaimPayment.id).where(ClaimPayment.reversed.is_(True))) == len(reversals)
        pairs = s.execute(select(ClaimPayment.charge, ClaimPayment.paid, Original.charge, Original.paid)
                          .join(Original, Original.id == ClaimPayment.reverses_id)).all()
        assert len(pairs) == len(reversals)
        assert all(charge == -o_charge and paid == -o_paid for charge, paid, o_charge, o_paid in pairs)
        assert not [f for (f,) in s.execute(select(ClaimPayment.flags)) if "reversal_original_not_found" in f]
    again = [ingest_bytes(db, f.data, filename=f.name, provenance="sandbox").status for f in files]
    assert set(again) == {"duplicate"}
