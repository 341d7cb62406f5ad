"""Availity ERA files: the 835 list in EDI Files, newest first, paginated; downloads as attachments."""
from __future__ import annotations

import re
from datetime import date

from portals.availity import selectors as sel
from portals.availity.claim_status import open_app
from portals.capabilities import AcknowledgmentRow, Download, RemittanceClaimRow, RemittanceRow
from portals.errors import ActionNotAllowed, ClaimNotFound, InvalidRequest, LayoutChanged
from portals.parsing import money, us_date

# ERA_<payer>_<practice>_<YYYYMMDD>_<trace>.835: the trace (TRN02) is the check/EFT number.
FILE_NAME = re.compile(r"^ERA_(?P<payer>[^_]+)_[^_]+_\d{8}_(?P<trace>[^.]+)\.835$")


class Remittances:
    def __init__(self, session):
        self.session = session

    async def _open(self, page_number: int = 1):
        f = await open_app(self.session, f"{sel.FILES_APP}?type=835&page={page_number}")
        await self.session.expect(sel.files_table(f), "835 files table")
        return f

    async def list_remittances(self, since: date) -> list[RemittanceRow]:
        rows: list[RemittanceRow] = []
        number = 1
        while True:
            f = await self._open(number)
            for row in await sel.files_rows(f).all():
                cells = [c.strip() for c in await row.get_by_role("cell").all_inner_texts()]
                if len(cells) < 4:
                    continue  # the "No files available." row
                name, payer, when, amount = cells[:4]
                paid_on = us_date(when, landmark="file date")
                if paid_on is not None and paid_on < since:
                    return rows  # newest first: everything after this is older
                m = FILE_NAME.match(name)
                rows.append(RemittanceRow(remit_id=name, check_number=m.group("trace") if m else "",
                                          paid_on=paid_on, amount=money(amount, landmark="file amount"), payer=payer))
            if not await sel.files_next(f).count():
                return rows
            number += 1

    async def download_835(self, remit: RemittanceRow) -> Download:
        # Files are found by paging from the newest, like a person would: there are no deep links.
        number = 1
        while True:
            f = await self._open(number)
            row = sel.files_rows(f).filter(has=f.get_by_role("cell", name=remit.remit_id, exact=True))
            if await row.count():
                link = row.get_by_role("link", name="Download")
                file = await self.session.download(link.click)
                return Download(file.filename, file.data, "application/edi-x12")
            if not await sel.files_next(f).count():
                raise LayoutChanged(f"835 file listed earlier is gone from the list", landmark="835 files table")
            number += 1


class Acknowledgments:
    """The 277CA list in EDI Files (clearinghouse claim acknowledgments), newest first, paginated."""

    def __init__(self, session):
        self.session = session
        # The list page each file was seen on: downloads start there instead of paging from the newest.
        self._seen_on: dict[str, int] = {}

    async def _open(self, page_number: int = 1):
        f = await open_app(self.session, f"{sel.FILES_APP}?type=277CA&page={page_number}")
        await self.session.expect(sel.files_table(f, "277CA"), "277CA files table")
        return f

    async def list_acknowledgments(self, since: date) -> list[AcknowledgmentRow]:
        rows: list[AcknowledgmentRow] = []
        number = 1
        while True:
            f = await self._open(number)
            for row in await sel.files_rows(f, "277CA").all():
                cells = [c.strip() for c in await row.get_by_role("cell").all_inner_texts()]
                if len(cells) < 3:
                    continue  # the "No files available." row
                created = us_date(cells[2], landmark="file date")
                if created is not None and created < since:
                    return rows  # newest first: everything after this is older
                rows.append(AcknowledgmentRow(file_name=cells[0], payer=cells[1], created_on=created))
                self._seen_on[cells[0]] = number
            if not await sel.files_next(f).count():
                return rows
            number += 1

    async def download_277ca(self, ack: AcknowledgmentRow) -> Download:
        # Newer files push older ones to later pages; the file is on its seen page or after it.
        number = self._seen_on.get(ack.file_name, 1)
        while True:
            f = await self._open(number)
            row = sel.files_rows(f, "277CA").filter(has=f.get_by_role("cell", name=ack.file_name, exact=True))
            if await row.count():
                file = await self.session.download(row.get_by_role("link", name="Download").click)
                return Download(file.filename, file.data, "application/edi-x12")
            if not await sel.files_next(f).count():
                raise LayoutChanged("277CA file listed earlier is gone from the list", landmark="277CA files table")
            number += 1


class RemittanceViewer:
    """Availity's Remittance Viewer: a check must be authenticated (number + amount) before it shows."""

    def __init__(self, session):
        self.session = session

    async def view(self, remit: RemittanceRow) -> list[RemittanceClaimRow]:
        if not remit.check_number or remit.amount is None:
            raise InvalidRequest("authenticating a check needs its number and amount")
        f = await open_app(self.session, sel.VIEWER_APP)
        await self.session.expect(sel.rv_search(f), "remittance viewer")
        await sel.rv_search(f).fill(remit.check_number)
        await sel.rv_search_button(f).click()
        row = sel.rv_row(f, remit.check_number)
        found = await self.session.which({"row": row, "none": sel.alert(f)}, "remittance search results")
        if found == "none":
            raise ClaimNotFound("the remittance viewer has no such check")
        authenticate = row.get_by_role("button", name="Authenticate")
        if await authenticate.count():
            await authenticate.click()
            dialog = sel.rv_dialog(f)
            await dialog.get_by_label("Check/EFT Number").fill(remit.check_number)
            await dialog.get_by_label("Payment Amount").fill(f"{remit.amount:.2f}")
            await dialog.get_by_role("button", name="Authenticate Check").click()
            if await self.session.which({"view": row.get_by_role("link", name="View"),
                                         "refused": dialog.get_by_role("alert").filter(has_text=re.compile(r"\w"))},
                                        "check authentication") == "refused":
                raise ActionNotAllowed("Availity refused to authenticate the check")
        await row.get_by_role("link", name="View").click()
        await self.session.expect(sel.rv_detail_heading(f, remit.check_number), "remittance detail")
        claims = []
        for section in await sel.rv_claim_sections(f).all():
            heading = (await section.get_by_role("heading", level=2).inner_text()).strip()
            summary = (await section.locator("p").first.inner_text()).strip()
            m = REMIT_CLAIM.search(summary)
            if m is None:
                raise LayoutChanged("remittance claim summary has an unknown shape", landmark="remittance detail")
            more = section.get_by_role("button", name="View More")
            if await more.count():  # the claim status code hides behind "View More"
                await more.click()
            status = section.get_by_role("term").filter(has_text="Claim status code").locator(
                "xpath=following-sibling::dd[1]")
            await self.session.expect(status, "remittance claim status code")
            adjustments = []
            for cell in await section.get_by_role("row").filter(has=f.get_by_role("cell")).all():
                texts = await cell.get_by_role("cell").all_inner_texts()
                if len(texts) >= 6:
                    adjustments += ADJUSTMENT.findall(texts[5])
            claims.append(RemittanceClaimRow(heading.split()[1], (await status.inner_text()).strip(),
                                             money(m.group("billed")), money(m.group("paid")), tuple(adjustments)))
        return claims


# "Billed $220.00 · Paid $85.50"
REMIT_CLAIM = re.compile(r"Billed \$(?P<billed>-?[\d,.]+) · Paid \$(?P<paid>-?[\d,.]+)")
ADJUSTMENT = re.compile(r"\b([A-Z]{2}-\w+) \$")
