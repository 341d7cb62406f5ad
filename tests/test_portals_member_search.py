"""Bulk claim status by member (id + date of birth + service range), all pages, against the sandbox's records."""
from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from fixtures.portal_kit import claims_view
from fixtures.uhc.claims import uhc_status
from portals.errors import InvalidRequest, LayoutChanged
from portals_support import session

pytestmark = pytest.mark.browser

PAGE_SIZE = 3


def busiest_member(handle):
    """The (patient, payer) on this portal with the most claims: several result pages."""
    ds = handle.state.dataset
    uhc = handle.name == "uhc"
    counts = Counter((c.patient_id, c.payer) for c in ds.claims if (c.payer == "UHC") == uhc)
    (patient_id, payer), n = counts.most_common(1)[0]
    assert n > PAGE_SIZE
    return ds.patient(patient_id), payer


def expected(handle, patient, payer, dos_from: date | None = None, dos_to: date | None = None) -> dict:
    """What the sandbox holds for the member: claim number -> (status words, billed, paid, finalized)."""
    ds = handle.state.dataset
    out = {}
    for c in ds.claims_of_patient(patient.id):
        if c.payer != payer or (dos_from and c.dos_from < dos_from) or (dos_to and c.dos_to > dos_to):
            continue
        v = claims_view.view(handle.state, c.id)
        status = uhc_status(v) if handle.name == "uhc" else v.status
        finalized = None if handle.name == "uhc" else v.finalized_on
        out[c.id] = (status, c.charge, v.paid, finalized, c.dos_from)
    return out


def as_found(rows) -> dict:
    return {r.claim_number: (r.status_text, r.billed, r.paid, r.finalized_on, r.service_from) for r in rows}


@pytest.mark.parametrize("name", ["availity", "uhc"])
async def test_member_search_reads_every_page_and_matches_the_payer_records(browser, fresh_sandbox, name):
    handle = fresh_sandbox.portals[name]
    handle.set_behaviour(page_size=PAGE_SIZE)
    patient, payer = busiest_member(handle)
    want = expected(handle, patient, payer)
    pages = 0

    async def on_page() -> None:
        nonlocal pages
        pages += 1

    async with session(browser, handle) as s:
        lookup = s.capability("claim_status")
        rows = await s.read(lambda: lookup.search_member(patient.member_id, patient.dob, payer=payer,
                                                         on_page=on_page))
        dated = sorted(want.values(), key=lambda t: t[4])
        lo, hi = dated[1][4], dated[-2][4]
        ranged = await lookup.search_member(patient.member_id, patient.dob, lo, hi, payer=payer)
        nobody = await lookup.search_member("ZZ999999999", date(1901, 1, 1), payer=payer)
        with pytest.raises(InvalidRequest):
            await lookup.search_member("", patient.dob, payer=payer)
    assert len(rows) == len(want) and as_found(rows) == want
    assert pages == -(-len(want) // PAGE_SIZE)
    assert as_found(ranged) == expected(handle, patient, payer, lo, hi)
    assert 0 < len(ranged) < len(rows)
    assert nobody == []
    for row in rows:
        if row.status_text == "Denied":
            assert row.category == "F2"
        if row.status_text == "Rejected":
            assert row.category == ""


@pytest.mark.parametrize("name", ["availity", "uhc"])
async def test_member_search_on_the_redesigned_markup_stops_as_layout_changed(browser, fresh_sandbox, name):
    handle = fresh_sandbox.portals[name]
    patient, payer = busiest_member(handle)
    handle.set_variant("v2")
    async with session(browser, handle, timeout_ms=2_000) as s:
        lookup = s.capability("claim_status")
        with pytest.raises(LayoutChanged):
            await lookup.search_member(patient.member_id, patient.dob, payer=payer)
