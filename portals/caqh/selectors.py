"""Every CAQH ProView (Practice Manager) locator in one place; ASP.NET ids are never used."""
from __future__ import annotations

import re

ROSTER = "/PM/Roster.aspx"
OUTAGE = re.compile(r"temporarily unavailable|temporary error", re.I)


def signed_in(root):
    return root.get_by_role("link", name="Log Out")


def outage(root):
    return root.get_by_text(OUTAGE)


def terms_accept(root):
    return root.get_by_role("checkbox", name="I accept the Terms of Use")


def notice_continue(root):
    return root.locator("form").filter(has=root.get_by_role("button", name="Continue", exact=True)).filter(
        has_not=root.locator("input[type=password]")).get_by_role("button", name="Continue", exact=True)


def roster_table(root):
    return root.get_by_role("table").filter(has=root.get_by_role("columnheader", name="CAQH Provider ID"))


def roster_rows(root):
    return roster_table(root).get_by_role("row").filter(has=root.get_by_role("cell"))


def profile_attest(root):
    return root.get_by_role("link", name="Re-Attest")


def review_continue(root):
    return root.get_by_role("link", name="Continue", exact=True)


def aar_agree(root):
    return root.get_by_role("checkbox", name=re.compile("Authorization, Attestation and Release"))


def aar_signature(root):
    return root.get_by_label("Type your full name as signature")


def aar_submit(root):
    return root.get_by_role("button", name="Attest", exact=True)


def attest_done(root):
    return root.get_by_role("heading", name="Attestation Complete")


def confirmation(root):
    return root.get_by_role("status").locator("strong")


def next_due(root):
    return root.get_by_text(re.compile(r"^Next attestation due:")).locator("span")


def alert(root):
    return root.get_by_role("alert")
