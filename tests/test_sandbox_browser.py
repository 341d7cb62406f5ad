"""A person's path through every portal flow in real Chromium against the running sandbox."""
from __future__ import annotations

import hashlib
import re

import pytest
from playwright.async_api import Page, expect

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n" + b"1" * 6000


async def availity_login(page: Page, handle, index: int = 0) -> None:
    account = handle.accounts[index]
    await page.goto(handle.login_url)
    await page.get_by_label("User ID").fill(account.username)
    await page.get_by_label("Password").fill(account.password)
    await page.get_by_role("button", name="Log in").click()
    await page.get_by_label("Authentication code").fill(account.totp())
    await page.get_by_role("button", name="Continue").click()
    await page.get_by_label("I have read and accept the terms of use").check()
    await page.get_by_role("button", name="Accept and continue").click()
    await expect(page).to_have_url(re.compile(r"/web/navigation/"))


def claim_where(state, payers, kind, appealable=None):
    ds = state.dataset
    return next(c for c in ds.claims if c.payer in payers and ds.outcomes[c.id].kind == kind
                and (appealable is None or ds.outcomes[c.id].appealable == appealable))


async def test_availity_claim_status_with_typed_dates_paging_and_detail(page: Page, fresh_sandbox):
    av = fresh_sandbox.availity
    av.set_behaviour(page_size=2)
    ds = av.state.dataset
    counts: dict[str, int] = {}
    for c in ds.claims:
        if c.payer != "UHC":
            counts[c.patient_id] = counts.get(c.patient_id, 0) + 1
    patient = ds.patient(next(p for p, n in sorted(counts.items()) if n >= 3))
    await availity_login(page, av)
    await page.get_by_role("button", name="Claim Status").click()
    app = page.frame_locator("#newBodyFrame")
    await expect(app.get_by_role("tab", name="HIPAA Standard")).to_have_attribute("aria-selected", "true")
    await app.get_by_label("Payer", exact=True).select_option(patient.payer)
    await app.get_by_label("Member ID").fill(patient.member_id)
    birth = app.get_by_label("Date of Birth")
    await birth.fill(patient.dob.strftime("%m/%d/%Y"))
    await expect(birth).to_have_value("")  # the masked picker ignores programmatic fill
    await birth.press_sequentially(patient.dob.strftime("%m%d%Y"))
    await expect(birth).to_have_value(patient.dob.strftime("%m/%d/%Y"))
    await app.locator("#submit-by276").click()
    rows = app.locator("#claimsTable tbody tr")
    await expect(rows).to_have_count(2)  # arrives after the XHR delay; auto-waited
    await expect(app.locator("#pageInfo")).to_have_text(re.compile(r"Page 1 of \d+"))
    first_page = await rows.first.locator("td").first.inner_text()
    await app.get_by_role("button", name="Next").click()
    await expect(app.locator("#pageInfo")).to_have_text(re.compile(r"Page 2 of \d+"))
    await expect(rows.first.locator("td").first).not_to_have_text(first_page)
    await rows.first.locator("a").click()
    await expect(app.get_by_role("heading", name="Claim Detail")).to_be_visible()
    await expect(app.locator("#lineLevelTable")).to_be_visible()
    expand = app.get_by_role("button", name="Expand line 1")
    await expand.click()
    await expect(expand).to_have_attribute("aria-expanded", "true")


async def test_availity_dispute_with_attachments_reaches_the_payer(page: Page, fresh_sandbox):
    av = fresh_sandbox.availity
    claim = claim_where(av.state, {"AETNA", "CIGNA", "ANTHEM", "MEDICARE"}, "denied", appealable=True)
    await availity_login(page, av)
    await page.get_by_role("button", name="Claim Status").click()
    app = page.frame_locator("#newBodyFrame")
    await app.get_by_label("Payer", exact=True).select_option(claim.payer)
    await app.get_by_label("Claim Number").fill(claim.id)
    await app.locator("#submit-by276").click()
    await app.get_by_role("link", name=claim.id).click()
    await expect(app.locator("#claimStatus")).to_have_text("Denied")
    await app.get_by_role("button", name="Dispute Claim").click()
    await app.get_by_label("Reconsideration").check()
    await app.get_by_label("Reason for dispute").select_option("Claim denied incorrectly")
    await app.get_by_label("Contact name").fill("Sandbox Biller")
    await app.locator("#attachments").set_input_files([
        {"name": "records.pdf", "mimeType": "application/pdf", "buffer": PDF},
        {"name": "letter.txt", "mimeType": "text/plain", "buffer": b"x" * 5000},
    ])
    await app.get_by_role("button", name="Submit Dispute").click()
    request_id = await app.locator("#requestId").inner_text()
    truth = av.submissions()
    assert [s["id"] for s in truth] == [request_id]
    assert [a["sha256"] for a in truth[0]["attachments"]] == [hashlib.sha256(PDF).hexdigest(),
                                                              hashlib.sha256(b"x" * 5000).hexdigest()]
    await app.get_by_role("link", name="Go to Appeals dashboard").click()
    await expect(app.locator(f'#disputesTable tr[data-request-id="{request_id}"]')).to_contain_text("In Review")


async def test_availity_remit_authentication_and_835_download(page: Page, fresh_sandbox, tmp_path):
    av = fresh_sandbox.availity
    await availity_login(page, av)
    await page.get_by_role("button", name="Remittance Viewer").click()
    app = page.frame_locator("#newBodyFrame")
    row = app.locator('div[role=table][aria-label=Remits] div[role=row][data-trace]').first
    trace = await row.get_attribute("data-trace")
    remit = next(r for r in av.state.dataset.remits if r.trace_number == trace)
    await row.get_by_role("button", name="Authenticate").click()
    await app.get_by_label("Check/EFT Number", exact=True).fill(trace)
    await app.get_by_label("Payment Amount").fill(str(remit.amount))
    await app.get_by_role("button", name="Authenticate Check").click()
    await app.locator(f'div[role=row][data-trace="{trace}"]').get_by_role("link", name="View").click()
    await expect(app.locator("table[aria-label^=Adjustments]").first).to_be_visible()
    more = app.get_by_role("button", name="View More").first
    await expect(app.get_by_text("Payer claim number").first).to_be_hidden()
    await more.click()
    await expect(app.get_by_text("Payer claim number").first).to_be_visible()
    await page.get_by_role("button", name="EDI Files").click()
    async with page.expect_download() as info:
        await app.get_by_role("link", name="Download").first.click()
    download = await info.value
    target = tmp_path / download.suggested_filename
    await download.save_as(target)
    truth = {f["name"]: f["sha256"] for f in av.files()}
    assert hashlib.sha256(target.read_bytes()).hexdigest() == truth[download.suggested_filename]


async def test_availity_expired_session_sends_the_app_back_to_login(page: Page, fresh_sandbox):
    av = fresh_sandbox.availity
    await availity_login(page, av)
    await page.get_by_role("button", name="Claim Status").click()
    app = page.frame_locator("#newBodyFrame")
    await expect(app.locator("#submit-by276")).to_be_visible()
    av.advance(minutes=20)
    await app.get_by_label("Payer", exact=True).select_option("AETNA")
    await app.get_by_label("Claim Number").fill("SBX0070000001")
    await app.locator("#submit-by276").click()
    await expect(page).to_have_url(re.compile(r"reason=expired"))
    await expect(page.get_by_role("status")).to_contain_text("expired due to inactivity")


async def test_availity_v2_markup_uses_mui_labels(page: Page, fresh_sandbox):
    av = fresh_sandbox.availity
    av.set_variant("v2")
    patient = av.state.dataset.patient(claim_where(av.state, {"CIGNA"}, "paid").patient_id)
    account = av.accounts[0]
    await page.goto(av.login_url)
    await page.get_by_label("Username or email").fill(account.username)
    await page.get_by_label("Password").fill(account.password)
    await page.get_by_role("button", name="Continue").click()
    await page.get_by_label("Verification code").fill(account.totp())
    await page.get_by_role("button", name="Verify").click()
    await page.get_by_label("I have read and accept the terms of use").check()
    await page.get_by_role("button", name="Accept and continue").click()
    await page.get_by_role("button", name="Claim Status & Inquiry").click()
    app = page.frame_locator("#newBodyFrame")
    await app.get_by_label("Payer Name").select_option("CIGNA")
    await app.get_by_label("Subscriber ID").fill(patient.member_id)
    await app.get_by_label("Patient Date of Birth").press_sequentially(patient.dob.strftime("%m%d%Y"))
    await app.get_by_role("button", name="Search").click()
    await expect(app.get_by_role("grid", name="Claims").get_by_role("row").nth(1)).to_be_visible()
    await expect(app.locator("#claimsTable")).to_have_count(0)


async def uhc_login(page: Page, uhc) -> None:
    account = uhc.accounts[0]
    await page.goto(uhc.login_url)
    await page.get_by_label("One Healthcare ID or email").fill(account.username)
    await page.get_by_label("Password").fill(account.password)
    await page.get_by_role("button", name="Sign In").click()
    await page.get_by_label("Verification code").fill(account.totp())
    await page.get_by_role("button", name="Continue").click()
    await page.get_by_label("I agree to the Terms of Use").check()
    await page.get_by_role("button", name="I Agree").click()
    await expect(page.get_by_role("region", name="TrackIt")).to_be_visible()


async def uhc_open_claim(page: Page, claim_id: str) -> None:
    await page.get_by_role("link", name="Claims & Payments").click()
    await page.get_by_label("Claim number").fill(claim_id)
    await page.get_by_role("button", name="Search").click()
    await page.get_by_role("link", name=claim_id).click()


async def test_uhc_reconsideration_with_tracking_number(page: Page, fresh_sandbox):
    uhc = fresh_sandbox.uhc
    claim = claim_where(uhc.state, {"UHC"}, "denied", appealable=True)
    await uhc_login(page, uhc)
    await uhc_open_claim(page, claim.id)
    actions = page.get_by_role("region", name="Act on a Claim")
    await expect(actions.get_by_role("button", name="File Appeal/Dispute")).to_be_disabled()
    await actions.get_by_role("button", name="Create Claim Reconsideration").click()
    await page.get_by_label("Reason for request").select_option("Additional Information")
    await page.get_by_label("Explanation").fill("Medical records attached.")
    await page.get_by_label("Supporting documents").set_input_files(
        [{"name": "chart.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    await page.get_by_role("button", name="Submit").click()
    tracking = await page.locator("#trackingNumber").inner_text()
    assert uhc.submissions()[0]["id"] == tracking
    await page.get_by_role("link", name="View submitted requests").click()
    await expect(page.locator(f'tr[data-tracking="{tracking}"]')).to_contain_text("In Review")


async def test_caqh_roster_and_attestation(page: Page, fresh_sandbox):
    caqh = fresh_sandbox.caqh
    ds = caqh.state.dataset
    provider = next(p for p in ds.caqh if (p.due_on - ds.as_of).days == 5)
    account = caqh.accounts[0]
    await page.goto(caqh.login_url)
    await page.get_by_label("User Name").fill(account.username)
    await page.get_by_label("Password").fill(account.password)
    await page.get_by_role("button", name="Log In").click()
    await page.get_by_label("Security Code").fill(account.totp())
    await page.get_by_role("button", name="Verify").click()
    await page.get_by_label("I accept the Terms of Use").check()
    await page.get_by_role("button", name="Accept").click()
    row = page.locator(f'#ctl00_phBody_gvRoster tr[data-caqh-id="{provider.caqh_id}"]')
    await expect(row).to_contain_text("Re-attestation Due (5-day reminder sent)")
    await row.get_by_role("link").click()
    await page.get_by_role("link", name="Re-Attest").click()
    await page.get_by_role("link", name="Continue").click()
    await page.get_by_label("I have read and agree to the Authorization, Attestation and Release").check()
    await page.get_by_label("Type your full name as signature").fill("Sandbox Practice Manager")
    await page.get_by_role("button", name="Attest").click()
    confirmation = await page.locator("#confirmationNumber").inner_text()
    assert caqh.submissions()[0]["id"] == confirmation
    await page.get_by_role("link", name="Return to roster").click()
    await expect(row).to_contain_text("Attested")


async def test_uhc_member_search_paging_835_download_and_decision_letter(page: Page, fresh_sandbox, tmp_path):
    uhc = fresh_sandbox.uhc
    uhc.set_hurdles(idle_timeout_minutes=None)
    uhc.set_behaviour(page_size=1)
    ds = uhc.state.dataset
    counts: dict[str, int] = {}
    for c in ds.claims:
        if c.payer == "UHC":
            counts[c.patient_id] = counts.get(c.patient_id, 0) + 1
    patient = ds.patient(next(p for p, n in sorted(counts.items()) if n >= 2))
    await uhc_login(page, uhc)
    await page.get_by_role("link", name="Claims & Payments").click()
    await page.get_by_label("Member ID").fill(patient.member_id)
    await page.get_by_label("Date of birth (MM/DD/YYYY)").fill(patient.dob.strftime("%m/%d/%Y"))
    await page.get_by_role("button", name="Search").click()
    await expect(page.get_by_text(re.compile(r"^Page 1 of \d+$"))).to_be_visible()
    await page.get_by_role("link", name="Next").click()
    await expect(page.get_by_text(re.compile(r"^Page 2 of \d+$"))).to_be_visible()
    await page.get_by_role("link", name="Payments", exact=True).click()
    async with page.expect_download() as info:
        await page.get_by_role("link", name="Download 835").first.click()
    download = await info.value
    await download.save_as(tmp_path / "era.835")
    truth = {f["name"]: f["sha256"] for f in uhc.files()}
    assert hashlib.sha256((tmp_path / "era.835").read_bytes()).hexdigest() == truth[download.suggested_filename]
    claim = claim_where(uhc.state, {"UHC"}, "denied", appealable=True)
    await uhc_open_claim(page, claim.id)
    await page.get_by_role("button", name="Create Claim Reconsideration").click()
    await page.get_by_label("Reason for request").select_option("Corrected claim")
    await page.get_by_label("Explanation").fill("Corrected modifier.")
    await page.get_by_role("button", name="Submit").click()
    tracking = await page.locator("#trackingNumber").inner_text()
    decided = uhc.advance(days=15)["decided"]
    assert [d["id"] for d in decided] == [tracking]
    await page.get_by_role("link", name="Document Library").click()
    letter_row = page.locator("#documentsTable tr").filter(has_text=f"Decision_{tracking}.pdf")
    async with page.expect_download() as info:
        await letter_row.get_by_role("link", name="Download").click()
    letter = await info.value
    await letter.save_as(tmp_path / "letter.pdf")
    assert hashlib.sha256((tmp_path / "letter.pdf").read_bytes()).hexdigest() == decided[0]["letter_sha256"]


async def test_a_second_browser_login_kicks_the_first(browser, fresh_sandbox):
    caqh = fresh_sandbox.caqh
    caqh.set_hurdles(totp_replay_rejected=False, terms_interstitial=False)
    pages = []
    for _ in range(2):
        context = await browser.new_context()
        page = await context.new_page()
        account = caqh.accounts[0]
        await page.goto(caqh.login_url)
        await page.get_by_label("User Name").fill(account.username)
        await page.get_by_label("Password").fill(account.password)
        await page.get_by_role("button", name="Log In").click()
        await page.get_by_label("Security Code").fill(account.totp())
        await page.get_by_role("button", name="Verify").click()
        await expect(page.locator("#ctl00_phBody_gvRoster")).to_be_visible()
        pages.append(page)
    await pages[0].reload()
    await expect(pages[0].get_by_role("status")).to_contain_text("signed in from another location")
    await pages[1].reload()
    await expect(pages[1].locator("#ctl00_phBody_gvRoster")).to_be_visible()
    for page in pages:
        await page.context.close()
