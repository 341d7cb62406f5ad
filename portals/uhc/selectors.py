"""Every UHC Provider Portal locator in one place (roles and labels; no test ids on this portal)."""
from __future__ import annotations

import re

HOME = "/portal/dashboard"
CLAIMS = "/portal/claims"
REQUESTS = "/portal/reconsiderations"
DOCUMENTS = "/portal/documents"
PAYMENTS = "/portal/payments"

OUTAGE = re.compile(r"temporarily unavailable|temporary error", re.I)


def signed_in(root):
    return root.get_by_role("navigation", name="Main").get_by_role("link", name="Sign Out")


def alert(root):
    return root.get_by_role("alert")


def outage(root):
    return root.get_by_text(OUTAGE)


def terms_agree(root):
    return root.get_by_role("checkbox", name="I agree to the Terms of Use")


def notice_continue(root):
    return root.get_by_role("button", name="Continue to portal")


def nav(root, name: str):
    return root.get_by_role("navigation", name="Main").get_by_role("link", name=name)


# -- claims ------------------------------------------------------------------------------
def claims_heading(root):
    return root.get_by_role("heading", name="Claims & Payments")


def claim_number(root):
    return root.get_by_label("Claim number", exact=True)


def search_button(root):
    return root.get_by_role("search").get_by_role("button", name="Search")


def results_table(root):
    return root.get_by_role("table").filter(has=root.get_by_role("columnheader", name="Claim Status"))


def result_link(root, number: str):
    return results_table(root).get_by_role("row").get_by_role("link", name=number, exact=True)


def detail_heading(root, number: str):
    return root.get_by_role("heading", name=f"Claim {number}", exact=True)


def summary_value(root, term: str):
    # The claim summary is a <dl>: the definition right after the named term.
    return root.get_by_role("term").filter(has_text=re.compile(rf"^{re.escape(term)}$")).locator(
        "xpath=following-sibling::dd[1]")


def codes_table(root):
    return root.get_by_role("table").filter(has=root.get_by_role("columnheader", name="Reason codes"))


def eob_link(root):
    return root.get_by_role("link", name="View EOB (PDF)")


def act_on_claim(root):
    return root.get_by_role("region", name="Act on a Claim")


def action(root, label: str):
    # Live actions are links styled as buttons; greyed-out ones are disabled buttons.
    return act_on_claim(root).get_by_role("button", name=label)


# -- reconsideration form ----------------------------------------------------------------
def request_heading(root):
    return root.get_by_role("heading", name="Create Claim Reconsideration")


def request_reason(root):
    return root.get_by_label("Reason for request")


def request_explanation(root):
    return root.get_by_label("Explanation")


def request_files(root):
    return root.get_by_label("Supporting documents")


def request_submit(root):
    return root.locator("main form").get_by_role("button", name="Submit")


def request_done(root):
    return root.get_by_role("heading", name="Request Submitted")


def tracking_number(root):
    return root.get_by_role("status").locator("strong")


# -- lists -------------------------------------------------------------------------------
def requests_heading(root):
    return root.get_by_role("heading", name="Reconsiderations & Appeals")


def table_rows(root):
    return root.locator("main").get_by_role("table").get_by_role("row").filter(has=root.get_by_role("cell"))


def documents_heading(root):
    return root.get_by_role("heading", name="Document Library")


def payments_heading(root):
    return root.get_by_role("heading", name="Payments", exact=True)


def next_page(root):
    return root.get_by_role("navigation", name="Pagination").get_by_role("link", name="Next")
