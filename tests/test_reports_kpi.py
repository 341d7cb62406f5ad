"""The managers' KPIs: each figure recomputed here from the rows the test wrote, on both backends."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import insert

from core.reports.kpi import kpis
from core.routing.states import transition
from core.store.models import Claim, Payer
from core.store.models.work import WorkItem

SINCE, UNTIL = date(2026, 10, 1), date(2026, 11, 1)
T = datetime(2026, 10, 10, 9, 0, tzinfo=timezone.utc)


def at(day: int) -> datetime:
    return T + timedelta(days=day)


@pytest.fixture
def report(db):
    """Five claims submitted in October (one more in September); denials on three, a rejection on one;
    three appealed items (two decided in October), one item written off without appeal."""
    with db.transaction() as s:
        s.execute(insert(Payer), [{"code": "AETNA", "name": "Aetna", "created_at": T},
                                  {"code": "UHC", "name": "UHC", "created_at": T}])
        aetna, uhc = 1, 2
        claims = [(1, aetna, "100.00", date(2026, 10, 2)), (2, aetna, "200.00", date(2026, 10, 5)),
                  (3, uhc, "300.00", date(2026, 10, 9)), (4, uhc, "400.00", date(2026, 10, 20)),
                  (5, uhc, "500.00", date(2026, 10, 31)), (6, aetna, "999.00", date(2026, 9, 30))]
        s.execute(insert(Claim), [{"id": i, "payer_id": p, "patient_control_number": f"P{i}", "billed_amount": Decimal(b),
                                   "submitted_on": on, "created_at": T} for i, p, b, on in claims])
        items = [  # id, claim, payer, kind, category, amount, determined on
            (1, 1, aetna, "denial", "medical_necessity", "60.00", date(2026, 10, 8)),
            (2, 2, aetna, "denial", "authorization", "200.00", date(2026, 10, 9)),
            (3, 3, uhc, "denial", "medical_necessity", "100.00", date(2026, 10, 12)),
            (4, 3, uhc, "rejection", "rejection", "300.00", date(2026, 10, 11)),
            (5, 6, aetna, "denial", "coding", "999.00", date(2026, 10, 1)),
            (6, 3, uhc, "task", "medical_necessity", "100.00", None),
        ]
        s.execute(insert(WorkItem), [{"id": i, "dedupe_key": f"k{i}", "kind": k, "intake_source": "835", "claim_id": c,
                                      "payer_id": p, "category": cat, "team": "clinical_docs", "amount": Decimal(a),
                                      "determined_on": d, "priority": 1.0, "action": "work_by_deadline",
                                      "state": "new", "is_open": True, "created_at": T, "updated_at": T}
                                     for i, c, p, k, cat, a, d in items])
    with db.transaction() as s:
        for item_id, appealed_on in ((1, 3), (2, 4), (3, 10)):
            transition(s, item_id, "appealing", actor="t", now=at(appealed_on))
            transition(s, item_id, "submitted", actor="t", now=at(appealed_on))
            transition(s, item_id, "awaiting_payer", actor="t", now=at(appealed_on))
        transition(s, 1, "paid", actor="t", now=at(15))
        transition(s, 1, "closed_recovered", actor="t", now=at(15), recovered_amount=Decimal("60.00"))  # Oct 25
        transition(s, 2, "closed_written_off", actor="t", now=at(20), reason="upheld twice")  # Oct 30
        transition(s, 4, "closed_written_off", actor="t", now=at(5), reason="duplicate")  # Oct 15, never appealed
    with db.transaction() as s:
        return {k.key: k for k in kpis(s, SINCE, UNTIL).kpis}


def test_initial_denial_rate_by_count_and_dollars(report):
    k = report["initial_denial_rate"]
    # Claims 1-5 submitted in October; 1, 2 and 3 were refused (claim 3 twice: denial + rejection).
    assert k.counts["submitted"] == 5 and k.counts["denied"] == 3
    assert k.value == pytest.approx(3 / 5)
    # Refused dollars 60 + 200 + 100 + 300 (the task repeats its denial's and is left out) of 1,500 billed.
    assert k.counts["refused_dollars"] == Decimal("660.00") and k.counts["billed_dollars"] == Decimal("1500.00")
    assert k.detail["by_dollars"] == pytest.approx(660 / 1500)


def test_clean_claim_rate_says_it_is_an_upper_bound(report):
    k = report["clean_claim_rate"]
    assert (k.counts, k.value) == ({"clean": 2, "submitted": 5}, pytest.approx(2 / 5))
    assert "upper bound" in k.missing


def test_appeal_success_rate_by_payer_and_category(report):
    k = report["appeal_success_rate"]
    # Appealed: 1 (won, Oct 25), 2 (lost, Oct 30), 3 (still awaiting the payer: not decided).
    assert k.counts == {"won": 1, "decided": 2} and k.value == pytest.approx(0.5)
    assert k.detail["by_payer"] == {"AETNA": 0.5}
    assert k.detail["by_category"] == {"authorization": 0.0, "medical_necessity": 1.0}


def test_days_to_resolution_and_share_within_30_days(report):
    k = report["days_to_resolution"]
    # Closed in October: item 1 (Oct 8 -> Oct 25: 17 days), 2 (Oct 9 -> Oct 30: 21), 4 (Oct 11 -> Oct 15: 4).
    assert k.counts == {"resolved": 3, "within_30_days": 3}
    assert k.value == pytest.approx((17 + 21 + 4) / 3) and k.detail["median"] == 17
    assert k.detail["share_within_30_days"] == 1.0


def test_time_from_denial_to_appeal(report):
    k = report["denial_to_appeal_days"]
    # Appealed Oct 13 (determined Oct 8: 5 days), Oct 14 (Oct 9: 5), Oct 20 (Oct 12: 8).
    assert k.counts == {"appealed": 3} and k.value == pytest.approx(6.0) and k.detail["median"] == 5


def test_prevented_denial_rate_names_its_missing_input(report):
    k = report["prevented_denial_rate"]
    assert k.value is None and "root cause" in k.missing


def test_report_kpi_command_writes_the_same_figures(report, db_url, tmp_path, monkeypatch):
    import csv
    import io
    import json

    from openpyxl import load_workbook
    from typer.testing import CliRunner

    from cli.main import app
    from core.config import get_settings

    monkeypatch.setenv("PAYERFLEET_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("PAYERFLEET_DATABASE_URL", db_url)
    get_settings.cache_clear()
    run = CliRunner().invoke
    period = ["--since", SINCE.isoformat(), "--until", UNTIL.isoformat()]
    as_json = json.loads(run(app, ["report", "kpi", *period]).stdout)
    assert {k["key"]: k["value"] for k in as_json["kpis"]} == {key: k.value for key, k in report.items()}
    rows = list(csv.DictReader(io.StringIO(run(app, ["report", "kpi", *period, "--format", "csv"]).stdout)))
    assert {r["kpi"]: r["value"] for r in rows} == {key: "" if k.value is None else str(k.value)
                                                   for key, k in report.items()}
    out = tmp_path / "kpi.xlsx"
    assert run(app, ["report", "kpi", *period, "--format", "xlsx", "--out", str(out)]).exit_code == 0
    sheet = list(load_workbook(out, read_only=True).active.iter_rows(values_only=True))
    assert {r[0]: r[2] for r in sheet[1:]} == {key: k.value for key, k in report.items()}
    bad = run(app, ["report", "kpi", "--since", "yesterday"])
    assert bad.exit_code == 2 and "--since must be YYYY-MM-DD" in bad.output
    get_settings.cache_clear()
