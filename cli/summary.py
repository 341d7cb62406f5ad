"""`payerfleet summary`: how much was denied, recovered, lost and is still at risk."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import typer

from cli.context import console, database, reports_errors, settings
from cli.output import Column, fitted_table, money


@reports_errors
def summary(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Dollars denied, recovered, written off and still at risk; open items per queue; past SLA."""
    from core.routing import summary as compute

    current = settings()
    with database(current).transaction() as session:
        out = compute(session, now=datetime.now(timezone.utc))
    if as_json:
        typer.echo(json.dumps(out.as_json(), indent=2))
        return
    console.print(f"denied ${out.denied:,.2f} · recovered ${out.recovered:,.2f} · "
                  f"written off ${out.written_off:,.2f} · at risk ${out.at_risk:,.2f}")
    console.print(f"{out.open_items} open items, {out.past_sla} past SLA, {out.follow_ups_due} payer follow-ups due")
    fitted_table([Column("team"), Column("open", 1, "right"), Column("past SLA", 2, "right"),
                  Column("at risk", 0, "right")],
                 [(t.team, t.open, t.past_sla, money(t.at_risk)) for t in out.teams])
