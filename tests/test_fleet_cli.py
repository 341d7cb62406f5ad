"""The fleet's commands: the end-to-end demo, and clear one-line errors for bad input."""
from __future__ import annotations

import json
import sys
from datetime import datetime, timezone

import pytest
from typer.testing import CliRunner

from core.config import get_settings
from core.users import authenticate


@pytest.fixture
def cli(tmp_path, monkeypatch, db_url):
    from cli.main import app

    monkeypatch.setenv("PAYERFLEET_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("PAYERFLEET_DATABASE_URL", db_url)
    monkeypatch.setenv("PAYERFLEET_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("PAYERFLEET_CONFIG", str(tmp_path / "payerfleet.toml"))
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    runner = CliRunner()
    yield lambda *args: runner.invoke(app, list(args), catch_exceptions=False)
    get_settings.cache_clear()


@pytest.mark.browser
@pytest.mark.slow
def test_demo_runs_end_to_end_and_summarises_as_json(cli, db, db_url, tmp_path):
    result = cli("demo", "--json", "--data-dir", str(tmp_path / "demo"), "--database-url", db_url)
    summary = json.loads(result.stdout)
    failed = {k: v for k, v in summary["steps"].items() if not v["ok"]}
    assert result.exit_code == 0 and summary["ok"], failed
    assert list(summary["steps"]) == ["store", "sandbox", "accounts", "intake", "pull", "route", "appeal", "decision",
                                      "verify", "workbench"]
    assert summary["intake"]["files"] > 0 and summary["intake"]["claims"] > 0
    assert {r["state"] for r in summary["daily_pull"]} == {"succeeded"}
    # The stored 837P claims are looked up on both portals; Availity's 277CAs are pulled with its ERAs.
    looked_up = [r["result"]["looked_up"] for r in summary["daily_pull"] if r["automation"] == "claim_status_pull"]
    assert len(looked_up) == 2 and all(n > 0 for n in looked_up)
    assert any(r["result"].get("acks_downloaded", 0) > 0 for r in summary["daily_pull"])
    edits = {t["team"]: t["open"] for t in summary["queues"]["teams"]}
    assert edits.get("billing_edits", 0) > 0, "277CA rejections reach the billing-edits queue"
    assert summary["queues"]["open_items"] > 0 and float(summary["queues"]["at_risk"]) > 0
    appeal = summary["appeal"]
    assert appeal["run_state"] == "succeeded" and appeal["confirmation_number"] and appeal["portal_received"] == 1
    assert summary["decision"]["portal_cases"], "the payer's decision is shown after the clock advanced"
    assert summary["evidence"]["ok"] and summary["evidence"]["entries"] > 0
    workbench = summary["workbench"]
    assert workbench["url"] == "http://127.0.0.1:8765/" and workbench["command"].startswith("payerfleet web ")
    with db.transaction() as s:
        for name, sign_in in workbench["sign_ins"].items():
            signed = authenticate(s, name, sign_in["password"], client="test", now=datetime.now(timezone.utc))
            assert signed.user is not None and signed.user.role == sign_in["role"]
    assert workbench["sign_ins"]["biller"]["teams"] and set(workbench["sign_ins"]) == {"manager", "biller"}
    # How long it takes is a benchmark's figure (bench/fleet_pull_bench.py --demo), not this test's.


def test_demo_names_a_missing_piece_instead_of_a_traceback(cli, db, db_url, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "fixtures.sandbox", None)
    result = cli("demo", "--json", "--data-dir", str(tmp_path / "demo"), "--database-url", db_url)
    summary = json.loads(result.stdout)
    assert result.exit_code == 1
    assert summary["steps"]["store"]["ok"] is True
    assert summary["steps"]["sandbox"] == {"ok": False, "seconds": summary["steps"]["sandbox"]["seconds"],
                                           "error": "not available yet: module fixtures.sandbox is missing"}
    assert "Traceback" not in result.output


def test_demo_never_wipes_a_directory_it_did_not_create(cli, tmp_path):
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "payerfleet.db").write_text("real data")
    result = cli("demo", "--data-dir", str(precious))
    assert result.exit_code != 0
    assert (precious / "payerfleet.db").read_text() == "real data"


def test_on_demand_commands_refuse_bad_input_in_one_line(cli, db):
    assert cli("db", "upgrade").exit_code == 0
    missing = cli("appeal", "submit", "999")
    assert missing.exit_code == 1 and "NotFound: no appeal 999" in missing.output
    nobody = cli("pull", "--account", "ghost")
    assert nobody.exit_code == 1 and "no enabled account matches" in nobody.output
    bad_backend = cli("worker", "--backend", "carrier-pigeon", "--until-idle")
    assert bad_backend.exit_code == 1 and "ConfigError" in bad_backend.output


def test_scheduler_lists_its_jobs_with_next_fire_times(cli, db, tmp_path):
    assert cli("db", "upgrade").exit_code == 0
    (tmp_path / "payerfleet.toml").write_text('[schedule]\ntimezone = "America/Chicago"\nfollow_up_time = "08:15"\n')
    result = cli("scheduler", "--list")
    assert result.exit_code == 0, result.output
    assert "daily:follow_ups" in result.output and "hourly:reconcile" in result.output


def test_pull_on_demand_asks_each_portal_for_its_own_payers(cli, db):
    from sqlalchemy import select

    from core.store.models import AutomationRun, Payer
    from fleet_support import add_account

    add_account(db, "avail-1")
    add_account(db, "uhc-1", "uhc")
    with db.transaction() as s:
        s.add(Payer(code="AETNA", name="AETNA"))
    result = cli("pull", "--no-wait")
    assert result.exit_code == 0 and "queued 3 runs" in result.stdout
    with db.transaction() as s:
        queued = sorted((r.automation, r.params) for r in s.scalars(select(AutomationRun)))
    # UHC has no stored claims' payer yet, so only its ERAs are pulled there.
    assert queued == [("claim_status_pull", {"payers": ["AETNA"]}), ("era_pull", {}), ("era_pull", {})]
