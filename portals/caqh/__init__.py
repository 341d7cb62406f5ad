"""CAQH ProView Practice Manager: roster attestation status, expiring documents, attest."""
from __future__ import annotations

from pathlib import Path

from portals.caqh import selectors as sel
from portals.caqh.roster import Roster
from portals.definition import Interstitial, Landmark, PortalDefinition
from portals.login import PasswordFormLogin


async def _accept_terms(page) -> None:
    await sel.terms_accept(page).check()
    await page.get_by_role("button", name="Accept", exact=True).click()


async def _continue(page) -> None:
    await sel.notice_continue(page).click()


async def _roster(session):
    await session.goto(sel.ROSTER)
    await session.expect(session.page.get_by_role("heading", level=1), "roster")
    return session.page.locator("body")


PORTAL = PortalDefinition(
    name="caqh",
    title="CAQH ProView",
    login=PasswordFormLogin(sel.signed_in),
    capabilities={"credentialing": Roster},
    home_path=sel.ROSTER,
    unavailable=sel.outage,
    interstitials=(Interstitial("terms", sel.terms_accept, _accept_terms),
                   Interstitial("maintenance notice", sel.notice_continue, _continue)),
    landmarks=(Landmark("roster", _roster),),
    baseline_dir=Path(__file__).parent / "landmarks",
    default_base_url="https://proview.caqh.org",
)
