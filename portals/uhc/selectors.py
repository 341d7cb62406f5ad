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


# -- claims ------------------------------------------------------------------------------
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


# -- reconsideration form ----------------------------------------------------------------
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
def data_table(root, first_column: str):
    # Lists are found by their columns, not their page titles: a renamed page is not a new layout.
    return root.locator("main").get_by_role("table").filter(
        has=root.get_by_role("columnheader", name=first_column, exact=True))


def requests_table(root):
    return data_table(root, "Tracking Number")


def documents_table(root):
    return data_table(root, "Document")


def payments_table(root):
    return data_table(root, "File")


def table_rows(table):
    # `has` is matched inside each row, so it must be built from the page, not from the table.
    return table.get_by_role("row").filter(has=table.page.get_by_role("cell"))


def page_info(root, number: int | None = None):
    # "Page X of Y"; with a number, only once that page shows.
    text = re.compile(rf"^Page {number} of \d+$" if number else r"^Page \d+ of \d+$")
    return root.get_by_role("navigation", name="Pagination").get_by_text(text)


def next_page(root):
    return root.get_by_role("navigation", name="Pagination").get_by_role("link", name="Next")
