"""`payerfleet report kpi`: the managers' KPIs for a period, as JSON, CSV or XLSX, for scripts and e-mail."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Optional

import typer

from cli.context import command_group, console, database, fail, reports_errors, settings

app = command_group("Reports for scripts and e-mail: the KPIs.")
FORMATS = ("json", "csv", "xlsx")


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
    from core.reports.tables import kpi_rows, write_table

    if fmt not in FORMATS:
        raise fail(f"--format must be one of {', '.join(FORMATS)}", code=2)
    if fmt == "xlsx" and out is None:
        raise fail("--format xlsx needs --out FILE", code=2)
    end = _date(until, datetime.now(timezone.utc).date() + timedelta(days=1), "until")
    start = _date(since, end - timedelta(days=30), "since")
    if start >= end:
        raise fail("--since must be before --until", code=2)
    with database(settings()).transaction() as s:
        report = kpis(s, start, end)
    if fmt == "json":
        body = (json.dumps(report.as_json(), indent=2, default=str) + "\n").encode()
    else:
        body = write_table(fmt, "kpi", *kpi_rows(report))
    if out is None:
        typer.echo(body.decode(), nl=False)
    else:
        out.write_bytes(body)
        console.print(f"wrote {out}")
