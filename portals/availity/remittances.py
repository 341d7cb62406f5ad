"""Availity ERA files: the 835 list in EDI Files, newest first, paginated; downloads as attachments."""
from __future__ import annotations

import re
from datetime import date

from portals.availity import selectors as sel
from portals.availity.claim_status import open_app
from portals.capabilities import Download, RemittanceRow
from portals.errors import LayoutChanged
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
