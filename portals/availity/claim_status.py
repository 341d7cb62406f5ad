"""Availity Claim Status app (inside the shell's iframe): claim-number inquiry and claim detail."""
from __future__ import annotations

from datetime import date

from portals.availity import selectors as sel
import re

from portals.capabilities import ClaimQuery, ClaimStatusRow, PageHook
from portals.errors import CapabilityNotSupported, ClaimNotFound, InvalidRequest, LayoutChanged, PortalError, PortalUnavailable
from portals.parsing import money, us_date, us_date_keys

# The results list shows words; these are the 277 categories the words stand for. "Rejected" is left
# blank: the list does not say which acknowledgment category (A3/A6/A7/A8) rejected it.
LIST_CATEGORY = {"Received": "A2", "In Process": "P1", "Pending Additional Info": "P3", "Paid": "F1",
                 "Denied": "F2"}
PAGE_INFO = re.compile(r"Page (\d+) of (\d+)")


async def open_app(session, app_path: str):
    """Show an app in the shell's iframe and return the frame locator."""
    page = session.page
    if not page.url.startswith(session.url(sel.SHELL)):
        await session.goto(sel.SHELL)
        await session.expect(sel.signed_in(page), "navigation shell")
    await session.goto_frame(sel.APP_FRAME_NAME, app_path)
    return page.frame_locator(sel.APP_FRAME)


class ClaimStatus:
    """ClaimStatusLookup for Availity; the portal has no date-range-only search."""

    def __init__(self, session):
        self.session = session

    async def lookup(self, query: ClaimQuery) -> ClaimStatusRow:
        number = query.claim_number or query.patient_control_number
        f = await self.lookup_to_detail(number, query.payer, query.service_from, query.service_to)
        return await self._read_detail(f)

    async def lookup_to_detail(self, number: str, payer: str = "", dos_from: date | None = None,
                               dos_to: date | None = None):
        """Search the claim (each payer in turn if none is given) and open its detail page."""
        if not number:
            raise ClaimNotFound("Availity lookups need a claim number")
        f = await open_app(self.session, sel.CLAIM_STATUS_APP)
        await self.session.expect(sel.cs_heading(f), "claim status form")
        options = await self._payer_options(f)
        payers = _payers_named(options, payer)
        if payer and not payers:
            raise ClaimNotFound("the payer is not offered on this Availity account")
        for index, value in enumerate(payers):
            if index:
                f = await open_app(self.session, sel.CLAIM_STATUS_APP)
                await self.session.expect(sel.cs_heading(f), "claim status form")
            if await self._search(f, value, number, dos_from, dos_to):
                await self._row_link(f, number).first.click()
                await self.session.expect(sel.cd_heading(f), "claim detail")
                return f
        raise ClaimNotFound()

    async def search(self, service_from: date, service_to: date) -> list[ClaimStatusRow]:
        raise CapabilityNotSupported("Availity claim status needs a claim number or a member; no date-range search")

    async def search_member(self, member_id: str, date_of_birth: date, service_from: date | None = None,
                            service_to: date | None = None, *, payer: str = "",
                            on_page: PageHook | None = None) -> list[ClaimStatusRow]:
        """One member inquiry per payer (the given one, else each), every results page read."""
        if not member_id.strip() or date_of_birth is None:
            raise InvalidRequest("an Availity member search needs a member id and a date of birth")
        f = await open_app(self.session, sel.CLAIM_STATUS_APP)
        await self.session.expect(sel.cs_heading(f), "claim status form")
        options = await self._payer_options(f)
        payers = _payers_named(options, payer)
        rows: list[ClaimStatusRow] = []
        for index, value in enumerate(payers):
            if index:
                f = await open_app(self.session, sel.CLAIM_STATUS_APP)
                await self.session.expect(sel.cs_heading(f), "claim status form")
            rows.extend(await self._member_pages(f, value, member_id.strip(), date_of_birth, service_from,
                                                 service_to, on_page))
        return rows

    async def _member_pages(self, f, payer: str, member_id: str, birth: date, dos_from: date | None,
                            dos_to: date | None, on_page: PageHook | None) -> list[ClaimStatusRow]:
        await sel.cs_payer(f).select_option(value=payer)
        await sel.cs_member_id(f).fill(member_id)
        await sel.cs_birth_date(f).press_sequentially(us_date_keys(birth))
        if dos_from:
            await sel.cs_from(f).press_sequentially(us_date_keys(dos_from))
        if dos_to:
            await sel.cs_to(f).press_sequentially(us_date_keys(dos_to))
        await sel.cs_submit(f).click()
        found = await self.session.which({"rows": sel.cs_result_rows(f), "alert": sel.alert(f)},
                                         "member search results")
        if found == "alert":
            text = (await sel.alert(f).first.inner_text()).strip()
            if sel.NOT_FOUND.search(text):
                return []
            if sel.OUTAGE.search(text):
                raise PortalUnavailable("Availity: claim status search failed")
            raise InvalidRequest("Availity refused the member search")
        rows: list[ClaimStatusRow] = []
        while True:
            info = PAGE_INFO.search(await (await self.session.expect(sel.cs_page_info(f), "results page")).inner_text())
            if info is None:
                raise LayoutChanged("Availity results show no page number", landmark="results page")
            number, pages = int(info.group(1)), int(info.group(2))
            for row in await sel.cs_result_rows(f).all():
                rows.append(_list_row([c.strip() for c in await row.get_by_role("cell").all_inner_texts()]))
            if on_page is not None:
                await on_page()
            if number >= pages:
                return rows
            await sel.cs_next_page(f).click()
            await self.session.expect(sel.cs_page_info(f, number + 1), "next results page")

    async def _payer_options(self, f) -> dict[str, str]:
        pairs = await sel.cs_payer(f).locator("option").evaluate_all("os => os.map(o => [o.value, o.text])")
        return {value: label for value, label in pairs if value}

    async def _search(self, f, payer: str, number: str, dos_from: date | None, dos_to: date | None) -> bool:
        """Run one inquiry; True when a result row names the claim, False when the payer has none."""
        await sel.cs_payer(f).select_option(value=payer)
        await sel.cs_claim_number(f).fill(number)
        if dos_from:
            await sel.cs_from(f).press_sequentially(dos_from.strftime("%m%d%Y"))
        if dos_to:
            await sel.cs_to(f).press_sequentially(dos_to.strftime("%m%d%Y"))
        await sel.cs_submit(f).click()
        found = await self.session.which({"rows": sel.cs_result_rows(f), "alert": sel.alert(f)}, "claim status results")
        if found == "alert":
            text = (await sel.alert(f).first.inner_text()).strip()
            if sel.NOT_FOUND.search(text):
                return False
            if sel.OUTAGE.search(text):
                raise PortalUnavailable("Availity: claim status search failed")
            raise PortalError("Availity refused the claim status search")
        return await self._row_link(f, number).count() > 0

    @staticmethod
    def _row_link(f, number: str):
        return sel.cs_result_rows(f).get_by_role("link", name=number, exact=True)

    async def _read_detail(self, f) -> ClaimStatusRow:
        status = [t.strip() for t in await sel.cd_status(f).all_inner_texts()]
        status_text = status[0] if status else ""
        category = status[1].split(" - ")[0].strip() if len(status) > 1 else ""
        # "65 - Claim/line has been paid." or "21:40 - ..." (code, then the entity on rejections)
        status_code = status[2].split(" - ")[0].split(":")[0].strip() if len(status) > 2 else ""

        async def panel(label: str) -> str:
            return (await sel.cd_panel_value(f, label).inner_text()).strip()

        codes = []
        for row in await sel.cd_codes_rows(f).all():
            cells = await row.get_by_role("cell").all_inner_texts()
            if len(cells) >= 2:
                codes.append(cells[1].strip())
        return ClaimStatusRow(
            claim_number=await panel("Claim Number"), patient_control_number=await panel("Claim Number"),
            category=category, status_text=status_text,
            billed=money(await panel("Billed Amount"), landmark="billed amount"),
            paid=money(await panel("Paid Amount"), landmark="paid amount"),
            service_from=us_date((await panel("Service Dates")).split(" - ")[0], landmark="service dates"),
            finalized_on=us_date(await panel("Finalized Date"), landmark="finalized date"),
            codes=tuple(codes), check_number=await panel("Check Number"), status_code=status_code)


def _payers_named(options: dict[str, str], payer: str) -> list[str]:
    """Option values for `payer` (its code, its name, or a store code made from its name); all if empty."""
    if not payer:
        return list(options)
    wanted = _squash(payer)
    return [v for v, label in options.items() if wanted in (_squash(v), _squash(label))]


def _squash(text: str) -> str:
    # "ANTHEM_BLUE_CROSS_BLUE_SHIELD" and "Anthem Blue Cross Blue Shield" name the same payer.
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _list_row(cells: list[str]) -> ClaimStatusRow:
    """A #claimsTable row: claim number, patient, service dates, billed, paid, status, finalized."""
    if len(cells) < 7:
        raise LayoutChanged("Availity claim results row has fewer columns than expected", landmark="claim results")
    number, status = cells[0], cells[5]
    return ClaimStatusRow(
        claim_number=number, patient_control_number=number, category=LIST_CATEGORY.get(status, ""),
        status_text=status, billed=money(cells[3], landmark="billed amount"),
        paid=money(cells[4], landmark="paid amount"),
        service_from=us_date(cells[2].split(" - ")[0], landmark="service dates"),
        finalized_on=us_date(cells[6], landmark="finalized date"))
