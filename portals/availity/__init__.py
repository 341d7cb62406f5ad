"""Availity Essentials: claim status, ERA (835) files, disputes for Aetna/Cigna/Anthem, letters."""
from __future__ import annotations

from pathlib import Path

from portals.availity import selectors as sel
from portals.availity.claim_status import ClaimStatus, open_app
from portals.availity.disputes import Disputes
from portals.availity.remittances import Remittances
from portals.definition import Interstitial, Landmark, PortalDefinition
from portals.login import PasswordFormLogin


async def _accept_terms(page) -> None:
    await page.get_by_role("checkbox", name="I have read and accept").check()
    await page.get_by_role("button", name="Accept and continue").click()


async def _continue_notice(page) -> None:
    await sel.notice_continue(page).click()


async def _claim_status_form(session):
    f = await open_app(session, sel.CLAIM_STATUS_APP)
    return await session.expect(f.locator("body").filter(has=sel.cs_heading(f)), "claim status form")


async def _files(session):
    f = await open_app(session, sel.FILES_APP + "?type=835")
    return await session.expect(f.locator("body").filter(has=sel.files_heading(f)), "835 files")


async def _appeals(session):
    f = await open_app(session, sel.APPEALS_APP)
    return await session.expect(f.locator("body").filter(has=sel.appeals_heading(f)), "appeals dashboard")


async def _shell(session):
    await session.goto(sel.SHELL)
    return await session.expect(session.page.locator("body").filter(has=sel.signed_in(session.page)), "shell")


PORTAL = PortalDefinition(
    name="availity",
    title="Availity Essentials",
    login=PasswordFormLogin(sel.signed_in),
    capabilities={"claim_status": ClaimStatus, "remittances": Remittances, "appeals": Disputes, "letters": Disputes},
    home_path=sel.SHELL,
    unavailable=sel.outage,
    busy=lambda root: sel.cs_busy(root.frame_locator(sel.APP_FRAME)),
    interstitials=(
        Interstitial("terms", sel.terms_heading, _accept_terms),
        Interstitial("maintenance notice", sel.notice_continue, _continue_notice),
    ),
    app_frames=(sel.APP_FRAME,),
    landmarks=(Landmark("shell", _shell), Landmark("claim_status_form", _claim_status_form),
               Landmark("era_files", _files), Landmark("appeals_dashboard", _appeals)),
    baseline_dir=Path(__file__).parent / "landmarks",
    default_base_url="https://essentials.availity.com",
)
