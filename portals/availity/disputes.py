"""Availity Appeals: Dispute Claim from the claim's detail page, the dashboard, decision letters."""
from __future__ import annotations

from datetime import date

from portals.attachments import AttachmentRules
from portals.availity import selectors as sel
from portals.availity.claim_status import ClaimStatus, open_app
from portals.capabilities import (
    AppealRequest,
    Download,
    LetterRow,
    SubmissionConfirmation,
    SubmittedAppealRow,
)
from portals.errors import (
    ActionNotAllowed,
    AlreadySubmitted,
    InvalidRequest,
    LayoutChanged,
    SubmitOutcomeUnknown,
)
from portals.parsing import us_date

# Availity Appeals limits (PORTALS.md: bridgespanhealth.com / asuris.com appeals-tool pages).
RULES = AttachmentRules(
    max_files=10, min_bytes=3 * 1024 + 1, max_bytes=60 * 1024 * 1024, max_total_bytes=150 * 1024 * 1024,
    extensions=frozenset("csv doc docx gif html jpg jpeg msg pdf png ppt pptx rtf tif tiff txt xls xlsx".split()),
)


class PreparedDispute:
    def __init__(self, session, f, request: AppealRequest):
        self.session, self.f, self.request = session, f, request

    async def submit(self) -> SubmissionConfirmation:
        f = self.f
        await sel.dispute_submit(f).click()
        found = await self.session.which({"done": sel.dispute_done(f), "error": sel.alert(f)}, "dispute confirmation")
        if found == "error":
            text = (await sel.alert(f).first.inner_text()).strip()
            if "already been submitted" in text:
                raise AlreadySubmitted()
            raise SubmitOutcomeUnknown("Availity answered the dispute with an error")
        number = (await sel.dispute_request_id(f).inner_text()).strip()
        if not number:
            raise SubmitOutcomeUnknown("Availity showed no request id")
        return SubmissionConfirmation(number, self.request.claim_number, self.request.reason)


class Disputes:
    """AppealSubmission and DecisionLetters for Availity."""

    def __init__(self, session):
        self.session = session

    async def prepare(self, request: AppealRequest) -> PreparedDispute:
        RULES.check(request.attachments)
        if not request.contact_name:
            raise InvalidRequest("Availity disputes need a contact name")
        lookup = ClaimStatus(self.session)
        await lookup.lookup_to_detail(request.claim_number, request.payer)
        f = self.session.page.frame_locator(sel.APP_FRAME)
        if not await sel.cd_dispute(f).count():
            raise ActionNotAllowed("the claim is not finalized; Availity offers no Dispute Claim yet")
        await sel.cd_dispute(f).click()
        found = await self.session.which({"form": sel.dispute_reason(f), "refused": f.get_by_text(
            "This is not an appealable denial")}, "dispute form")
        if found == "refused":
            raise ActionNotAllowed("This is not an appealable denial")
        options = [o.strip() for o in await sel.dispute_reason(f).locator("option").all_inner_texts()]
        if request.reason not in options:
            raise InvalidRequest("the reason is not one of Availity's dispute reasons")
        await sel.dispute_type(f, request.kind.title()).check()
        await sel.dispute_reason(f).select_option(label=request.reason)
        await sel.dispute_comments(f).fill(request.note)
        await sel.dispute_contact(f).fill(request.contact_name)
        if request.attachments:
            await self.session.upload(sel.dispute_files(f), request.attachments)
        return PreparedDispute(self.session, f, request)

    async def _dashboard(self):
        f = await open_app(self.session, sel.APPEALS_APP)
        await self.session.expect(sel.appeals_table(f), "appeals dashboard")
        return f

    async def _rows(self) -> list[tuple[list[str], object]]:
        f = await self._dashboard()
        out = []
        for row in await sel.appeals_rows(f).all():
            cells = [c.strip() for c in await row.get_by_role("cell").all_inner_texts()]
            if len(cells) >= 6:
                out.append((cells, row))
        return out

    async def list_submitted(self, since: date | None = None) -> list[SubmittedAppealRow]:
        rows = []
        for cells, _ in await self._rows():
            submitted = us_date(cells[4], landmark="dispute submitted date")
            if since is None or submitted is None or submitted >= since:
                rows.append(SubmittedAppealRow(cells[0], cells[1], cells[3], submitted, cells[5], cells[2].lower()))
        return rows

    async def list_letters(self, since: date | None = None) -> list[LetterRow]:
        letters = []
        for cells, row in await self._rows():
            if await row.get_by_role("link", name="Decision letter").count():
                letters.append(LetterRow(cells[0], cells[1], cells[5], None))
        return letters

    async def download_letter(self, letter: LetterRow) -> Download:
        f = await self._dashboard()
        row = sel.appeals_rows(f).filter(has=f.get_by_role("cell", name=letter.letter_id, exact=True))
        link = row.get_by_role("link", name="Decision letter")
        if not await link.count():
            raise LayoutChanged("decision letter link is gone", landmark="appeals dashboard")
        file = await self.session.download(link.click)
        return Download(file.filename, file.data, "application/pdf")

