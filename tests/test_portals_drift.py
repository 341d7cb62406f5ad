"""Drift check against the sandbox: v1 matches the recorded landmarks, v2 is reported, with screenshots."""
from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cli.main import app
from portals.drift import check
from portals.registry import get
from portals_support import session

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("name", ["availity", "uhc", "caqh"])
async def test_recorded_landmarks_match_the_current_portal(browser, fresh_sandbox, name):
    portal = get(name)
    async with session(browser, fresh_sandbox.portals[name]) as s:
        reports = await check(s, portal, portal.baseline_dir)
    assert [r.name for r in reports] == [lm.name for lm in portal.landmarks]
    assert {r.status for r in reports} == {"unchanged"}, [(r.name, r.diff) for r in reports if r.diff]


@pytest.mark.parametrize("name,changed", [
    ("availity", {"shell", "claim_status_form", "era_files", "appeals_dashboard"}),
    ("uhc", {"claims_search", "submitted_requests", "document_library", "payments"}),  # the nav is on every page
    ("caqh", {"roster"}),
])
async def test_v2_markup_is_reported_as_changed(browser, fresh_sandbox, name, changed):
    handle = fresh_sandbox.portals[name]
    handle.set_variant("v2")
    portal = get(name)
    async with session(browser, handle) as s:
        reports = {r.name: r for r in await check(s, portal, portal.baseline_dir)}
    assert {n for n, r in reports.items() if r.status == "changed"} == changed
    for n in changed:
        assert reports[n].diff.startswith("---") and reports[n].screenshot[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_check_reports_drift_and_writes_screenshots(fresh_sandbox, tmp_path):
    caqh = fresh_sandbox.caqh
    a = caqh.accounts[1]
    args = ["portals", "check", "caqh", "--url", caqh.base_url, "--username", a.username, "--password", a.password,
            "--totp-secret", a.totp_secret, "--out", str(tmp_path)]
    caqh.set_variant("v2")
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    assert "roster" in result.output and "changed" in result.output
    assert (tmp_path / "roster.png").read_bytes()[:4] == b"\x89PNG"


def test_cli_lists_portals_and_capabilities():
    result = CliRunner().invoke(app, ["portals", "list"])
    assert result.exit_code == 0
    for name in ("availity", "uhc", "caqh", "claim_status", "credentialing"):
        assert name in result.output
