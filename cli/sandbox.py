"""`payerfleet sandbox`: run the three sandbox portals locally, or export the generated data."""
from __future__ import annotations

import signal
import threading
from datetime import date
from pathlib import Path
from typing import Optional

import typer


def sandbox(
    seed: int = typer.Option(1, help="Generator seed; the same seed gives the same data."),
    claims: Optional[int] = typer.Option(None, min=0, show_default="the generator's",
                                         help="How many claims to generate."),
    availity_port: int = typer.Option(8701, help="Port of the Availity-like portal (0 = any free port)."),
    uhc_port: int = typer.Option(8702, help="Port of the UHC-like portal (0 = any free port)."),
    caqh_port: int = typer.Option(8703, help="Port of the CAQH-like portal (0 = any free port)."),
    token: str = typer.Option("", help="Control API token (default: a random one, printed)."),
    export: Path | None = typer.Option(None, help="Write dataset.json and the 837P/835/277CA files here, then exit."),
) -> None:
    """Start the sandbox payer portals on 127.0.0.1 and print their URLs and demo accounts (Ctrl-C stops)."""
    from fixtures.generator import DEFAULT_CLAIMS

    claims = DEFAULT_CLAIMS if claims is None else claims
    if export is not None:
        from fixtures.generator import generate
        from fixtures.generator.export import export as write_export

        written = write_export(generate(seed, claims), export)
        typer.echo(f"wrote {len(written)} files to {export}")
        return
    from fixtures.sandbox import running

    ports = {"availity": availity_port, "uhc": uhc_port, "caqh": caqh_port}
    try:
        context = running(seed=seed, claims=claims, token=token or None, ports=ports)
        sandbox_ = context.__enter__()
    except OSError as exc:
        typer.echo(f"could not start the sandbox: {exc} (choose other ports with --availity-port etc.)", err=True)
        raise typer.Exit(1) from exc
    try:
        typer.echo(f"payerfleet sandbox: seed {seed}, {claims} claims (synthetic data; sandbox-only credentials)")
        typer.echo(f"control API token: {next(iter(sandbox_.portals.values())).token}")
        for handle in sandbox_.portals.values():
            typer.echo(f"\n{handle.name}: {handle.login_url}")
            typer.echo(f"  control API: {handle.base_url}/__control/state")
            for account in handle.accounts:
                typer.echo(f"  user {account.username}  password {account.password}  TOTP secret {account.totp_secret}")
        typer.echo("\nPress Ctrl-C to stop.")
        stop = threading.Event()
        # Ctrl-C and SIGTERM both end the wait; the servers then shut down in `finally`.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        while not stop.wait(0.5):
            pass
        typer.echo("stopping sandbox")
    finally:
        context.__exit__(None, None, None)


def ingest_submissions(db, sandbox, today: date) -> dict:
    """The 837P batches the sandbox practice sent up to today, through the same ingestion as the inbox."""
    from sqlalchemy import func, select

    from core.ingest import ingest_bytes
    from core.store.models import Claim
    from fixtures.generator.x12 import claim_files

    files = [f for f in claim_files(sandbox.availity.state.dataset) if f.created <= today]
    for f in files:
        ingest_bytes(db, f.data, filename=f.name, provenance="clearinghouse:submission-batch")
    with db.transaction() as s:
        claims = s.scalar(select(func.count(Claim.id)))
    return {"files": len(files), "claims": claims}


def portal_payers(portal: str) -> list[str]:
    """Store payer codes (as ingestion names them from the 837s) of the payers whose claims `portal` shows."""
    from core.ingest import payer_code
    from fixtures.generator import codes

    return sorted(payer_code(p.name, p.edi_id) for p in codes.PAYERS if p.portal == portal)
