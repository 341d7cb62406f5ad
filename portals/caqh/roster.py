"""CAQH Practice Manager: roster attestation status, expiring documents, the attest (AAR) flow."""
from __future__ import annotations

import re

from portals.caqh import selectors as sel
from portals.capabilities import AttestationConfirmation, ExpiringDocument, RosterRow
from portals.errors import InvalidRequest, LayoutChanged, SubmitOutcomeUnknown
from portals.parsing import us_date

REMINDER = re.compile(r"\s*\(\d+-day reminder sent\)\s*$")
# "State License — Expiring Soon 12/01/2026"
DOCUMENT = re.compile(r"^(?P<kind>.+?) — (?P<status>.+?) (?P<date>\d{2}/\d{2}/\d{4})$")


class Roster:
    def __init__(self, session):
        self.session = session

    async def _cells(self) -> list[list[str]]:
        await self.session.goto(sel.ROSTER)
        page = self.session.page
        await self.session.expect(sel.roster_table(page), "roster")
        rows = []
        for row in await sel.roster_rows(page).all():
            cells = [c.strip() for c in await row.get_by_role("cell").all_inner_texts()]
            if len(cells) >= 7:
                rows.append(cells)
        return rows

    async def roster(self) -> list[RosterRow]:
        return [RosterRow(provider_id=c[2], npi=c[1], status=REMINDER.sub("", c[3]), last_attested_on=None,
                          attestation_due_on=us_date(c[4], landmark="attestation due date"))
                for c in await self._cells()]

    async def expiring_documents(self) -> list[ExpiringDocument]:
        docs = []
        for cells in await self._cells():
            for item in filter(None, (part.strip() for part in cells[6].split(";"))):
                m = DOCUMENT.match(item)
                if m is None:
                    raise LayoutChanged("expiring document entry has an unknown shape", landmark="roster documents")
                docs.append(ExpiringDocument(cells[2], m.group("kind"), us_date(m.group("date"))))
        return docs

    async def attest(self, provider_id: str, signer: str) -> AttestationConfirmation:
        if not signer.strip():
            raise InvalidRequest("the attestation needs the signer's full name")
        await self.session.goto(sel.ROSTER)
        page = self.session.page
        row = sel.roster_rows(page).filter(has=page.get_by_role("cell", name=provider_id, exact=True))
        await self.session.expect(sel.roster_table(page), "roster")
        if not await row.count():
            raise InvalidRequest("the provider is not on this roster")
        await row.get_by_role("link").first.click()
        await self.session.expect(sel.profile_attest(page), "provider profile")
        await sel.profile_attest(page).click()
        await self.session.expect(sel.review_continue(page), "attestation review")
        await sel.review_continue(page).click()
        await self.session.expect(sel.aar_agree(page), "authorization, attestation and release")
        await sel.aar_agree(page).check()
        await sel.aar_signature(page).fill(signer)
        await sel.aar_submit(page).click()
        if await self.session.which({"done": sel.attest_done(page), "error": sel.alert(page)},
                                    "attestation confirmation") != "done":
            raise SubmitOutcomeUnknown("CAQH answered the attestation with an error")
        return AttestationConfirmation(provider_id, None, us_date(await sel.next_due(page).inner_text()),
                                       (await sel.confirmation(page).inner_text()).strip())
