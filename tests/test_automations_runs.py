"""The four automations end to end: sandbox portal -> store, evidence at checkpoints, exactly-once submits."""
from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from automations import portal_session, registry
from automations.base import Account, RunContext
from automations.errors import SubmissionNotAllowed
from core.crypto import KeyRing
from core.store.models import Claim, ClaimStatusEvent, EvidenceEntry, Payer, Remittance, SubmissionIntent
from core.vault import Vault
from evidence import open_recorder
from portals.errors import ActionNotAllowed, SubmitOutcomeUnknown
from portals_support import PDF, claim_where, credentials, guard

pytestmark = pytest.mark.browser


class Crash(BaseException):
    """Stands in for the fleet's SIGKILL at a checkpoint: like a kill, no `except Exception` sees it."""


@pytest.fixture(autouse=True)
def no_real_totp_waits(monkeypatch):
    totp, _ = guard()
    monkeypatch.setattr(portal_session, "GUARD", totp)


@pytest.fixture
def make_ctx(db, settings, browser):
    keys = KeyRing.load(settings, create=True)
    vault = Vault(db, keys)
    accounts: dict[str, Account] = {}

    def make(handle, *, on_checkpoint=None, seen: list | None = None) -> RunContext:
        if handle.name not in accounts:
            account_id = vault.add_account(alias=f"sbx-{handle.name}", portal=handle.name, base_url=handle.base_url,
                                           credentials=credentials(handle), authorised=True)
            accounts[handle.name] = Account(account_id, f"sbx-{handle.name}", handle.name, handle.base_url)
        account = accounts[handle.name]
        run_id = str(uuid.uuid4())

        def checkpoint(name: str) -> None:
            if seen is not None:
                seen.append(name)
            if on_checkpoint is not None:
                on_checkpoint(name)

        return RunContext(run_id=run_id, account=account, db=db, settings=settings, keys=keys, browser=browser,
                          evidence=open_recorder(settings, db, run_id=run_id, portal=handle.name,
                                                 account_alias=account.alias),
                          checkpoint=checkpoint, today=handle.state.today())
    return make


def count(db, model, *where) -> int:
    with db.transaction() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def intent(db, key: str) -> SubmissionIntent:
    with db.transaction() as s:
        return s.scalar(select(SubmissionIntent).where(SubmissionIntent.idempotency_key == key))


def test_registry_lists_the_four_automations_with_their_checkpoints():
    assert registry.names() == ["caqh_status", "claim_status_pull", "era_pull", "reconsideration_submit"]
    submit = registry.get("reconsideration_submit")
    assert submit.checkpoints.index("before_submit_click") + 1 == submit.checkpoints.index("after_submit_click")


async def test_claim_status_pull_records_each_status_once(make_ctx, fresh_sandbox, db):
    uhc = fresh_sandbox.uhc
    denied, paid = claim_where(uhc, kind="denied"), claim_where(uhc, kind="paid")
    params = {"claims": [{"claim_number": denied.id}, {"claim_number": paid.id}, {"claim_number": "NOPE0000000"}]}
    seen: list[str] = []
    ctx = make_ctx(uhc, seen=seen)
    first = await registry.get("claim_status_pull").run(ctx, params)
    assert first == {"looked_up": 3, "recorded": 2, "unchanged": 0, "not_found": 1, "member_searches": 0,
                     "single_lookups": 3}
    assert seen == ["session_open", "results_read", "recorded"]
    second = await registry.get("claim_status_pull").run(make_ctx(uhc), params)
    assert second == {"looked_up": 3, "recorded": 0, "unchanged": 2, "not_found": 1, "member_searches": 0,
                      "single_lookups": 3}
    with db.transaction() as s:
        events = {e.payer_claim_number: e for e in s.scalars(select(ClaimStatusEvent))}
    assert set(events) == {denied.id, paid.id}
    assert events[denied.id].category == "F2" and events[denied.id].paid == Decimal("0.00")
    assert count(db, EvidenceEntry, EvidenceEntry.run_id == ctx.run_id) > 0


async def test_claim_status_pull_falls_back_to_stored_claims_without_a_range_search(make_ctx, fresh_sandbox, db):
    av = fresh_sandbox.availity
    ds = av.state.dataset
    wanted = [c for c in ds.claims if c.payer == "AETNA"][:2]
    with db.transaction() as s:
        payer = Payer(code="AETNA", name="Aetna")
        s.add(payer)
        s.flush()
        for c in wanted:
            s.add(Claim(payer_id=payer.id, patient_control_number=c.id, billed_amount=c.charge, dos_from=c.dos_from))
    frm, to = min(c.dos_from for c in wanted), max(c.dos_from for c in wanted)
    summary = await registry.get("claim_status_pull").run(
        make_ctx(av), {"service_from": frm.isoformat(), "service_to": to.isoformat(), "payers": ["AETNA"]})
    assert summary["looked_up"] == 2 and summary["recorded"] == 2
    # Stored without member id and date of birth: nothing to search by, so each is looked up alone.
    assert summary["member_searches"] == 0 and summary["single_lookups"] == 2
    with db.transaction() as s:
        linked = s.scalars(select(ClaimStatusEvent.claim_id)).all()
    assert all(linked)  # linked to our claims by patient control number


async def test_era_pull_ingests_downloads_once(make_ctx, fresh_sandbox, db):
    av = fresh_sandbox.availity
    since = date(2026, 10, 15)
    params = {"since": since.isoformat()}
    first = await registry.get("era_pull").run(make_ctx(av), params)
    assert first["downloaded"] == first["listed"] > 0
    assert first["ingest_outcomes"] == {"ingested": first["listed"]}
    remits = count(db, Remittance)
    assert remits >= first["listed"]
    second = await registry.get("era_pull").run(make_ctx(av), params)
    assert second["downloaded"] == 0 and second["skipped_known"] == first["listed"]
    assert count(db, Remittance) == remits


def _recon_params(claim, key: str, **extra) -> dict:
    import base64

    return {"claim_number": claim.id, "reason": "Additional Information", "note": "Records attached.",
            "attachments": [{"name": "records.pdf", "content_b64": base64.b64encode(PDF).decode()}],
            "idempotency_key": key, **extra}


async def test_reconsideration_is_submitted_exactly_once(make_ctx, fresh_sandbox, db):
    uhc = fresh_sandbox.uhc
    claim = claim_where(uhc, kind="denied", appealable=True)
    seen: list[str] = []
    result = await registry.get("reconsideration_submit").run(make_ctx(uhc, seen=seen), _recon_params(claim, "k1"))
    received = uhc.submissions()
    assert [r["id"] for r in received] == [result["confirmation_number"]] and result["submitted"]
    assert seen == list(registry.get("reconsideration_submit").checkpoints)
    row = intent(db, "k1")
    assert row.state == "SUBMITTED" and row.confirmation_number == result["confirmation_number"]
    again = await registry.get("reconsideration_submit").run(make_ctx(uhc), _recon_params(claim, "k1"))
    assert again["submitted"] is False and again["confirmation_number"] == result["confirmation_number"]
    assert len(uhc.submissions()) == 1


async def test_refusal_before_the_click_is_failed_before_submit(make_ctx, fresh_sandbox, db):
    uhc = fresh_sandbox.uhc
    claim = claim_where(uhc, kind="pending")  # not finalized: the action is greyed out
    with pytest.raises(ActionNotAllowed):
        await registry.get("reconsideration_submit").run(make_ctx(uhc), _recon_params(claim, "k2"))
    assert intent(db, "k2").state == "FAILED_BEFORE_SUBMIT" and uhc.submissions() == []


async def test_error_after_the_click_leaves_the_intent_in_doubt(make_ctx, fresh_sandbox, db):
    uhc = fresh_sandbox.uhc
    claim = claim_where(uhc, kind="denied", appealable=True)

    def outage_at_click(name: str) -> None:
        if name == "before_submit_click":
            uhc.set_faults(error_rate=1.0, path_prefix="/portal/claims/reconsideration")

    with pytest.raises(SubmitOutcomeUnknown):
        await registry.get("reconsideration_submit").run(make_ctx(uhc, on_checkpoint=outage_at_click),
                                                          _recon_params(claim, "k3"))
    assert intent(db, "k3").state == "IN_DOUBT"
    uhc.set_faults(error_rate=0.0)
    with pytest.raises(SubmissionNotAllowed):  # never retried from IN_DOUBT: only the reconciler decides
        await registry.get("reconsideration_submit").run(make_ctx(uhc), _recon_params(claim, "k3"))
    assert uhc.submissions() == []


async def test_crash_after_the_click_is_found_by_fingerprint_in_the_portal_list(make_ctx, fresh_sandbox, db, browser):
    from portals_support import session

    uhc = fresh_sandbox.uhc
    claim = claim_where(uhc, kind="denied", appealable=True)

    def crash(name: str) -> None:
        if name == "after_submit_click":
            raise Crash()

    with pytest.raises(Crash):
        await registry.get("reconsideration_submit").run(make_ctx(uhc, on_checkpoint=crash), _recon_params(claim, "k4"))
    row = intent(db, "k4")
    assert row.state == "SUBMITTING" and len(uhc.submissions()) == 1
    with pytest.raises(SubmissionNotAllowed):
        await registry.get("reconsideration_submit").run(make_ctx(uhc), _recon_params(claim, "k4"))
    async with session(browser, uhc, index=1) as s:  # what the reconciler reads
        listed = await s.capability("appeals").list_submitted()
    assert [r.fingerprint() for r in listed] == [row.fingerprint]
    assert len(uhc.submissions()) == 1


async def test_caqh_status_summarises_and_attests(make_ctx, fresh_sandbox):
    caqh = fresh_sandbox.caqh
    from fixtures.caqh.app import row as truth_row

    truth = {p.caqh_id: truth_row(caqh.state, p) for p in caqh.state.dataset.caqh}
    due = next(k for k, v in truth.items() if v.status == "Re-attestation Due")
    summary = await registry.get("caqh_status").run(make_ctx(caqh), {"attest": [due], "signer": "Pat Manager"})
    assert len(summary["providers"]) == len(truth)
    expired = {k for k, v in truth.items() if v.status == "Expired"}
    assert {p["provider_id"] for p in summary["providers"] if p["state"] == "expired"} == expired
    assert [a["provider_id"] for a in summary["attested"]] == [due]
    assert [s["fields"]["caqh_provider_id"] for s in caqh.submissions()] == [due]


async def test_layout_change_stops_the_run_with_failure_evidence(make_ctx, fresh_sandbox, db, monkeypatch):
    from portals.errors import LayoutChanged

    monkeypatch.setattr(portal_session, "TIMEOUT_MS", 2_000)

    av = fresh_sandbox.availity
    av.set_variant("v2")
    claim = claim_where(av, kind="paid")
    ctx = make_ctx(av)
    with pytest.raises(LayoutChanged):
        await registry.get("claim_status_pull").run(ctx, {"claims": [{"claim_number": claim.id, "payer": claim.payer}]})
    with db.transaction() as s:
        steps = s.scalars(select(EvidenceEntry.content).where(EvidenceEntry.run_id == ctx.run_id)).all()
    assert any('"failure"' in c for c in steps)  # the page as it was, then the typed event
    assert count(db, ClaimStatusEvent) == 0


async def test_bad_credentials_are_captured_at_login(make_ctx, fresh_sandbox, db, settings):
    from core.crypto import KeyRing
    from core.vault import Credentials
    from portals.errors import BadCredentials

    caqh = fresh_sandbox.caqh
    ctx = make_ctx(caqh)
    a = caqh.accounts[0]
    Vault(db, KeyRing.load(settings)).put_credentials(ctx.account.id, Credentials(
        username=a.username, password="wrong-password", totp_secret=a.totp_secret))
    with pytest.raises(BadCredentials):
        await registry.get("caqh_status").run(ctx, {})
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(EvidenceEntry).where(EvidenceEntry.run_id == ctx.run_id)) > 0


async def test_availity_dispute_through_the_automation(make_ctx, fresh_sandbox, db):
    av = fresh_sandbox.availity
    claim = claim_where(av, kind="denied", appealable=True)
    params = {**_recon_params(claim, "k5"), "reason": "Claim denied incorrectly", "payer": claim.payer}
    result = await registry.get("reconsideration_submit").run(make_ctx(av), params)
    received = av.submissions()
    assert [s["id"] for s in received] == [result["confirmation_number"]]
    assert received[0]["fields"]["contact_name"] == "sbx-availity billing office"  # no person named: the office
    assert intent(db, "k5").fingerprint == {"kind": "reconsideration", "claim_number": claim.id,
                                            "reason": "Claim denied incorrectly"}
