"""Availity Essentials: claim status, ERA (835) files, disputes for Aetna/Cigna/Anthem, letters."""
from __future__ import annotations

from pathlib import Path

from portals.availity import selectors as sel
from portals.availity.claim_status import ClaimStatus, open_app
from portals.availity.disputes import Disputes
from portals.availity.remittances import Acknowledgments, Remittances
from portals.definition import Interstitial, Landmark, PortalDefinition
from portals.login import PasswordFormLogin


async def _accept_terms(page) -> None:
    await page.get_by_role("checkbox", name="I have read and accept").check()
    await page.get_by_role("button", name="Accept and continue").click()


async def _continue_notice(page) -> None:
    await sel.notice_continue(page).click()


def _app_landmark(name: str, app_path: str) -> Landmark:
    """An app page in the shell's iframe, snapshotted whole once its main heading shows."""
    async def open_(session):
        f = await open_app(session, app_path)
        await session.expect(f.get_by_role("heading", level=1), name)
        return f.locator("body")
    return Landmark(name, open_)


async def _shell(session):
    await session.goto(sel.SHELL)
    await session.expect(sel.signed_in(session.page), "shell")
    return session.page.locator("body")


PORTAL = PortalDefinition(
    name="availity",
    title="Availity Essentials",
    login=PasswordFormLogin(sel.signed_in),
    capabilities={"claim_status": ClaimStatus, "remittances": Remittances, "acknowledgments": Acknowledgments,
                  "appeals": Disputes, "letters": Disputes},
    home_path=sel.SHELL,
    unavailable=sel.outage,
    busy=lambda root: sel.cs_busy(root.frame_locator(sel.APP_FRAME)),
    interstitials=(
        Interstitial("terms", sel.terms_heading, _accept_terms),
        Interstitial("maintenance notice", sel.notice_continue, _continue_notice),
    ),
    app_frames=(sel.APP_FRAME,),
    landmarks=(Landmark("shell", _shell), _app_landmark("claim_status_form", sel.CLAIM_STATUS_APP),
               _app_landmark("era_files", sel.FILES_APP + "?type=835"),
               _app_landmark("appeals_dashboard", sel.APPEALS_APP)),
    baseline_dir=Path(__file__).parent / "landmarks",
    default_base_url="https://essentials.availity.com",
)
