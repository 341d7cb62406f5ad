"""`payerfleet evidence`: verify the chain and blobs, export bundles, purge expired traces."""
from __future__ import annotations

from pathlib import Path

import typer

from cli.context import console, database, fail, reports_errors, settings
from evidence import open_blob_store
from evidence.export import Selection, export_bundle
from evidence.traces import purge_expired_traces
from evidence.verify import parse_anchor, verify as run_verify

app = typer.Typer(help="Evidence: verify the hash chain and blobs, export bundles for appeals and custodians.",
                  no_args_is_help=True)


@app.command()
@reports_errors
def verify(
    anchor: list[str] = typer.Option([], "--anchor", help="SEQ:HASH recorded earlier (e.g. a past head); repeatable."),
) -> None:
    """Re-hash every blob and walk the hash chain; exit 1 naming each wrong blob or entry."""
    try:
        anchors = dict(parse_anchor(a) for a in anchor)
    except ValueError as exc:
        raise fail(str(exc), code=2) from None
    current = settings()
    report = run_verify(database(current), open_blob_store(current), actor="cli", anchors=anchors)
    head = f"seq {report.head[0]}, entry hash {report.head[1]}  (anchor: {report.head[0]}:{report.head[1]})" \
        if report.head else "missing"
    console.print(f"entries checked: {report.entries}")
    console.print(f"blobs checked:   {report.blobs_checked}")
    console.print(f"chain head:      {head}")
    if report.unreferenced_blobs:
        console.print(f"unreferenced blobs (stored, named by no entry): {len(report.unreferenced_blobs)}")
        for sha in report.unreferenced_blobs[:20]:
            console.print(f"  {sha}")
    if report.ok:
        console.print("OK: every entry links and hashes correctly and every blob matches its hash", markup=False)
        return
    console.print(f"problems: {len(report.problems)}")
    for problem in report.problems:
        console.print(f"  {problem}", markup=False)
    raise fail(f"evidence verification failed: {len(report.problems)} problem(s)")


@app.command()
@reports_errors
def export(
    appeal: int | None = typer.Option(None, "--appeal", help="Appeal id."),
    claim: int | None = typer.Option(None, "--claim", help="Claim id."),
    run: str | None = typer.Option(None, "--run", help="Automation run id."),
    out: Path | None = typer.Option(None, "--out", help="Zip to create (never overwritten)."),
) -> None:
    """Write a zip of decrypted artifacts, their manifest slice and a sha256sum-based README (PHI!)."""
    if sum(v is not None for v in (appeal, claim, run)) != 1:
        raise fail("give exactly one of --appeal, --claim, --run", code=2)
    current = settings()
    result = export_bundle(database(current), open_blob_store(current),
                           Selection(appeal_id=appeal, claim_id=claim, run_id=run), out=out, actor="cli")
    console.print(f"wrote {result.path}: {result.entries} entries, {result.files} files"
                  + (f", {result.purged} purged traces" if result.purged else ""), markup=False)
    console.print(f"chain head: seq {result.head[0]}, entry hash {result.head[1]}")


@app.command("purge-traces")
@reports_errors
def purge_traces() -> None:
    """Remove Playwright traces older than trace_retention_days (each removal is chained first)."""
    current = settings()
    result = purge_expired_traces(database(current), open_blob_store(current),
                                  retention_days=current.trace_retention_days, actor="cli")
    console.print(f"purged {result.purged} trace(s); {result.kept} within retention")
