"""The workbench in real Chromium against demo-like data: each role's pages, a biller's queue work, evidence,
the manager's dashboard against `payerfleet summary --json`, exports read back, and refused requests.

One store and one server per session (SQLite or PostgreSQL, as the suite runs); one screenshot per page
goes to test-output/web/<backend>/ for reviewers."""
from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from openpyxl import load_workbook
from playwright.async_api import Page, expect
from sqlalchemy import func, select

from conftest import BACKEND, private_pg_database
from core import users
from core.config import Settings
from core.reports.kpi import kpis
from core.routing.worklist import QueueView, iter_view
from core.store import migrate
from core.store.db import Database
from core.store.models import Alert, AuditEvent, Payer, User
from core.store.models.work import WorkItem
from evidence.blobs import LocalBlobStore
from evidence.recorder import EvidenceRecorder
from fixtures.sandbox import ServerThread, bind_loopback
from fleet.outcomes import consequence_of
from web.app import create_app
from web_support import PASSWORD, load_demo_like

# Its own store (one per session, not the db_url fixture) on the backend under test.
pytestmark = [pytest.mark.browser, pytest.mark.database]
ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "test-output" / "web" / BACKEND


class Workbench:
    def __init__(self, url, settings, loaded, base, evidence_item):
        self.url, self.settings, self.loaded, self.base = url, settings, loaded, base
        self.db = Database(url)
        self.evidence_item = evidence_item

    def user(self, role: str) -> str:
        return self.loaded.users[role]


@pytest.fixture(scope="session")
def _store(tmp_path_factory):
    users.use_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    data_dir = tmp_path_factory.mktemp("workbench")
    if BACKEND == "postgresql":
        with private_pg_database("payerfleet_web") as url:
            yield url, data_dir
    else:
        url = f"sqlite:///{data_dir / 'payerfleet.db'}"
        migrate.upgrade(Database(url))
        yield url, data_dir
    users.use_hasher(PasswordHasher())


@pytest.fixture(scope="session")
async def workbench(_store, browser):
    url, data_dir = _store
    settings = Settings(data_dir=data_dir, database_url=url)
    db = Database(url)
    loaded = load_demo_like(db)
    app = create_app(settings, clock=lambda: loaded.now, explain_failure=consequence_of)
    wb = app.state.workbench
    # Evidence as an automation captures it: a claim-status page screenshotted and chained, linked to the
    # claim of an item in the biller's team.
    with db.transaction() as s:
        item_id, claim_id = s.execute(select(WorkItem.id, WorkItem.claim_id)
                                      .where(WorkItem.team == loaded.team, WorkItem.claim_id.is_not(None),
                                             WorkItem.is_open.is_(True)).order_by(WorkItem.id)).first()
    with db.transaction() as s:
        s.add(Alert(kind="account_disabled", severity="critical", subject="account:availity-demo",
                    message="BadCredentials: account disabled"))
    page = await browser.new_page()
    await page.set_content(f"<h1>Claim status</h1><p>Claim {claim_id}: Denied (CARC 16, RARC N290)</p>")
    recorder = EvidenceRecorder(db, LocalBlobStore(settings.blob_dir, wb.keys), run_id="web-test-run",
                                portal="sandbox", account_alias="test")
    await recorder.capture_page(page, "claim_status", claim_id=claim_id)
    await page.close()
    server = ServerThread(app, bind_loopback(0))
    server.start()
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        yield Workbench(url, settings, loaded, f"http://127.0.0.1:{server.sock.getsockname()[1]}", item_id)
    finally:
        server.stop()
        db.dispose()


async def sign_in(page: Page, wb: Workbench, role: str) -> None:
    await page.context.clear_cookies()
    await page.goto(wb.base + "/login")
    await page.get_by_label("Name").fill(wb.user(role))
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_text(f"{wb.user(role)} ({role})")).to_be_visible()


async def shot(page: Page, name: str) -> None:
    await page.screenshot(path=SHOTS / f"{name}.png", full_page=True)


async def test_each_role_reaches_its_pages_and_is_refused_elsewhere(page: Page, workbench):
    wb, team, other = workbench, workbench.loaded.team, workbench.loaded.other_team
    await page.goto(wb.base + "/queues")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()  # not signed in: sent to sign in
    await shot(page, "login")
    reach = {
        "biller": ([("/queues", "queues"), (f"/queues/{team}", "queue")],
                   ["/dashboard", "/rca", "/ops/runs", "/admin/users", "/appeals", f"/queues/{other}"]),
        "appeal_writer": ([("/appeals", "appeals")], ["/dashboard", "/ops/accounts", f"/queues/{other}"]),
        "manager": ([("/dashboard", "dashboard"), ("/rca?since=2026-08-01", "rca"), (f"/queues/{other}", None)],
                    ["/ops/runs", "/admin/users"]),
        "ops": ([("/ops/runs", "runs"), ("/ops/accounts", "accounts"), ("/ops/drift", "drift"),
                 ("/ops/alerts", "alerts")], ["/queues", "/dashboard", "/admin/users"]),
        "admin": ([("/admin/users", "users")], ["/queues", "/dashboard"]),
    }
    for role, (allowed, refused) in reach.items():
        await sign_in(page, wb, role)
        for path, name in allowed:
            response = await page.goto(wb.base + path)
            assert response.status == 200, (role, path)
            if path == "/ops/alerts":
                await expect(page.get_by_role("table", name="Alerts")).to_contain_text("account:availity-demo")
            if name:
                await shot(page, name)
        for path in refused:
            response = await page.goto(wb.base + path)
            assert response.status == 403, (role, path)
            await expect(page.get_by_role("alert")).to_contain_text(re.compile("does not reach|not one of your teams"))
    await shot(page, "refused")


async def test_biller_filters_claims_and_moves_items_and_sees_the_audit_entry(page: Page, workbench):
    wb, team = workbench, workbench.loaded.team
    with wb.db.transaction() as s:
        payer = s.execute(select(Payer.code).join(WorkItem, WorkItem.payer_id == Payer.id)
                          .where(WorkItem.team == team, WorkItem.is_open.is_(True), WorkItem.state == "new")
                          .group_by(Payer.code).order_by(func.count().desc())).scalars().first()
    await sign_in(page, wb, "biller")
    await page.goto(f"{wb.base}/queues/{team}")
    filters = page.get_by_role("form", name="Filters")
    await filters.locator('select[name="payer"]').select_option(payer)
    await filters.locator('select[name="state"]').select_option("new")
    await filters.get_by_role("button", name="Filter").click()
    await expect(page).to_have_url(re.compile(f"payer={payer}"))
    rows = page.locator("table.queue tbody tr")
    count = await rows.count()
    assert count >= 2
    assert set(await page.locator("table.queue tbody tr td:nth-child(6)").all_inner_texts()) == {payer}
    first_id = int((await rows.nth(0).locator("td a").first.inner_text()).lstrip("#"))
    await rows.nth(0).get_by_role("checkbox").check()
    await rows.nth(1).get_by_role("checkbox").check()
    await page.get_by_role("button", name="Claim for me").click()
    await expect(page.get_by_role("status")).to_have_text("claim: 2 done")
    await page.goto(f"{wb.base}/items/{first_id}")
    await expect(page.locator("p.status")).to_contain_text("owner biller")
    move = page.get_by_role("form", name="Move")
    await move.locator('select[name="state"]').select_option("correcting")
    await move.get_by_label("Reason").fill("wrong modifier; corrected claim")
    await move.get_by_role("button", name="Move").click()
    await expect(page.get_by_role("status")).to_have_text("Moved to correcting.")
    audit = page.get_by_role("table", name="Audit trail")
    await expect(audit.get_by_role("row").filter(has_text="work_item.transition").filter(has_text="correcting")
                 .filter(has_text="web:biller")).to_have_count(1)
    await shot(page, "item")
    with wb.db.transaction() as s:
        assert s.scalar(select(WorkItem.state).where(WorkItem.id == first_id)) == "correcting"
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "work_item.transition", AuditEvent.record_id == str(first_id),
            AuditEvent.actor == "web:biller", AuditEvent.outcome == "correcting")) == 1


async def test_the_items_screenshot_opens_decrypted_and_the_view_is_audited(page: Page, workbench):
    wb = workbench
    await sign_in(page, wb, "biller")
    await page.goto(f"{wb.base}/items/{wb.evidence_item}")
    shown = page.locator("figure.evidence", has_text="screenshot").first
    await expect(shown).to_contain_text("chain link intact")
    await shown.locator("summary").click()
    image = shown.get_by_role("img")
    await expect(image).to_be_visible()
    # decode() waits for the image to load and fails on a broken one.
    assert await image.evaluate("img => img.decode().then(() => img.naturalWidth)") > 100
    await shot(page, "item-evidence")
    seq = (await image.get_attribute("src")).rsplit("/", 1)[1]
    with wb.db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "evidence.viewed", AuditEvent.record_id == seq,
            AuditEvent.actor == "web:biller")) >= 1


async def test_dashboard_figures_match_summary_json(page: Page, workbench):
    wb = workbench
    await sign_in(page, wb, "manager")
    await page.goto(wb.base + "/dashboard")
    shown = {key: await page.locator(f'[data-figure="{key}"]').inner_text()
             for key in ("denied", "recovered", "written_off", "at_risk", "open_items")}
    await shot(page, "dashboard")
    env = {**os.environ, "PAYERFLEET_DATABASE_URL": wb.url, "PAYERFLEET_DATA_DIR": str(wb.settings.data_dir),
           "PAYERFLEET_LOG_LEVEL": "WARNING"}
    out = subprocess.run([sys.executable, "-c", "from cli.main import app; app()", "summary", "--json"], env=env, cwd=ROOT,
                         capture_output=True, text=True, check=True)
    cli = json.loads(out.stdout)
    for key in ("denied", "recovered", "written_off", "at_risk"):
        assert shown[key] == f"${float(cli[key]):,.2f}", key
    assert int(shown["open_items"]) == cli["open_items"]
    assert float(cli["recovered"]) > 0 and float(cli["written_off"]) > 0
    # The KPIs are core's figures for the period the page names.
    with wb.db.transaction() as s:
        report = kpis(s, wb.loaded.today - timedelta(days=29), wb.loaded.today + timedelta(days=1))
    for k in report.kpis:
        cell = page.locator(f'tr[data-kpi="{k.key}"] td').nth(1)
        await expect(cell).to_have_text("–" if k.value is None else (
            f"{k.value * 100:.1f} %" if k.unit == "ratio" else f"{k.value:.1f} {k.unit}"))


async def test_csv_and_xlsx_exports_hold_the_filtered_view(page: Page, workbench):
    wb, team = workbench, workbench.loaded.team
    await sign_in(page, wb, "biller")
    await page.goto(f"{wb.base}/queues/{team}?sort=amount&min_amount=100")
    with wb.db.transaction() as s:
        want = [r.id for r in iter_view(s, QueueView(team=team, sort="amount", min_amount=100))]
    assert want
    async with page.expect_download() as got:
        await page.get_by_role("link", name="CSV").click()
    rows = list(csv.DictReader(io.StringIO((await (await got.value).path()).read_text())))
    assert [int(r["id"]) for r in rows] == want
    assert all(float(r["amount"]) >= 100 for r in rows)
    async with page.expect_download() as got:
        await page.get_by_role("link", name="XLSX").click()
    download = await got.value
    assert download.suggested_filename.endswith(".xlsx")
    sheet = load_workbook(io.BytesIO((await download.path()).read_bytes()), read_only=True).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][0] == "id" and [v[0] for v in values[1:]] == want


async def test_a_csrf_less_post_and_a_role_escalation_are_refused(page: Page, workbench):
    wb, team, other = workbench, workbench.loaded.team, workbench.loaded.other_team
    with wb.db.transaction() as s:
        mine = s.scalar(select(WorkItem.id).where(WorkItem.team == team, WorkItem.state == "new").limit(1))
        theirs, their_state = s.execute(select(WorkItem.id, WorkItem.state)
                                        .where(WorkItem.team == other, WorkItem.is_open.is_(True)).limit(1)).one()
    await sign_in(page, wb, "biller")
    await page.goto(f"{wb.base}/queues/{team}")
    token = await page.locator('input[name="csrf"]').first.get_attribute("value")
    no_token = await page.request.post(f"{wb.base}/queues/{team}/bulk", form={"action": "claim", "item": str(mine)})
    assert no_token.status == 403 and "CSRF" in await no_token.text()
    escalate = await page.request.post(f"{wb.base}/admin/users/biller", form={"role": "admin", "csrf": token})
    add_admin = await page.request.post(f"{wb.base}/admin/users", form={
        "name": "mallory", "password": PASSWORD, "role": "admin", "csrf": token})
    other_team = await page.request.post(f"{wb.base}/items/{theirs}/move", form={"state": "closed_written_off",
                                                                                "reason": "x", "csrf": token})
    assert (escalate.status, add_admin.status, other_team.status) == (403, 403, 404)
    with wb.db.transaction() as s:
        assert s.scalar(select(User.role).where(User.name == "biller")) == "biller"
        assert s.scalar(select(User).where(User.name == "mallory")) is None
        assert s.scalar(select(WorkItem.owner).where(WorkItem.id == mine)) is None
        assert s.scalar(select(WorkItem.state).where(WorkItem.id == theirs)) == their_state
