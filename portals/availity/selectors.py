"""Every Availity locator in one place: roles and labels first, ids only where nothing else holds.

`root` is the Page or the app iframe's FrameLocator; both build locators the same way.
"""
from __future__ import annotations

import re

# The navigation shell loads apps into this iframe (PORTALS.md: iframe#newBodyFrame).
APP_FRAME = "#newBodyFrame"
APP_FRAME_NAME = "newBodyFrame"
SHELL = "/web/navigation/"
CLAIM_STATUS_APP = "/static/web/post/cs/enhanced-claim-status-ui/"
FILES_APP = "/static/web/post/files/"
APPEALS_APP = "/static/web/post/appeals/"

OUTAGE = re.compile(r"temporarily unavailable|temporary error|Something went wrong", re.I)
NOT_FOUND = re.compile(r"could not find any results|not found", re.I)


# -- shell and interstitials ------------------------------------------------------------
def signed_in(root):
    return root.get_by_role("link", name="Log out")


def alert(root):
    return root.get_by_role("alert")


def outage(root):
    return root.get_by_text(OUTAGE)


def terms_heading(root):
    return root.get_by_role("heading", name="Terms and Conditions")


def notice_continue(root):
    # The maintenance notice interstitial (a page with a Continue button), not the outage page.
    return root.locator("main").filter(has=root.get_by_role("heading", name="Scheduled maintenance")).get_by_role(
        "button", name="Continue")


# -- claim status (inside the app frame) -------------------------------------------------
def cs_heading(f):
    return f.get_by_role("heading", name="Claim Status", exact=True)


def cs_payer(f):
    return f.get_by_label("Payer", exact=True)


def cs_claim_number(f):
    return f.get_by_label("Claim Number", exact=True)


def cs_from(f):
    return f.get_by_label("From Date", exact=True)


def cs_to(f):
    return f.get_by_label("To Date", exact=True)


def cs_member_id(f):
    return f.get_by_label("Member ID", exact=True)


def cs_birth_date(f):
    return f.get_by_label("Date of Birth", exact=True)


def cs_page_info(f, number: int | None = None):
    # "Page X of Y"; with a number, only once that page shows (the results are re-rendered per page).
    text = re.compile(rf"^Page {number} of \d+$" if number else r"^Page \d+ of \d+$")
    return f.get_by_role("navigation", name="Pagination").get_by_text(text)


def cs_next_page(f):
    return f.get_by_role("navigation", name="Pagination").get_by_role("button", name="Next")


def cs_submit(f):
    return f.get_by_role("button", name="Submit", exact=True)


def cs_results(f):
    return f.get_by_role("table")


def cs_result_rows(f):
    # Body rows only: the header row holds column headers, not cells.
    return cs_results(f).get_by_role("row").filter(has=f.get_by_role("cell"))


def cs_busy(f):
    return f.get_by_role("progressbar")


# -- claim detail ------------------------------------------------------------------------
def cd_heading(f):
    return f.get_by_role("heading", name="Claim Detail")


def cd_panel_value(f, label: str):
    # Availity's detail panels carry data-testid names (PORTALS.md); the value follows the label.
    return f.get_by_test_id(label).locator("span").first


def cd_status(f):
    return f.get_by_test_id("testClaim StatusPanel").locator("span")


def cd_codes_rows(f):
    return f.get_by_role("table").filter(has=f.get_by_role("columnheader", name="Description")).get_by_role(
        "row").filter(has=f.get_by_role("cell"))


def cd_dispute(f):
    return f.get_by_role("button", name="Dispute Claim")


# -- files (ERA 835 downloads) -----------------------------------------------------------
def files_table(f, kind: str = "835"):
    return f.get_by_role("table", name=f"{kind} files")


def files_rows(f, kind: str = "835"):
    return files_table(f, kind).get_by_role("row").filter(has=f.get_by_role("cell"))


def files_next(f):
    return f.get_by_role("navigation", name="Pagination").get_by_role("link", name="Next")


# -- appeals -----------------------------------------------------------------------------
def appeals_table(f):
    # Found by its columns, not the page title ("Appeals" / "Appeals & Disputes").
    return f.get_by_role("table").filter(has=f.get_by_role("columnheader", name="Request ID", exact=True))


def appeals_rows(f):
    return appeals_table(f).get_by_role("row").filter(has=f.get_by_role("cell"))


def dispute_type(f, kind: str):
    return f.get_by_role("radio", name=kind)


def dispute_reason(f):
    return f.get_by_label("Reason for dispute")


def dispute_comments(f):
    return f.get_by_label("Additional comments")


def dispute_contact(f):
    return f.get_by_label("Contact name")


def dispute_files(f):
    return f.get_by_label(re.compile(r"^Attachments"))


def dispute_submit(f):
    return f.get_by_role("button", name="Submit Dispute")


def dispute_done(f):
    return f.get_by_role("heading", name="Dispute Submitted")


def dispute_request_id(f):
    return f.get_by_role("status").locator("strong")


# -- remittance viewer -------------------------------------------------------------------
VIEWER_APP = "/static/web/post/rm/remitviewerui/"


def rv_search(f):
    return f.get_by_label("Search by claim number or check/EFT number")


def rv_search_button(f):
    return f.get_by_role("search").get_by_role("button", name="Search")


def rv_table(f):
    return f.get_by_role("table", name="Remits")


def rv_row(f, check_number: str):
    return rv_table(f).get_by_role("row").filter(has=f.get_by_role("cell", name=check_number, exact=True))


def rv_dialog(f):
    return f.get_by_role("dialog", name="Authenticate Check")


def rv_detail_heading(f, check_number: str):
    return f.get_by_role("heading", name=f"Remittance {check_number}", exact=True)


def rv_claim_sections(f):
    return f.locator("section").filter(has=f.get_by_role("heading", level=2))
