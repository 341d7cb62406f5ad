"""The `payerfleet` command: one root app; each area registers its commands here."""
from __future__ import annotations

import typer

app = typer.Typer(help="payerfleet: payer-portal automation fleet and denial store.", no_args_is_help=True)
