"""The `payerfleet` command: one root app; each area registers its commands here.

Importing this module must stay cheap (`payerfleet --help` answers in well under 0.3 s): command
modules import only the standard library, typer, rich and cli.context at module level, and what a
command needs inside its function. tests/test_cli_startup.py fails when a heavy module sneaks in.
"""
from __future__ import annotations

from cli import portals as portals_cli
from cli import accounts, alerts, db, doctor, edi, evidence, fleet, ingest, queue, report, sandbox, web
from cli.context import command_group

app = command_group("payerfleet: payer-portal automation fleet and denial store.")
app.add_typer(db.app, name="db")
app.add_typer(accounts.app, name="accounts")
app.add_typer(alerts.app, name="alerts")
app.command()(doctor.doctor)
app.add_typer(evidence.app, name="evidence")
app.add_typer(edi.app, name="edi")
queue.register(app)
app.command()(sandbox.sandbox)
app.command("ingest")(ingest.ingest)
fleet.register(app)
app.add_typer(portals_cli.app, name="portals")
web.register(app)
app.add_typer(report.app, name="report")
