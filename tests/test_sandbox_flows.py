"""Each portal's server-side rules and flows, driven in-process; ground truth read from the control API."""
from __future__ import annotations

import hashlib
import re

import pytest

from pyx12_support import pyx12_errors
from fixtures.testing import PortalClient, csrf_of

PDF = b"%PDF-1.4\n" + b"0" * 5000


@pytest.fixture
def av() -> PortalClient:
    client = PortalClient("availity")
    client.login()
    client.control("POST", "behaviour", {"result_delay_ms": 0})
    return client


def inquire(pc: PortalClient, **body) -> dict:
    page = pc.get("/static/web/post/cs/enhanced-claim-status-ui/")
    started = pc.post("/static/web/post/cs/api/inquiries", json=body, headers={"X-CSRF-Token": csrf_of(page.text)})
    assert started.status_code == 202
    return pc.get(f"/static/web/post/cs/api/inquiries/{started.json()['id']}").json()


def patient_with_claims(pc: PortalClient, payers: set[str], at_least: int):
    ds = pc.state.dataset
    counts: dict[str, int] = {}
    for claim in ds.claims:
        if claim.payer in payers:
            counts[claim.patient_id] = counts.get(claim.patient_id, 0) + 1
    pid = next(p for p, n in sorted(counts.items()) if n >= at_least)
    return ds.patient(pid), counts[pid]


def open_claim(pc: PortalClient, claim_id: str, payer: str) -> str:
    rows = inquire(pc, payerId=payer, claimNumber=claim_id)["rows"]
    key = rows[0]["key"]
    assert pc.get(f"/static/web/post/cs/enhanced-claim-status-ui/detail?key={key}").status_code == 200
    return key


def claims_of(pc: PortalClient, kind: str, payers: set[str], appealable: bool | None = None):
    ds = pc.state.dataset
    return [c for c in ds.claims if c.payer in payers and ds.outcomes[c.id].kind == kind
            and (appealable is None or ds.outcomes[c.id].appealable == appealable)]


AV_PAYERS = {"AETNA", "CIGNA", "ANTHEM", "MEDICARE"}


# --- Availity ------------------------------------------------------------------------------------

def test_member_search_paginates_newest_first_and_sorts(av):
    av.control("POST", "behaviour", {"page_size": 2})
    patient, total = patient_with_claims(av, AV_PAYERS, 3)
    body = {"payerId": patient.payer, "memberId": patient.member_id, "birthDate": patient.dob.isoformat()}
    first = inquire(av, **body)
    assert first["total"] == total and first["pages"] == -(-total // 2) and len(first["rows"]) == 2
    expected = {c.id for c in av.state.dataset.claims if c.patient_id == patient.id}
    assert {r["claimNumber"] for r in first["rows"]} <= expected


def test_member_id_without_prefix_still_matches(av):
    patient = next(p for p in av.state.dataset.patients if p.payer == "AETNA"
                   and any(c.patient_id == p.id for c in av.state.dataset.claims))
    result = inquire(av, payerId="AETNA", memberId=patient.member_id[1:], birthDate=patient.dob.strftime("%m/%d/%Y"))
    assert result["rows"] and result["alert"] is None


def test_provider_npi_must_be_valid_and_narrows_results(av):
    claim = claims_of(av, "paid", AV_PAYERS)[0]
    patient = av.state.dataset.patient(claim.patient_id)
    body = {"payerId": claim.payer, "memberId": patient.member_id, "birthDate": patient.dob.isoformat()}
    page = av.get("/static/web/post/cs/enhanced-claim-status-ui/")
    bad = av.post("/static/web/post/cs/api/inquiries", json={**body, "providerNpi": "1234567890"},
                  headers={"X-CSRF-Token": csrf_of(page.text)})
    assert bad.status_code == 422 and "NPI" in bad.json()["errors"][0]
    rows = inquire(av, **body, providerNpi=claim.rendering_npi)["rows"]
    assert claim.id in {r["claimNumber"] for r in rows}
    assert all(av.state.dataset.claim(r["claimNumber"]).rendering_npi == claim.rendering_npi for r in rows)


def test_search_alerts(av):
    patient, _ = patient_with_claims(av, AV_PAYERS, 1)
    missing = inquire(av, payerId=patient.payer, memberId="ZZ0000000000", birthDate=patient.dob.isoformat())
    assert missing["alert"] == {"severity": "error", "text": "Subscriber and subscriber id not found"}
    empty = inquire(av, payerId=patient.payer, memberId=patient.member_id, birthDate=patient.dob.isoformat(),
                    fromDate="01/01/2020", toDate="01/31/2020")
    assert empty["alert"]["text"] == "The payer could not find any results" and empty["rows"] == []


def test_results_are_pending_until_the_delay_passes(av):
    assert av.control("POST", "behaviour", {"result_delay_ms": 10_000}).status_code == 200
    page = av.get("/static/web/post/cs/enhanced-claim-status-ui/")
    started = av.post("/static/web/post/cs/api/inquiries", json={"payerId": "AETNA", "claimNumber": "X"},
                      headers={"X-CSRF-Token": csrf_of(page.text)})
    assert av.get(f"/static/web/post/cs/api/inquiries/{started.json()['id']}").json() == {"status": "pending"}


def test_xhr_needs_csrf_and_reports_expiry_as_json(av):
    assert av.post("/static/web/post/cs/api/inquiries", json={"payerId": "AETNA"}).status_code == 403
    av.control("POST", "clock/advance", {"minutes": 20})
    expired = av.post("/static/web/post/cs/api/inquiries", json={"payerId": "AETNA"})
    assert expired.status_code == 401 and expired.json() == {"error": "expired"}


def test_detail_shows_status_and_line_codes_and_refuses_guessed_keys(av):
    claim = claims_of(av, "denied", AV_PAYERS)[0]
    outcome = av.state.dataset.outcomes[claim.id]
    key = open_claim(av, claim.id, claim.payer)
    page = av.get(f"/static/web/post/cs/enhanced-claim-status-ui/detail?key={key}").text
    assert f"{outcome.status_category} - Finalized/Denial" in page and 'id="lineLevelTable"' in page
    assert re.search(r"<td>CARC</td><td>(CO|OA)-\d+</td>", page)
    assert av.get("/static/web/post/cs/enhanced-claim-status-ui/detail?key=deadbeef").status_code == 404


def test_remit_must_be_authenticated_before_viewing(av):
    remit = next(r for r in av.state.dataset.remits if r.payer in AV_PAYERS and r.amount > 0)
    url = f"/static/web/post/rm/remitviewerui/remit?trace={remit.trace_number}"
    assert av.get(url).status_code == 403
    token = csrf_of(av.get("/static/web/post/rm/remitviewerui/").text)
    wrong = av.post("/static/web/post/rm/api/authenticate", json={"checkNumber": remit.trace_number, "amount": "1.00"},
                    headers={"X-CSRF-Token": token})
    assert wrong.status_code == 422
    right = av.post("/static/web/post/rm/api/authenticate",
                    json={"checkNumber": remit.trace_number, "amount": f"{remit.amount:,}"}, headers={"X-CSRF-Token": token})
    assert right.status_code == 200
    page = av.get(url)
    assert page.status_code == 200 and all(c.claim_id in page.text for c in remit.claims)
    empty = av.get("/static/web/post/rm/remitviewerui/?q=NOPE")
    assert "We did not find remittance data matching your search criteria" in empty.text


def test_served_835_and_277ca_validate_and_match_ground_truth(av):
    truth = {f["name"]: f for f in av.control("GET", "files").json()}
    listing = av.get("/static/web/post/files/?type=835").text
    name = re.search(r'download/([^"]+\.835)"', listing).group(1)
    download = av.get(f"/static/web/post/files/download/{name}")
    assert download.headers["content-disposition"] == f'attachment; filename="{name}"'
    assert hashlib.sha256(download.content).hexdigest() == truth[name]["sha256"]
    assert pyx12_errors(download.text) == []
    remit = next(r for r in av.state.dataset.remits if name.endswith(f"_{r.trace_number}.835"))
    assert [seg.split("*")[1] for seg in download.text.split("~\n") if seg.startswith("CLP*")] == \
        [c.claim_id for c in remit.claims]
    ack_page = av.get("/static/web/post/files/?type=277CA").text
    ack_name = re.search(r'download/([^"]+\.277)"', ack_page).group(1)
    ack = av.get(f"/static/web/post/files/download/{ack_name}")
    assert pyx12_errors(ack.text) == [] and "BHT*0085*08*" in ack.text


def dispute(pc: PortalClient, key: str, files, kind="reconsideration", reason="Claim denied incorrectly"):
    form = pc.get(f"/static/web/post/appeals/new?key={key}")
    return pc.post(f"/static/web/post/appeals/new?key={key}", files=files, data={
        "disputeType": kind, "reason": reason, "contactName": "Sandbox Biller", "comments": "see records",
        "__RequestVerificationToken": csrf_of(form.text)})


def test_dispute_limits_duplicates_and_ground_truth(av):
    claim = claims_of(av, "denied", AV_PAYERS, appealable=True)[0]
    key = open_claim(av, claim.id, claim.payer)
    too_many = dispute(av, key, [("attachments", (f"f{i}.pdf", PDF, "application/pdf")) for i in range(11)])
    assert too_many.status_code == 422 and "at most 10 files" in too_many.text
    tiny = dispute(av, key, [("attachments", ("small.pdf", b"%PDF-1.4", "application/pdf"))])
    assert "larger than 3 KB" in tiny.text
    exe = dispute(av, key, [("attachments", ("run.exe", PDF, "application/octet-stream"))])
    assert "not accepted" in exe.text
    sent = [("attachments", ("records.pdf", PDF, "application/pdf")), ("attachments", ("note.txt", b"n" * 4000, "text/plain"))]
    done = dispute(av, key, sent)
    request_id = re.search(r'id="requestId">(\w+)<', done.text).group(1)
    dup = dispute(av, key, sent)
    assert dup.status_code == 409 and "already been submitted" in dup.text
    truth = av.control("GET", "submissions").json()
    assert [s["id"] for s in truth] == [request_id]
    assert [a["sha256"] for a in truth[0]["attachments"]] == [hashlib.sha256(PDF).hexdigest(),
                                                              hashlib.sha256(b"n" * 4000).hexdigest()]
    assert truth[0]["fields"]["claim_number"] == claim.id
    assert request_id in av.get("/static/web/post/appeals/").text


def test_non_appealable_and_unopened_claims_cannot_be_disputed(av):
    claim = claims_of(av, "denied", AV_PAYERS, appealable=False)[0]
    key = open_claim(av, claim.id, claim.payer)
    assert "This is not an appealable denial" in av.get(f"/static/web/post/appeals/new?key={key}").text
    fresh = PortalClient("availity", state=av.state)
    fresh.control("POST", "hurdles", {"totp_replay_rejected": False, "single_session": False})
    fresh.login(index=1)
    assert fresh.get(f"/static/web/post/appeals/new?key={key}").status_code == 404


def test_payer_decides_after_simulated_days_with_letter_and_new_835(av):
    av.control("POST", "hurdles", {"idle_timeout_minutes": None})
    claims = claims_of(av, "denied", AV_PAYERS, appealable=True)[:8]
    for claim in claims:
        done = dispute(av, open_claim(av, claim.id, claim.payer), [("attachments", ("r.pdf", PDF, "application/pdf"))])
        assert done.status_code == 200
    assert av.control("POST", "clock/advance", {"days": 13}).json()["decided"] == []
    decided = av.control("POST", "clock/advance", {"days": 1, "minutes": 1}).json()["decided"]
    assert len(decided) == len(claims) and {d["decision"] for d in decided} <= {"overturned", "upheld", "more_info"}
    overturned = [d for d in decided if d["decision"] == "overturned" and d["remit_file"]]
    assert overturned, "seeded decisions include an overturn"
    letter = av.get(f"/static/web/post/appeals/letter/{decided[0]['id']}")
    assert letter.content.startswith(b"%PDF-1.4") and letter.content.rstrip().endswith(b"%%EOF")
    assert hashlib.sha256(letter.content).hexdigest() == decided[0]["letter_sha256"]
    paid = av.get(f"/static/web/post/files/download/{overturned[0]['remit_file']}")
    assert paid.status_code == 200 and pyx12_errors(paid.text) == []
    clps = [seg.split("*") for seg in paid.text.split("~\n") if seg.startswith("CLP*")]
    assert [(c[1], c[2]) for c in clps] == [(overturned[0]["claim_id"], "22"), (overturned[0]["claim_id"], "1")]
    rows = inquire(av, payerId=av.state.dataset.claim(overturned[0]["claim_id"]).payer,
                   claimNumber=overturned[0]["claim_id"])["rows"]
    assert rows[0]["status"] == "Paid"


# --- UHC -----------------------------------------------------------------------------------------

@pytest.fixture
def uhc() -> PortalClient:
    client = PortalClient("uhc")
    client.control("POST", "hurdles", {"idle_timeout_minutes": None})
    client.login()
    return client


def uhc_open(pc: PortalClient, claim_id: str) -> tuple[str, str]:
    found = pc.get("/portal/claims", params={"go": 1, "claimNumber": claim_id}).text
    key = re.search(r"detail\?key=(\w+)", found).group(1)
    return key, pc.get(f"/portal/claims/detail?key={key}").text


def live_actions(page: str) -> set[str]:
    section = page.split('aria-label="Act on a Claim"')[1]
    return set(re.findall(r'<a class="btn" role="button" href="[^"]+">([^<]+)</a>', section))


def reconsider(pc: PortalClient, key: str, kind: str = "reconsideration", files=None, **fields):
    form = pc.get(f"/portal/claims/{kind}?key={key}")
    data = {"reasonCategory": "Additional Information", "explanation": "records attached",
            "__RequestVerificationToken": csrf_of(form.text), **fields}
    return pc.post(f"/portal/claims/{kind}?key={key}", data=data,
                   files=files or [("attachments", ("chart.pdf", PDF, "application/pdf"))])


def test_act_on_a_claim_buttons_follow_claim_state(uhc):
    pending = next(c for c in claims_of(uhc, "pending", {"UHC"}) if uhc.state.dataset.outcomes[c.id].status_category != "P3")
    key, page = uhc_open(uhc, pending.id)
    status = re.search(r'id="claimStatus">([^<]+)<', page).group(1)
    assert status in ("Acknowledgement", "Pending") and live_actions(page) == set()
    assert page.count('disabled aria-disabled="true"') == 4
    denied = claims_of(uhc, "denied", {"UHC"}, appealable=True)[0]
    key, page = uhc_open(uhc, denied.id)
    assert live_actions(page) == {"Create Claim Reconsideration"}


def test_one_reconsideration_per_claim_with_tracking_number(uhc):
    denied = claims_of(uhc, "denied", {"UHC"}, appealable=True)[0]
    key, _ = uhc_open(uhc, denied.id)
    no_reason = reconsider(uhc, key, explanation="")
    assert no_reason.status_code == 422 and "denied as duplicates" in no_reason.text
    done = reconsider(uhc, key)
    tracking = re.search(r'id="trackingNumber">(\w+)<', done.text).group(1)
    assert tracking.startswith("R")
    second = reconsider(uhc, key)
    assert second.status_code == 409 and "already been filed" in second.text
    _, page = uhc_open(uhc, denied.id)
    assert live_actions(page) == {"View Claim Reconsideration"}
    assert tracking in uhc.get("/portal/reconsiderations").text
    truth = uhc.control("GET", "submissions?kind=uhc.reconsideration").json()
    assert truth[0]["id"] == tracking and truth[0]["attachments"][0]["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert truth[0]["fields"]["reason_category"] == "Additional Information"


def test_reconsideration_reasons_are_the_uhc1060b_list(uhc):
    denied = claims_of(uhc, "denied", {"UHC"}, appealable=True)[0]
    key, _ = uhc_open(uhc, denied.id)
    form = uhc.get(f"/portal/claims/reconsideration?key={key}").text
    assert re.findall(r"<option>([^<]+)</option>", form) == [
        "Exceeds Filing Time", "Additional Information", "Coordination of Benefits", "Corrected claim",
        "Rate applied incorrectly", "Prior Notification Information", "Bundled claim", "Other"]


def test_decision_letters_appear_in_document_library_after_the_decision(uhc):
    claims = claims_of(uhc, "denied", {"UHC"}, appealable=True)[:6]
    keys = {}
    for claim in claims:
        keys[claim.id], _ = uhc_open(uhc, claim.id)
        assert reconsider(uhc, keys[claim.id]).status_code == 200
    library = uhc.get("/portal/documents").text
    assert library.count("Acknowledgment") >= len(claims) and "Decision Letter" not in library
    decided = uhc.control("POST", "clock/advance", {"days": 15}).json()["decided"]
    library = uhc.get("/portal/documents").text
    assert "Decision Letter" in library or "Additional Info Needed" in library
    doc_id = re.search(r'/portal/documents/([\w-]+-DEC)"', library).group(1)
    letter = uhc.get(f"/portal/documents/{doc_id}")
    assert letter.content.startswith(b"%PDF")
    other = uhc.fork()
    uhc.control("POST", "hurdles", {"single_session": False, "totp_replay_rejected": False})
    other.login(index=1)
    assert other.get(f"/portal/documents/{doc_id}").status_code == 403  # claim not opened in that session
    upheld = [d for d in decided if d["decision"] in ("upheld", "more_info")]
    assert upheld, "seeded decisions include one that allows the second step"
    _, page = uhc_open(uhc, upheld[0]["claim_id"])
    assert "File Appeal/Dispute" in live_actions(page)
    appeal = reconsider(uhc, keys[upheld[0]["claim_id"]], kind="appeal")
    assert re.search(r'id="trackingNumber">A\w+<', appeal.text)


def test_uhc_payments_serve_valid_835s_and_eob_pdf(uhc):
    listing = uhc.get("/portal/payments").text
    name = re.search(r'download/([^"]+\.835)"', listing).group(1)
    assert name.startswith("ERA_UHC_")
    download = uhc.get(f"/portal/payments/download/{name}")
    assert pyx12_errors(download.text) == []
    paid = claims_of(uhc, "paid", {"UHC"})[0]
    key, _ = uhc_open(uhc, paid.id)
    eob = uhc.get(f"/portal/claims/eob?key={key}")
    assert eob.headers["content-type"] == "application/pdf" and "attachment" in eob.headers["content-disposition"]


# --- CAQH ----------------------------------------------------------------------------------------

@pytest.fixture
def caqh() -> PortalClient:
    client = PortalClient("caqh")
    client.control("POST", "hurdles", {"idle_timeout_minutes": None})
    client.login()
    return client


def roster_row(pc: PortalClient, caqh_id: str) -> str:
    page = pc.get("/PM/Roster.aspx").text
    return re.search(rf'<tr data-caqh-id="{caqh_id}">(.*?)</tr>', page, re.S).group(1)


def test_roster_shows_reminders_and_expiry_on_the_sandbox_clock(caqh):
    ds = caqh.state.dataset
    by_offset = {(p.due_on - ds.as_of).days: p for p in ds.caqh}
    assert "Re-attestation Due (5-day reminder sent)" in roster_row(caqh, by_offset[5].caqh_id)
    assert "Re-attestation Due (15-day reminder sent)" in roster_row(caqh, by_offset[15].caqh_id)
    assert "Expired" in roster_row(caqh, by_offset[-1].caqh_id)
    caqh.control("POST", "clock/advance", {"days": 6})
    assert "Expired" in roster_row(caqh, by_offset[5].caqh_id)
    expired_only = caqh.get("/PM/Roster.aspx", params={"status": "Expired"}).text
    assert by_offset[5].caqh_id in expired_only and by_offset[15].caqh_id not in expired_only


def test_attest_flow_ends_in_confirmation_and_resets_the_cycle(caqh):
    ds = caqh.state.dataset
    provider = next(p for p in ds.caqh if (p.due_on - ds.as_of).days == -1)
    assert "Re-Attest" in caqh.get(f"/PM/Provider.aspx?id={provider.caqh_id}").text
    review = caqh.get(f"/PM/Attest.aspx?id={provider.caqh_id}")
    assert "Data Summary" in review.text
    aar = caqh.get(f"/PM/Attest.aspx?id={provider.caqh_id}&step=aar")
    url = f"/PM/Attest.aspx?id={provider.caqh_id}&step=aar"
    refused = caqh.post(url, data={"__RequestVerificationToken": csrf_of(aar.text), "ctl00$phBody$txtSignature": "A B"})
    assert refused.status_code == 422
    done = caqh.post(url, data={"__RequestVerificationToken": csrf_of(aar.text), "ctl00$phBody$chkAgree": "on",
                                "ctl00$phBody$txtSignature": "Sandbox Practice Manager"})
    confirmation = re.search(r'id="confirmationNumber">(\w+)<', done.text).group(1)
    assert "03/16/2027" in done.text  # 2026-11-16 + 120 days
    row = roster_row(caqh, provider.caqh_id)
    assert "Attested" in row and "03/16/2027" in row
    truth = caqh.control("GET", "submissions").json()
    assert truth[0]["id"] == confirmation and truth[0]["fields"]["caqh_provider_id"] == provider.caqh_id


def test_profile_lists_expiring_documents(caqh):
    ds = caqh.state.dataset
    provider = next(p for p in ds.caqh if any(d.expires_on < ds.as_of for d in p.documents))
    page = caqh.get(f"/PM/Provider.aspx?id={provider.caqh_id}").text
    assert 'class="Expired">Expired' in page


def test_uhc_upload_documents_for_a_claim_pending_information(uhc):
    p3 = next(c for c in claims_of(uhc, "pending", {"UHC"}) if uhc.state.dataset.outcomes[c.id].status_category == "P3")
    assert p3.id in uhc.get("/portal/dashboard").text  # TrackIt lists it
    key, page = uhc_open(uhc, p3.id)
    assert live_actions(page) == {"Upload Documents"}
    form = uhc.get(f"/portal/claims/documents?key={key}")
    empty = uhc.post(f"/portal/claims/documents?key={key}", data={"__RequestVerificationToken": csrf_of(form.text)})
    assert empty.status_code == 422
    done = uhc.post(f"/portal/claims/documents?key={key}", data={"__RequestVerificationToken": csrf_of(form.text)},
                    files=[("attachments", ("chart.pdf", PDF, "application/pdf"))])
    reference = re.search(r'id="uploadReference">(\w+)<', done.text).group(1)
    assert uhc.control("GET", "submissions?kind=uhc.documents").json()[0]["id"] == reference
    _, page = uhc_open(uhc, p3.id)
    assert live_actions(page) == set() and p3.id not in uhc.get("/portal/dashboard").text


def test_requests_after_the_appeal_window_are_upheld(av):
    av.control("POST", "hurdles", {"idle_timeout_minutes": None})
    ds = av.state.dataset
    late = next(c for c in claims_of(av, "denied", {"MEDICARE"}, appealable=True)
                if (ds.as_of - ds.outcomes[c.id].finalized_on).days > 120)
    done = dispute(av, open_claim(av, late.id, late.payer), [("attachments", ("r.pdf", PDF, "application/pdf"))])
    assert done.status_code == 200
    decided = av.control("POST", "clock/advance", {"days": 15}).json()["decided"]
    assert [(d["claim_id"], d["decision"]) for d in decided] == [(late.id, "upheld")]
    letter = av.get(f"/static/web/post/appeals/letter/{decided[0]['id']}").content
    assert b"120-day appeal filing limit" in letter


def test_caqh_document_upload_replaces_an_expired_document(caqh):
    ds = caqh.state.dataset
    provider = next(p for p in ds.caqh if any(d.expires_on < ds.as_of for d in p.documents))
    expired = next(d for d in provider.documents if d.expires_on < ds.as_of)
    assert expired.kind in roster_row(caqh, provider.caqh_id)
    url = f"/PM/UploadDocument.aspx?id={provider.caqh_id}"
    token = csrf_of(caqh.get(f"/PM/Provider.aspx?id={provider.caqh_id}").text)
    fields = {"__RequestVerificationToken": token, "ctl00$phBody$ddlDocumentType": expired.kind,
              "ctl00$phBody$txtExpiration": "06/30/2028"}
    word = caqh.post(url, data=fields, files=[("ctl00$phBody$fileUpload", ("licence.docx", PDF, "application/msword"))])
    assert word.status_code == 422 and "not accepted" in word.text
    past = caqh.post(url, data={**fields, "ctl00$phBody$txtExpiration": "01/01/2020"},
                     files=[("ctl00$phBody$fileUpload", ("licence.pdf", PDF, "application/pdf"))])
    assert past.status_code == 422
    done = caqh.post(url, data=fields, files=[("ctl00$phBody$fileUpload", ("licence.pdf", PDF, "application/pdf"))])
    assert done.status_code == 200 and "06/30/2028" in done.text
    assert expired.kind not in roster_row(caqh, provider.caqh_id)
    truth = caqh.control("GET", "submissions?kind=caqh.document").json()
    assert truth[0]["attachments"][0]["sha256"] == hashlib.sha256(PDF).hexdigest()


def test_caqh_v2_roster_is_restructured(caqh):
    ds = caqh.state.dataset
    provider = next(p for p in ds.caqh if (p.due_on - ds.as_of).days == 10)
    caqh.control("POST", "variant", {"variant": "v2"})
    page = caqh.get("/PM/Roster.aspx").text
    assert "ctl00_phBody_gvRoster" not in page and 'id="providerCards"' in page
    card = re.search(rf'<li class="card" data-caqh-id="{provider.caqh_id}">(.*?)</li>', page, re.S).group(1)
    assert "<strong>Re-attestation Due</strong> (10-day reminder sent)" in card and "Re-Attestation Deadline" in card


def test_a_lost_response_leaves_the_submission_recorded_but_unconfirmed(av):
    claim = claims_of(av, "denied", AV_PAYERS, appealable=True)[0]
    key = open_claim(av, claim.id, claim.payer)
    token = csrf_of(av.get(f"/static/web/post/appeals/new?key={key}").text)
    av.control("POST", "faults", {"lost_response_rate": 1.0, "timeout_seconds": 0,
                                  "path_prefix": "/static/web/post/appeals/new"})
    assert av.get("/static/web/post/appeals/").status_code == 200  # outside the prefix: unaffected
    lost = av.post(f"/static/web/post/appeals/new?key={key}", data={
        "disputeType": "appeal", "reason": "Other", "contactName": "Sandbox Biller", "__RequestVerificationToken": token},
        files=[("attachments", ("r.pdf", PDF, "application/pdf"))])
    assert lost.status_code == 504 and "requestId" not in lost.text
    truth = av.control("GET", "submissions").json()
    assert [s["claim_id"] for s in truth] == [claim.id]  # the payer has it; the client never saw the id
    av.control("POST", "faults", {})
    assert truth[0]["id"] in av.get("/static/web/post/appeals/").text


def test_fresh_sandbox_restores_the_original_data_after_a_reseed(sandbox):
    original = sandbox.availity.state.dataset
    sandbox.availity.reset(seed=99, claims=40)
    assert sandbox.availity.state.dataset.seed == 99
    sandbox.reset_all()
    assert sandbox.availity.state.dataset is original
    assert sandbox.availity.control("GET", "state")["claims"] == sandbox.claims


def test_pending_claims_are_adjudicated_when_the_clock_reaches_their_day(av):
    av.control("POST", "hurdles", {"idle_timeout_minutes": None})
    ds = av.state.dataset
    claim = min((c for c in claims_of(av, "pending", AV_PAYERS)), key=lambda c: ds.outcomes[c.id].scheduled.finalized_on)
    scheduled = ds.outcomes[claim.id].scheduled
    before = inquire(av, payerId=claim.payer, claimNumber=claim.id)["rows"][0]
    assert before["status"] in ("Received", "In Process", "Pending Additional Info") and before["finalizedDate"] == ""
    remit = ds.remit(scheduled.remit_id)
    listing = {f["name"] for f in av.control("GET", "files").json()}
    assert not any(remit.trace_number in name for name in listing)
    av.control("POST", "clock/advance", {"days": (remit.paid_on - ds.as_of).days})
    after = inquire(av, payerId=claim.payer, claimNumber=claim.id)["rows"][0]
    assert after["status"] == {"F1": "Paid", "F2": "Denied"}[scheduled.status_category]
    assert after["finalizedDate"] == scheduled.finalized_on.strftime("%m/%d/%Y")
    name = next(f["name"] for f in av.control("GET", "files").json() if remit.trace_number in f["name"])
    era = av.get(f"/static/web/post/files/download/{name}").text
    assert f"CLP*{claim.id}*" in era and pyx12_errors(era) == []
