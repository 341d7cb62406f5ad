"""Root-cause analysis: groups and their change against the previous period, and the 3x outlier rule."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

from sqlalchemy import insert

from core.reports.rca import rca
from core.store.models import Claim, Payer
from core.store.models.work import WorkItem

T = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
SINCE, UNTIL = date(2026, 11, 2), date(2026, 11, 9)


def test_groups_change_and_the_provider_whose_authorization_denials_are_3x_its_peers(db):
    with db.transaction() as s:
        s.execute(insert(Payer), [{"code": "AETNA", "name": "Aetna", "created_at": T},
                                  {"code": "UHC", "name": "UHC", "created_at": T}])
        # Dr A submitted 10 claims, Dr B 30: A's 4 authorization denials are 0.4 a claim, B's 2 are 0.067.
        claims = [{"id": i, "payer_id": 1 if i % 2 else 2, "patient_control_number": f"P{i}",
                   "billed_amount": Decimal("100.00"), "submitted_on": date(2026, 10, 20),
                   "rendering_npi": "1111111111" if i <= 10 else "2222222222",
                   "location": "Main St" if i <= 20 else "Elm St", "created_at": T} for i in range(1, 41)]
        s.execute(insert(Claim), claims)
        rows = []

        def item(i, claim, category, carc, amount, determined):
            rows.append({"id": i, "dedupe_key": f"k{i}", "kind": "denial", "intake_source": "835", "claim_id": claim,
                         "payer_id": claims[claim - 1]["payer_id"], "category": category, "team": "prior_auth",
                         "carc": carc, "procedure_code": "99213", "amount": Decimal(amount), "dos": date(2026, 10, 14),
                         "determined_on": determined, "priority": 1.0, "action": "work_by_deadline", "state": "new",
                         "is_open": True, "created_at": T, "updated_at": T})

        for n, claim in enumerate((1, 2, 3, 4)):
            item(1 + n, claim, "authorization", "197", "100.00", date(2026, 11, 3))
        item(5, 11, "authorization", "197", "50.00", date(2026, 11, 4))
        item(6, 12, "authorization", "197", "50.00", date(2026, 11, 5))
        item(7, 21, "coding", "16", "30.00", date(2026, 11, 6))
        item(8, 22, "coding", "16", "30.00", date(2026, 10, 28))  # the previous week
        item(9, 23, "coding", "16", "30.00", date(2026, 10, 27))
        item(10, 24, "coding", "16", "30.00", date(2026, 11, 9))  # after the period
        s.execute(insert(WorkItem), rows)
    with db.transaction() as s:
        report = rca(s, SINCE, UNTIL)
    groups = {(g.dimension, g.value): g for g in report.groups}
    auth = groups[("category", "authorization")]
    assert (auth.count, auth.dollars, auth.previous_count, auth.items) == (6, Decimal("500.00"), 0, (1, 2, 3, 4, 5, 6))
    coding = groups[("category", "coding")]
    assert (coding.count, coding.previous_count, coding.change) == (1, 2, -1)
    assert groups[("reason", "CARC 197")].count == 6
    assert groups[("provider", "1111111111")].count == 4 and groups[("provider", "2222222222")].count == 3
    assert groups[("dos_week", "2026-10-12")].count == 7
    assert sum(g.count for g in report.groups if g.dimension == "payer") == 7
    # Every authorization denial came from Main St (its peers have none), and Dr A's rate is 6x Dr B's.
    outliers = {(o.dimension, o.value, o.category): o for o in report.outliers}
    assert set(outliers) == {("provider", "1111111111", "authorization"), ("location", "Main St", "authorization")}
    doctor = outliers[("provider", "1111111111", "authorization")]
    assert (doctor.denials, doctor.claims, doctor.rate) == (4, 10, 0.4) and round(doctor.ratio, 1) == 6.0
    assert outliers[("location", "Main St", "authorization")].peer_rate == 0
    assert "authorization type" in report.as_json()["missing"]["authorization_type"]


def test_report_rca_command_as_csv(db, db_url, tmp_path, monkeypatch):
    import csv
    import io

    from typer.testing import CliRunner

    from cli.main import app
    from core.config import get_settings

    test_groups_change_and_the_provider_whose_authorization_denials_are_3x_its_peers(db)
    monkeypatch.setenv("PAYERFLEET_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("PAYERFLEET_DATABASE_URL", db_url)
    get_settings.cache_clear()
    got = CliRunner().invoke(app, ["report", "rca", "--since", SINCE.isoformat(), "--until", UNTIL.isoformat(),
                                   "--format", "csv"])
    get_settings.cache_clear()
    rows = list(csv.DictReader(io.StringIO(got.stdout)))
    auth = next(r for r in rows if r["kind"] == "group" and (r["dimension"], r["value"]) == ("category", "authorization"))
    assert (auth["count"], auth["dollars"], auth["items"]) == ("6", "500.00", "1 2 3 4 5 6")
    assert {(r["dimension"], r["value"]) for r in rows if r["kind"] == "outlier"} == {
        ("provider", "1111111111"), ("location", "Main St")}
