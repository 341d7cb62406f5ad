"""`payerfleet report kpi`: the managers' KPIs for a period, as JSON, CSV or XLSX, for scripts and e-mail."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Optional

import typer

from cli.context import command_group, console, database, fail, reports_errors, settings

app = command_group("Reports for scripts and e-mail: the KPIs and the weekly root-cause analysis.")
FORMATS = ("json", "csv", "xlsx")


def _period(since: Optional[str], until: Optional[str], days: int) -> tuple[date, date]:
    end = _date(until, datetime.now(timezone.utc).date() + timedelta(days=1), "until")
    start = _date(since, end - timedelta(days=days), "since")
    if start >= end:
        raise fail("--since must be before --until", code=2)
    return start, end


def _emit(fmt: str, out: Optional[Path], as_json: dict, table) -> None:
    from core.reports.tables import write_table

    if fmt not in FORMATS:
        raise fail(f"--format must be one of {', '.join(FORMATS)}", code=2)
    if fmt == "xlsx" and out is None:
        raise fail("--format xlsx needs --out FILE", code=2)
    body = (json.dumps(as_json, indent=2, default=str) + "\n").encode() if fmt == "json" else write_table(fmt, *table)
    if out is None:
        typer.echo(body.decode(), nl=False)
    else:
        out.write_bytes(body)
        console.print(f"wrote {out}")


def _date(value: Optional[str], default: date, name: str) -> date:
    try:
        return date.fromisoformat(value) if value else default
    except ValueError:
        raise fail(f"--{name} must be YYYY-MM-DD, got {value!r}", code=2) from None


@app.command("kpi")
@reports_errors
def kpi(since: Optional[str] = typer.Option(None, help="First day (default: 30 days before --until)."),
        until: Optional[str] = typer.Option(None, help="Day after the last (default: tomorrow)."),
        fmt: str = typer.Option("json", "--format", help="json | csv | xlsx"),
        out: Optional[Path] = typer.Option(None, "--out", help="Write here instead of standard output (xlsx needs it).")) -> None:
    """Initial denial rate, clean claim rate, appeal success, days to resolution, denial to appeal, prevented denials."""
    from core.reports.kpi import kpis
    from core.reports.tables import kpi_rows

    start, end = _period(since, until, 30)
    with database(settings()).transaction() as s:
        report = kpis(s, start, end)
    _emit(fmt, out, report.as_json(), ("kpi", *kpi_rows(report)))


@app.command("rca")
@reports_errors
def rca(since: Optional[str] = typer.Option(None, help="First day (default: 7 days before --until)."),
        until: Optional[str] = typer.Option(None, help="Day after the last (default: tomorrow)."),
        fmt: str = typer.Option("json", "--format", help="json | csv | xlsx"),
        out: Optional[Path] = typer.Option(None, "--out", help="Write here instead of standard output (xlsx needs it).")) -> None:
    """Denials grouped by payer, CPT, location, provider, reason, intake, category and DOS week, with outliers."""
    from core.reports.rca import rca as compute
    from core.reports.tables import rca_rows

    start, end = _period(since, until, 7)
    with database(settings()).transaction() as s:
        report = compute(s, start, end)
    _emit(fmt, out, report.as_json(), ("rca", *rca_rows(report)))
