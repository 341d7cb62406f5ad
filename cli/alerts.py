"""`payerfleet alerts list | ack ID`: what the fleet needs an operator for."""
from __future__ import annotations

import json

import typer

from cli.context import command_group, console, database, operator, reports_errors, settings
from cli.output import Column, fitted_table

app = command_group("Alerts: disabled accounts, paused capabilities, failed runs.")


@app.command("list")
@reports_errors
def list_(
    all_: bool = typer.Option(False, "--all", help="Include acknowledged alerts."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Open alerts, newest first."""
    from core import alerts

    items = alerts.list_alerts(database(settings()), include_acked=all_)
    if as_json:
        console.print_json(json.dumps([a.as_dict() for a in items]))
        return
    if not items:
        console.print("no open alerts")
        return
    fitted_table([Column("id"), Column("kind", 1), Column("subject", 2), Column("message", 3, wraps=True),
                  Column("raised", 4), Column("severity", 5), Column("acked by", 6)],
                 [(str(a.id), a.kind, a.subject, a.message, a.raised_at.strftime("%Y-%m-%d %H:%M"), a.severity,
                   a.acked_by or "") for a in items])


@app.command()
@reports_errors
def ack(alert_id: int = typer.Argument(..., help="The alert's id (see `payerfleet alerts list`).")) -> None:
    """Acknowledge an alert; for a paused capability this resumes it."""
    from core import alerts

    got = alerts.ack(database(settings()), alert_id, by=operator())
    resumed = " (capability resumed)" if got.kind == alerts.CAPABILITY_PAUSED else ""
    console.print(f"acknowledged alert {got.id}: {got.subject}{resumed}")
