"""The `payerfleet` command: one root app; each area registers its commands here."""
from __future__ import annotations

import typer

from cli import portals as portals_cli
from cli import accounts, db, doctor, edi, evidence, fleet, ingest, queue, sandbox

app = typer.Typer(help="payerfleet: payer-portal automation fleet and denial store.", no_args_is_help=True)
app.add_typer(db.app, name="db")
app.add_typer(accounts.app, name="accounts")
app.command()(doctor.doctor)
app.add_typer(evidence.app, name="evidence")
app.add_typer(edi.app, name="edi")
queue.register(app)
app.command()(sandbox.sandbox)
app.command("ingest")(ingest.ingest)
fleet.register(app)
app.add_typer(portals_cli.app, name="portals")
