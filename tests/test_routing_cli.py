"""`payerfleet route / queue / summary / item` as an operator runs them (both backends)."""
from __future__ import annotations

import json
from datetime import date

import pytest
from typer.testing import CliRunner

import routing_support as rs
from core.config import get_settings


@pytest.fixture
def cli(tmp_path, monkeypatch, db_url):
    from cli.main import app

    monkeypatch.setenv("PAYERFLEET_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("PAYERFLEET_DATABASE_URL", db_url)
    monkeypatch.setenv("PAYERFLEET_LOG_FORMAT", "json")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    runner = CliRunner()
    yield lambda *args: runner.invoke(app, list(args), catch_exceptions=False)
    get_settings.cache_clear()


@pytest.fixture
def denials(db):
    with db.transaction() as s:
        aetna = rs.payer(s, "AETNA")
        remit = rs.remittance(s, aetna, paid_on=date(2026, 11, 20))
        rs.payment(s, remit, rs.claim(s, aetna, dos=date(2026, 10, 20)),
                   lines=[rs.denied_line("50", "4800.00"), rs.denied_line("4", "200.00"), rs.denied_line("Z9", "75")])
        rs.rejection(s, aetna, rs.claim(s, aetna, dos=date(2026, 11, 1)), amount="90.00")


def _json(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_route_then_queue_json_lists_every_team(cli, denials):
    report = _json(cli("route", "--today", "2026-11-27", "--json"))
    assert report["created"]["denial"] == 3 and report["created"]["rejection"] == 1 and report["triage"] == 1
    queues = _json(cli("queue", "--json"))
    assert set(queues) >= {"clinical_docs", "coding", "billing_edits", "triage"}
    [top] = [r for r in queues["clinical_docs"] if r["kind"] == "denial"]
    assert {"id", "kind", "team", "category", "carc", "payer", "amount", "appeal_deadline", "priority",
            "action"} <= set(top)
    assert (top["carc"], top["payer"], top["amount"], top["appeal_deadline"]) == ("50", "AETNA", "4800.00",
                                                                                   "2027-05-19")
    assert _json(cli("route", "--today", "2026-11-27", "--json"))["created"] == {}


def test_queue_for_one_team_prints_a_table(cli, denials):
    cli("route", "--today", "2026-11-27")
    result = cli("queue", "--team", "billing_edits")
    assert result.exit_code == 0 and "rejection" in result.output and "90.00" in result.output
    assert "clinical_docs" not in result.output


def test_item_touch_move_and_show(cli, denials):
    cli("route", "--today", "2026-11-27")
    [item] = [r for r in _json(cli("queue", "--team", "coding", "--json"))["coding"]]
    item_id = str(item["id"])
    touched = cli("item", "touch", item_id, "--channel", "portal", "--submitted-on", "2026-11-27",
                  "--confirmation", "RC-778", "--owner", "coder-2")
    assert touched.exit_code == 0 and "follow up on 2026-12-11" in touched.output
    assert cli("item", "touch", item_id, "--outcome", "paid", "--paid", "200.00").exit_code == 0
    moved = cli("item", "move", item_id, "closed_recovered")
    assert moved.exit_code == 0 and "closed_recovered" in moved.output
    shown = _json(cli("item", "show", item_id, "--json"))
    assert shown["state"] == "closed_recovered" and shown["recovered_amount"] == "200.00"
    assert [t["to"] for t in shown["transitions"]] == ["correcting", "submitted", "awaiting_payer", "paid",
                                                       "closed_recovered"]
    assert shown["first_level"]["form"] == "Provider Resolution Form" and shown["escalation"]
    summary = _json(cli("summary", "--json"))
    assert summary["recovered"] == "200.00" and summary["denied"] == "5165.00"


def test_bad_commands_give_one_clear_line(cli, denials):
    cli("route", "--today", "2026-11-27")
    result = cli("item", "move", "1", "paid")
    assert result.exit_code == 1 and "InvalidTransition" in result.output and "Traceback" not in result.output
    assert "WorkItemNotFound" in cli("item", "move", "99999", "assigned").output
    assert "TouchInvalid" in cli("item", "touch", "1", "--outcome", "paid").output
    assert cli("route", "--today", "27/11/2026").exit_code == 1


def test_queue_reads_at_80_columns_and_wide_shows_every_column(cli, denials, monkeypatch):
    cli("route", "--today", "2026-11-27")
    monkeypatch.setenv("COLUMNS", "80")
    narrow = cli("queue", "--team", "clinical_docs")
    lines = narrow.output.splitlines()
    assert narrow.exit_code == 0 and max(map(len, lines)) <= 80, narrow.output
    assert "…" not in narrow.output and "4,800.00" in narrow.output and "AETNA" in narrow.output
    assert "not shown at 80 columns" in narrow.output
    wide = cli("queue", "--team", "clinical_docs", "--wide")
    assert "…" not in wide.output and "not shown" not in wide.output
    header = next(line for line in wide.output.splitlines() if line.lstrip().startswith("id"))
    assert header.split() == ["id", "kind", "category", "carc", "payer", "amount", "appeal", "by", "due", "SLA",
                              "priority", "action", "state"]
    assert "2027-05-19" in wide.output


def test_item_show_is_labelled_text_with_the_claim_number_and_brackets_intact(cli, denials, monkeypatch):
    cli("route", "--today", "2026-11-27")
    [item] = _json(cli("queue", "--team", "coding", "--json"))["coding"]
    moved = cli("item", "move", str(item["id"]), "closed_written_off", "--reason", "[payer] said no (see [note])")
    assert moved.exit_code == 0, moved.output
    details = _json(cli("item", "show", str(item["id"]), "--json"))
    assert details["claim_number"]
    monkeypatch.setenv("COLUMNS", "80")
    shown = cli("item", "show", str(item["id"]))
    assert shown.exit_code == 0
    assert max(map(len, shown.output.splitlines())) <= 80, shown.output
    assert f"claim         {details['claim_number']}" in shown.output
    assert "[payer] said no (see [note])" in shown.output
    for python_repr in ("None", "{'", "Decimal(", "datetime."):
        assert python_repr not in shown.output
