"""UnitedHealthcare Provider Portal: claim status, reconsiderations, submitted list, letters, 835s."""
from __future__ import annotations

from pathlib import Path

from portals.definition import Interstitial, Landmark, PortalDefinition
from portals.login import PasswordFormLogin
from portals.uhc import selectors as sel
from portals.uhc.claims import Claims
from portals.uhc.library import Letters, Payments


async def _accept_terms(page) -> None:
    await sel.terms_agree(page).check()
    await page.get_by_role("button", name="I Agree").click()


async def _continue(page) -> None:
    await sel.notice_continue(page).click()


def _landmark(path: str, name: str) -> Landmark:
    """A portal page snapshotted whole once its main heading shows (whatever the heading says)."""
    async def open_(session):
        await session.goto(path)
        await session.expect(session.page.get_by_role("heading", level=1), name)
        return session.page.locator("body")
    return Landmark(name, open_)


PORTAL = PortalDefinition(
    name="uhc",
    title="UnitedHealthcare Provider Portal",
    login=PasswordFormLogin(sel.signed_in),
    capabilities={"claim_status": Claims, "appeals": Claims, "letters": Letters, "remittances": Payments},
    home_path=sel.HOME,
    unavailable=sel.outage,
    interstitials=(Interstitial("terms", sel.terms_agree, _accept_terms),
                   Interstitial("maintenance notice", sel.notice_continue, _continue)),
    landmarks=(
        _landmark(sel.CLAIMS, "claims_search"),
        _landmark(sel.REQUESTS, "submitted_requests"),
        _landmark(sel.DOCUMENTS, "document_library"),
        _landmark(sel.PAYMENTS, "payments"),
    ),
    baseline_dir=Path(__file__).parent / "landmarks",
    default_base_url="https://www.uhcprovider.com",
)
