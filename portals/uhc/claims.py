"""UHC Claims & Payments: claim search and detail, Act on a Claim, reconsiderations and their list."""
from __future__ import annotations

import re
from datetime import date
from urllib.parse import urlencode

from portals.attachments import AttachmentRules
from portals.capabilities import (
    AppealRequest,
    ClaimQuery,
    ClaimStatusRow,
    Download,
    PageHook,
    SubmissionConfirmation,
    SubmittedAppealRow,
)
from portals.errors import (
    ActionNotAllowed,
    AlreadySubmitted,
    CapabilityNotSupported,
    ClaimNotFound,
    InvalidRequest,
    LayoutChanged,
    SubmitOutcomeUnknown,
)
from portals.parsing import money, us_date
from portals.uhc import selectors as sel

# UHC shows words, not X12 categories; this is the mapping the 277 category codes imply.
CATEGORY = {"Paid": "F1", "Partially Paid": "F1", "Denied": "F2", "Adjusted": "F3", "Pending": "P1",
            "Acknowledgement": "A2"}
PAGE_INFO = re.compile(r"Page (\d+) of (\d+)")
# Alerts that mean "nothing to list" rather than a refused search.
NO_CLAIMS = re.compile(r"No claims match|not found", re.I)
# [THIN] UHC's upload limits are not public; the sandbox's plausible limits.
RULES = AttachmentRules(max_files=10, min_bytes=1, max_bytes=25 * 1024 * 1024, max_total_bytes=100 * 1024 * 1024,
                        extensions=frozenset("pdf jpg jpeg png tif tiff doc docx txt".split()))


async def open_claim(session, number: str) -> None:
    """Search by claim number and open the claim's detail (documents need the claim opened first)."""
    if not number:
        raise ClaimNotFound("UHC lookups need a claim number")
    await session.goto(sel.CLAIMS + "?" + urlencode({"go": "1", "claimNumber": number}))
    page = session.page
    found = await session.which({"row": sel.result_link(page, number), "alert": sel.alert(page)}, "claim search results")
    if found == "alert":
        raise ClaimNotFound()
    await sel.result_link(page, number).first.click()
    await session.expect(sel.detail_heading(page, number), "claim detail")


class Claims:
    """ClaimStatusLookup and AppealSubmission for UHC."""

    def __init__(self, session):
        self.session = session

    async def lookup(self, query: ClaimQuery) -> ClaimStatusRow:
        number = query.claim_number or query.patient_control_number
        await open_claim(self.session, number)
        page = self.session.page

        async def value(term: str) -> str:
            return (await sel.summary_value(page, term).inner_text()).strip()

        status = await value("Claim status")
        category = CATEGORY.get(status, "")
        if status == "Rejected":
            category = (await value("Rejection")).split(":")[0].strip()
        codes: list[str] = []
        for row in await sel.codes_table(page).get_by_role("row").filter(has=page.get_by_role("cell")).all():
            cells = await row.get_by_role("cell").all_inner_texts()
            if len(cells) >= 6:
                for code in [c.strip() for part in cells[4:6] for c in part.split(",")]:
                    if code and code not in codes:
                        codes.append(code)
        return ClaimStatusRow(
            claim_number=number, patient_control_number=number, category=category, status_text=status,
            billed=money(await value("Billed"), landmark="billed"), paid=money(await value("Paid"), landmark="paid"),
            service_from=us_date(await value("Date of service"), landmark="date of service"),
            codes=tuple(codes))

    async def search(self, service_from: date, service_to: date) -> list[ClaimStatusRow]:
        raise CapabilityNotSupported("UHC claim search needs a claim number or a member with date of birth")

    async def search_member(self, member_id: str, date_of_birth: date, service_from: date | None = None,
                            service_to: date | None = None, *, payer: str = "",
                            on_page: PageHook | None = None) -> list[ClaimStatusRow]:
        """The member search (one payer: `payer` is ignored), every results page read."""
        if not member_id.strip() or date_of_birth is None:
            raise InvalidRequest("a UHC member search needs a member id and a date of birth")
        query = {"go": "1", "memberId": member_id.strip(), "dateOfBirth": date_of_birth.strftime("%m/%d/%Y"),
                 "dosFrom": service_from.strftime("%m/%d/%Y") if service_from else "",
                 "dosTo": service_to.strftime("%m/%d/%Y") if service_to else ""}
        await self.session.goto(sel.CLAIMS + "?" + urlencode(query))
        page = self.session.page
        found = await self.session.which({"rows": sel.results_table(page), "alert": sel.alert(page)},
                                         "member search results")
        if found == "alert":
            if NO_CLAIMS.search((await sel.alert(page).first.inner_text()).strip()):
                return []
            raise InvalidRequest("UHC refused the member search")
        rows: list[ClaimStatusRow] = []
        while True:
            info = PAGE_INFO.search(await (await self.session.expect(sel.page_info(page), "results page")).inner_text())
            if info is None:
                raise LayoutChanged("UHC results show no page number", landmark="results page")
            number, pages = int(info.group(1)), int(info.group(2))
            for row in await sel.table_rows(sel.results_table(page)).all():
                rows.append(_list_row([c.strip() for c in await row.get_by_role("cell").all_inner_texts()]))
            if on_page is not None:
                await on_page()
            if number >= pages:
                return rows
            await sel.next_page(page).click()
            await self.session.expect(sel.page_info(page, number + 1), "next results page")

    async def download_eob(self, number: str) -> Download:
        """The claim's EOB PDF: it opens in a new tab as an attachment."""
        await open_claim(self.session, number)
        file = await self.session.download(sel.eob_link(self.session.page).click)
        return Download(file.filename, file.data, "application/pdf")

    # -- reconsideration ---------------------------------------------------------------
    async def prepare(self, request: AppealRequest) -> "PreparedRequest":
        RULES.check(request.attachments)
        if request.kind != "reconsideration":
            raise InvalidRequest("only first-level reconsiderations are automated on UHC")
        if not request.note.strip():
            raise InvalidRequest("UHC denies requests without an explanation as duplicates")
        await open_claim(self.session, request.claim_number)
        page = self.session.page
        await self.session.expect(sel.act_on_claim(page), "Act on a Claim")
        live = sel.act_on_claim(page).get_by_role("button", name="Create Claim Reconsideration")
        if not await live.is_enabled():
            raise ActionNotAllowed("Create Claim Reconsideration is greyed out for this claim")
        await live.click()
        found = await self.session.which({"form": sel.request_reason(page), "alert": sel.alert(page)},
                                         "reconsideration form")
        if found == "alert":
            text = (await sel.alert(page).first.inner_text()).strip()
            if "already been filed" in text:
                raise AlreadySubmitted()
            raise ActionNotAllowed("UHC does not allow a reconsideration for this claim now")
        options = [o.strip() for o in await sel.request_reason(page).locator("option").all_inner_texts()]
        if request.reason not in options:
            raise InvalidRequest("the reason is not one of UHC's reconsideration reasons (form UHC1060b)")
        await sel.request_reason(page).select_option(label=request.reason)
        await sel.request_explanation(page).fill(request.note)
        if request.attachments:
            await self.session.upload(sel.request_files(page), request.attachments)
        return PreparedRequest(self.session, request)

    async def list_submitted(self, since: date | None = None) -> list[SubmittedAppealRow]:
        await self.session.goto(sel.REQUESTS)
        page = self.session.page
        table = await self.session.expect(sel.requests_table(page), "submitted requests")
        rows = []
        for row in await sel.table_rows(table).all():
            cells = [c.strip() for c in await row.get_by_role("cell").all_inner_texts()]
            if len(cells) < 6:
                continue  # "No requests submitted."
            submitted = us_date(cells[4], landmark="request submitted date")
            if since is None or submitted is None or submitted >= since:
                rows.append(SubmittedAppealRow(cells[0], cells[1], cells[3], submitted, cells[5], cells[2].lower()))
        return rows


def _list_row(cells: list[str]) -> ClaimStatusRow:
    """A results row: claim number, patient, date of service, billed, paid, claim status."""
    if len(cells) < 6:
        raise LayoutChanged("UHC claim results row has fewer columns than expected", landmark="claim results")
    number, status = cells[0], cells[5]
    # "Rejected" has no category here: the list does not show the rejection's 277 category.
    return ClaimStatusRow(
        claim_number=number, patient_control_number=number, category=CATEGORY.get(status, ""), status_text=status,
        billed=money(cells[3], landmark="billed"), paid=money(cells[4], landmark="paid"),
        service_from=us_date(cells[2], landmark="date of service"))


class PreparedRequest:
    def __init__(self, session, request: AppealRequest):
        self.session, self.request = session, request

    async def submit(self) -> SubmissionConfirmation:
        page = self.session.page
        await sel.request_submit(page).click()
        found = await self.session.which({"done": sel.request_done(page), "alert": sel.alert(page)}, "request confirmation")
        if found == "alert":
            text = (await sel.alert(page).first.inner_text()).strip()
            if "already been filed" in text:
                raise AlreadySubmitted()
            raise SubmitOutcomeUnknown("UHC answered the reconsideration with an error")
        number = (await sel.tracking_number(page).inner_text()).strip()
        if not number:
            raise SubmitOutcomeUnknown("UHC showed no tracking number")
        return SubmissionConfirmation(number, self.request.claim_number, self.request.reason)
