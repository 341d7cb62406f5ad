"""`payerfleet evidence`: verify the chain and blobs, export bundles, purge expired traces."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer


from cli.context import command_group, console, database, fail, reports_errors, settings
from cli.output import Column, fitted_table

if TYPE_CHECKING:
    from evidence.export import Selection

app = command_group("Evidence: verify the hash chain and blobs, export bundles for appeals and custodians.")


@app.command()
@reports_errors
def verify(
    anchor: list[str] = typer.Option([], "--anchor", help="SEQ:HASH recorded earlier (e.g. a past head); repeatable."),
) -> None:
    """Re-hash every blob and walk the hash chain; exit 1 naming each wrong blob or entry."""
    from evidence import open_blob_store
    from evidence.verify import parse_anchor, verify as run_verify

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
    from evidence import open_blob_store
    from evidence.export import export_bundle

    selection = _selection(appeal, claim, run)
    current = settings()
    result = export_bundle(database(current), open_blob_store(current), selection, out=out, actor="cli")
    console.print(f"wrote {result.path}: {result.entries} entries, {result.files} files"
                  + (f", {result.purged} purged traces" if result.purged else ""), markup=False)
    console.print(f"chain head: seq {result.head[0]}, entry hash {result.head[1]}")


@app.command("purge-traces")
@reports_errors
def purge_traces() -> None:
    """Remove Playwright traces older than trace_retention_days (each removal is chained first) and stale scratch."""
    from evidence import open_blob_store
    from evidence.traces import purge_expired_traces, purge_scratch

    current = settings()
    store = open_blob_store(current)
    result = purge_expired_traces(database(current), store, retention_days=current.trace_retention_days, actor="cli")
    stale = purge_scratch(store)
    console.print(f"purged {result.purged} trace(s); {result.kept} within retention; {stale} stale scratch file(s) removed")


def _selection(appeal: int | None, claim: int | None, run: str | None) -> Selection:
    from evidence.export import Selection

    if sum(v is not None for v in (appeal, claim, run)) != 1:
        raise fail("give exactly one of --appeal, --claim, --run", code=2)
    return Selection(appeal_id=appeal, claim_id=claim, run_id=run)


@app.command("list")
@reports_errors
def list_(
    appeal: int | None = typer.Option(None, "--appeal", help="Appeal id."),
    claim: int | None = typer.Option(None, "--claim", help="Claim id."),
    run: str | None = typer.Option(None, "--run", help="Automation run id."),
) -> None:
    """List the manifest entries linked to an appeal, claim or run (no PHI: steps, kinds, sizes, hashes)."""
    from evidence.manifest import entries_for

    sel = _selection(appeal, claim, run)
    db = database(settings())
    with db.transaction() as session:
        entries = entries_for(session, appeal_id=sel.appeal_id, claim_id=sel.claim_id, run_id=sel.run_id)
    fitted_table([Column("seq", 0, "right"), Column("captured (UTC)", 3), Column("step", 1), Column("what", 2),
                  Column("bytes", 4, "right"), Column("sha256", 5)],
                 [(e.seq, e.body["created_at"][:19], e.data.get("step", ""),
                   e.data.get("artifact") or e.data.get("event") or e.kind, e.data.get("size", ""),
                   (e.blob_sha256 or "")[:16]) for e in entries])
    console.print(f"{len(entries)} entries")


@app.command()
@reports_errors
def show(
    seq: int = typer.Argument(..., help="Manifest entry seq (see `evidence list`)."),
    out: Path = typer.Option(..., "--out", help="File to write the decrypted artifact to (never overwritten)."),
) -> None:
    """Decrypt one artifact to a file, checked against its hash; recorded as evidence.viewed."""
    from evidence import open_blob_store
    from evidence.access import view_artifact
    from evidence.export import write_new_private

    if out.exists():
        raise fail(f"{out} already exists", code=2)
    current = settings()
    entry, data = view_artifact(database(current), open_blob_store(current), seq, actor="cli")
    write_new_private(out, data)
    console.print(f"wrote {out}: entry {entry.seq}, {len(data)} bytes, sha256 {entry.blob_sha256}", markup=False)
