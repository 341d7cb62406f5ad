"""UHC Document Library (decision letters) and Payments (835 files)."""
from __future__ import annotations

import re
from datetime import date

from portals.capabilities import Download, LetterRow, RemittanceRow
from portals.errors import LayoutChanged
from portals.parsing import money, us_date
from portals.uhc import selectors as sel
from portals.uhc.claims import open_claim

# ERA_<payer>_<practice>_<YYYYMMDD>_<trace>.835: the trace (TRN02) is the check/EFT number.
FILE_NAME = re.compile(r"^ERA_(?P<payer>[^_]+)_[^_]+_\d{8}_(?P<trace>[^.]+)\.835$")


class Letters:
    """DecisionLetters: letters download only after their claim was opened in this session."""

    def __init__(self, session):
        self.session = session

    async def _open(self):
        await self.session.goto(sel.DOCUMENTS)
        return await self.session.expect(sel.documents_table(self.session.page), "document library")

    async def list_letters(self, since: date | None = None) -> list[LetterRow]:
        table = await self._open()
        letters = []
        for row in await sel.table_rows(table).all():
            cells = [c.strip() for c in await row.get_by_role("cell").all_inner_texts()]
            if len(cells) < 5:
                continue
            issued = us_date(cells[3], landmark="document date")
            if since is None or issued is None or issued >= since:
                letters.append(LetterRow(letter_id=cells[0], claim_number=cells[2], title=cells[1], issued_on=issued))
        return letters

    async def download_letter(self, letter: LetterRow) -> Download:
        await open_claim(self.session, letter.claim_number)
        table = await self._open()
        page = self.session.page
        row = sel.table_rows(table).filter(has=page.get_by_role("cell", name=letter.letter_id, exact=True))
        if not await row.count():
            raise LayoutChanged("a listed document is gone from the Document Library", landmark="document library")
        file = await self.session.download(row.get_by_role("link", name="Download").click)
        return Download(file.filename, file.data, "application/pdf")


class Payments:
    """RemittanceDownloads: the Payments list, newest first, 835 per payment."""

    def __init__(self, session):
        self.session = session

    async def _open(self, number: int):
        await self.session.goto(f"{sel.PAYMENTS}?page={number}")
        return await self.session.expect(sel.payments_table(self.session.page), "payments")

    async def list_remittances(self, since: date) -> list[RemittanceRow]:
        rows: list[RemittanceRow] = []
        number = 1
        while True:
            table = await self._open(number)
            page = self.session.page
            for row in await sel.table_rows(table).all():
                cells = [c.strip() for c in await row.get_by_role("cell").all_inner_texts()]
                if len(cells) < 4:
                    continue
                paid_on = us_date(cells[1], landmark="payment date")
                if paid_on is not None and paid_on < since:
                    return rows
                m = FILE_NAME.match(cells[0])
                rows.append(RemittanceRow(cells[0], m.group("trace") if m else "", paid_on,
                                          money(cells[2], landmark="payment amount"), "UnitedHealthcare"))
            if not await sel.next_page(page).count():
                return rows
            number += 1

    async def download_835(self, remit: RemittanceRow) -> Download:
        number = 1
        while True:
            table = await self._open(number)
            page = self.session.page
            row = sel.table_rows(table).filter(has=page.get_by_role("cell", name=remit.remit_id, exact=True))
            if await row.count():
                file = await self.session.download(row.get_by_role("link", name="Download 835").click)
                return Download(file.filename, file.data, "application/edi-x12")
            if not await sel.next_page(page).count():
                raise LayoutChanged("a listed 835 is gone from Payments", landmark="payments")
            number += 1
