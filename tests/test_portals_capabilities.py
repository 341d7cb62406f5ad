"""Every capability of every portal against the sandbox, checked against the sandbox's ground truth."""
from __future__ import annotations

import hashlib
from datetime import date

import pytest

from fixtures.portal_kit.files import served_files
from portals.capabilities import AppealRequest, Attachment, ClaimQuery
from portals.contract import ContractData, run_contract
from portals.errors import (
    ActionNotAllowed,
    AlreadySubmitted,
    CapabilityNotSupported,
    ClaimNotFound,
    InvalidAttachment,
    InvalidRequest,
)
from portals_support import PDF, claim_where, guard, session

pytestmark = pytest.mark.browser


def truth(handle, claim):
    return handle.state.dataset.outcomes[claim.id]


# -- Availity ------------------------------------------------------------------------------
async def test_availity_claim_status_matches_the_payer_record(browser, fresh_sandbox):
    av = fresh_sandbox.availity
    denied = claim_where(av, kind="denied")
    async with session(browser, av) as s:
        lookup = s.capability("claim_status")
        row = await s.read(lambda: lookup.lookup(ClaimQuery(claim_number=denied.id, payer=denied.payer)))
        with pytest.raises(ClaimNotFound):
            await lookup.lookup(ClaimQuery(claim_number="NOPE0000000", payer=denied.payer))
        with pytest.raises(CapabilityNotSupported):
            await lookup.search(date(2026, 1, 1), date(2026, 12, 31))
    o = truth(av, denied)
    assert (row.claim_number, row.category, row.paid) == (denied.id, o.status_category, o.paid)
    assert row.billed == denied.charge and row.finalized_on == o.finalized_on and row.status_code == o.status_code
    assert any(code.startswith(("CO-", "PR-", "OA-")) for code in row.codes)


async def test_availity_lookup_without_payer_tries_each_payer(browser, fresh_sandbox):
    av = fresh_sandbox.availity
    claim = next(c for c in av.state.dataset.claims if c.payer == "ANTHEM")
    async with session(browser, av) as s:
        row = await s.capability("claim_status").lookup(ClaimQuery(claim_number=claim.id))
    assert row.claim_number == claim.id


async def test_availity_era_list_and_download_are_the_served_835s(browser, fresh_sandbox):
    av = fresh_sandbox.availity
    since = date(2026, 10, 1)
    expected = [f for f in served_files(av.state) if f.kind == "835" and f.created >= since]
    async with session(browser, av) as s:
        remits = s.capability("remittances")
        rows = await s.read(lambda: remits.list_remittances(since))
        file = await s.read(lambda: remits.download_835(rows[-1]))
    assert [r.remit_id for r in rows] == [f.name for f in expected]
    assert [r.amount for r in rows] == [f.amount for f in expected]
    assert file.filename == expected[-1].name and file.data == expected[-1].data


async def test_availity_dispute_is_received_once_with_its_attachments(browser, fresh_sandbox):
    av = fresh_sandbox.availity
    claim = claim_where(av, kind="denied", appealable=True)
    request = AppealRequest(claim.id, "Claim denied incorrectly", "Authorization was on file.",
                            (Attachment("auth.pdf", PDF),), payer=claim.payer, contact_name="Pat Biller")
    async with session(browser, av) as s:
        appeals = s.capability("appeals")
        prepared = await s.read(lambda: appeals.prepare(request))
        conf = await prepared.submit()
        listed = await appeals.list_submitted()
        with pytest.raises(AlreadySubmitted):
            again = await appeals.prepare(request)
            await again.submit()
    received = av.submissions()
    assert [r["id"] for r in received] == [conf.confirmation_number]
    assert received[0]["fields"]["reason"] == request.reason
    assert received[0]["attachments"][0]["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert [r.fingerprint() for r in listed] == [request.fingerprint()]
    assert listed[0].confirmation_number == conf.confirmation_number


async def test_availity_dispute_refusals_are_typed_before_anything_is_sent(browser, fresh_sandbox):
    av = fresh_sandbox.availity
    claim = claim_where(av, kind="denied", appealable=True)
    not_appealable = claim_where(av, kind="denied", appealable=False)
    async with session(browser, av) as s:
        appeals = s.capability("appeals")
        with pytest.raises(InvalidAttachment):  # Availity wants each file over 3 KB
            await appeals.prepare(AppealRequest(claim.id, "Other", "x", (Attachment("tiny.pdf", b"%PDF"),),
                                                payer=claim.payer, contact_name="Pat"))
        with pytest.raises(InvalidRequest):
            await appeals.prepare(AppealRequest(claim.id, "Because", "x", payer=claim.payer, contact_name="Pat"))
        with pytest.raises(ActionNotAllowed, match="not an appealable denial"):
            await appeals.prepare(AppealRequest(not_appealable.id, "Other", "x", payer=not_appealable.payer,
                                                contact_name="Pat"))
    assert av.submissions() == []


async def test_availity_decision_letter_downloads_after_the_payer_decides(browser, fresh_sandbox):
    av = fresh_sandbox.availity
    claim = claim_where(av, kind="denied", appealable=True)
    async with session(browser, av) as s:
        appeals = s.capability("appeals")
        prepared = await appeals.prepare(AppealRequest(claim.id, "Other", "See records.", payer=claim.payer,
                                                       contact_name="Pat"))
        conf = await prepared.submit()
        av.advance(days=15)  # the payer decides; the idle session ends too, so reads re-login once
        letters = await s.read(s.capability("letters").list_letters)
        pdf = await s.capability("letters").download_letter(letters[0])
        assert s.logins == 2
    assert [x.letter_id for x in letters] == [conf.confirmation_number]
    case = av.cases()[0]
    assert pdf.data.startswith(b"%PDF") and hashlib.sha256(pdf.data).hexdigest() == case["letter_sha256"]


# -- UHC -----------------------------------------------------------------------------------
async def test_uhc_claim_status_and_eob_popup_download(browser, fresh_sandbox):
    uhc = fresh_sandbox.uhc
    denied = claim_where(uhc, kind="denied")
    async with session(browser, uhc) as s:
        claims = s.capability("claim_status")
        row = await s.read(lambda: claims.lookup(ClaimQuery(claim_number=denied.id)))
        eob = await claims.download_eob(denied.id)
        with pytest.raises(ClaimNotFound):
            await claims.lookup(ClaimQuery(claim_number="NOPE0000000"))
        assert len(s.context.pages) == 1  # the EOB tab was closed
    o = truth(uhc, denied)
    assert (row.status_text, row.category, row.paid, row.billed) == ("Denied", "F2", o.paid, denied.charge)
    assert row.codes and eob.filename == f"EOB_{denied.id}.pdf" and eob.data.startswith(b"%PDF")


async def test_uhc_reconsideration_once_then_greyed_out(browser, fresh_sandbox):
    uhc = fresh_sandbox.uhc
    claim = claim_where(uhc, kind="denied", appealable=True)
    request = AppealRequest(claim.id, "Additional Information", "Corrected records attached.",
                            (Attachment("records.pdf", PDF),))
    async with session(browser, uhc) as s:
        appeals = s.capability("appeals")
        conf = await (await s.read(lambda: appeals.prepare(request))).submit()
        listed = await appeals.list_submitted()
        with pytest.raises(ActionNotAllowed, match="greyed out"):
            await appeals.prepare(request)
    received = uhc.submissions()
    assert [r["id"] for r in received] == [conf.confirmation_number]
    assert received[0]["fields"]["reason_category"] == "Additional Information"
    assert [r.fingerprint() for r in listed] == [request.fingerprint()]


async def test_uhc_letters_and_835_payments(browser, fresh_sandbox):
    uhc = fresh_sandbox.uhc
    claim = claim_where(uhc, kind="denied", appealable=True)
    since = date(2026, 9, 1)
    expected = [f for f in served_files(uhc.state) if f.created >= since]
    async with session(browser, uhc) as s:
        prepared = await s.capability("appeals").prepare(AppealRequest(claim.id, "Other", "Please review."))
        await prepared.submit()
        letters = s.capability("letters")
        listed = await letters.list_letters()
        ack = await letters.download_letter(listed[0])
        payments = s.capability("remittances")
        rows = await payments.list_remittances(since)
        era = await payments.download_835(rows[0])
    assert [x.title for x in listed] == ["Acknowledgment"] and ack.data.startswith(b"%PDF")
    assert [r.remit_id for r in rows] == [f.name for f in expected]
    assert era.data == expected[0].data and era.data.startswith(b"ISA")


# -- CAQH ----------------------------------------------------------------------------------
async def test_caqh_roster_documents_and_attest(browser, fresh_sandbox):
    from fixtures.caqh.app import row as truth_row

    caqh = fresh_sandbox.caqh
    state = caqh.state
    expected = {p.caqh_id: truth_row(state, p) for p in state.dataset.caqh}
    async with session(browser, caqh) as s:
        cred = s.capability("credentialing")
        roster = await s.read(cred.roster)
        docs = await s.read(cred.expiring_documents)
        due = next(r for r in roster if r.status != "Attested")
        conf = await cred.attest(due.provider_id, "Pat Manager")
        after = {r.provider_id: r for r in await cred.roster()}
    assert {r.provider_id: (r.status, r.attestation_due_on) for r in roster} == {
        k: (v.status, v.due) for k, v in expected.items()}
    assert {(d.provider_id, d.document) for d in docs} == {
        (k, kind) for k, v in expected.items() for kind, _, _ in v.expiring}
    assert after[due.provider_id].status == "Attested" and conf.next_due_on == after[due.provider_id].attestation_due_on
    assert [x["fields"]["caqh_provider_id"] for x in caqh.submissions()] == [due.provider_id]


# -- the contract harness, for every registered portal ----------------------------------------
@pytest.mark.parametrize("name", ["availity", "uhc", "caqh"])
async def test_contract_harness_passes_for_every_builtin_portal(browser, fresh_sandbox, name):
    handle = fresh_sandbox.portals[name]
    totp, _ = guard()
    data = ContractData(since=date(2026, 9, 1))
    if name != "caqh":
        known = claim_where(handle, kind="paid")
        data = ContractData(known_claim=ClaimQuery(claim_number=known.id, payer=known.payer if name == "availity" else ""),
                            missing_claim=ClaimQuery(claim_number="NOPE0000000", payer=known.payer if name == "availity" else ""),
                            since=date(2026, 9, 1))
    if name == "uhc":  # the letters check needs one document in the library
        async with session(browser, handle, totp=totp) as s:
            claim = claim_where(handle, kind="denied", appealable=True)
            await (await s.capability("appeals").prepare(AppealRequest(claim.id, "Other", "Please review."))).submit()
    if name == "availity":
        async with session(browser, handle, totp=totp) as s:
            claim = claim_where(handle, kind="denied", appealable=True)
            await (await s.capability("appeals").prepare(AppealRequest(claim.id, "Other", "x", payer=claim.payer,
                                                                       contact_name="Pat"))).submit()
        handle.advance(days=15)
    async with session(browser, handle, totp=totp) as s:
        results = await run_contract(s, data)
    failed = [r for r in results if not r.ok]
    assert results and not failed, failed


async def test_availity_remittance_viewer_authenticates_the_check_first(browser, fresh_sandbox):
    from portals.availity.remittances import RemittanceViewer

    av = fresh_sandbox.availity
    ds = av.state.dataset
    remit = next(r for r in ds.remits if ds.payers[r.payer].portal != "uhc" and r.amount > 0)
    async with session(browser, av) as s:
        rows = await s.capability("remittances").list_remittances(remit.paid_on)
        listed = next(r for r in rows if r.check_number == remit.trace_number)
        claims = await RemittanceViewer(s).view(listed)
    assert [c.claim_number for c in claims] == [c.claim_id for c in remit.claims]
    assert [c.paid for c in claims] == [c.paid for c in remit.claims]
    assert all(a.split("-")[0] in ("CO", "PR", "OA", "PI", "CR") for c in claims for a in c.adjustments)


async def test_v2_cosmetic_renames_are_survived_and_structural_changes_fail_loudly(browser, fresh_sandbox):
    from portals.errors import LayoutChanged

    uhc = fresh_sandbox.uhc
    claim = claim_where(uhc, kind="denied", appealable=True)
    totp, _ = guard()
    async with session(browser, uhc, totp=totp) as s:
        await (await s.capability("appeals").prepare(AppealRequest(claim.id, "Other", "Please review."))).submit()
    uhc.set_variant("v2")  # pages renamed ("Claim Requests", "Payment Documents"); results become cards
    async with session(browser, uhc, totp=totp, timeout_ms=2_000) as s:
        listed = await s.capability("appeals").list_submitted()
        payments = await s.capability("remittances").list_remittances(date(2026, 9, 1))
        letters = await s.capability("letters").list_letters()
        with pytest.raises(LayoutChanged):
            await s.capability("claim_status").lookup(ClaimQuery(claim_number=claim.id))
    assert [r.claim_number for r in listed] == [claim.id] and payments and letters
