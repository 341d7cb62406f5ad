"""`payerfleet ingest PATH...`: X12 files or inbox folders into the store."""
from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from cli.context import console, database, err_console, reports_errors, settings


@reports_errors
def ingest(
    paths: list[Path] = typer.Argument(..., exists=True, help="X12 files and/or folders (read recursively)."),
) -> None:
    """Ingest 835 / 277CA / 837 files; each file is one transaction, re-ingesting changes nothing."""
    from core.edi.catalogs import load_catalog
    from core.ingest import expand, ingest_file

    current = settings()
    db = database(current)
    catalog = load_catalog(current.data_dir)
    table = Table("file", "status", "transactions", "claims", "denied lines", "rejections", "flags")
    failed = 0
    for path in expand(paths):
        report = ingest_file(db, path, catalog=catalog)
        if not report.ok:
            failed += 1
            err_console.print(f"error: {report.error}", markup=False, highlight=False)
        tx = str(report.transactions)
        if report.duplicate_transactions or report.unsupported_transactions:
            tx += f" ({report.duplicate_transactions} dup, {report.unsupported_transactions} skipped)"
        table.add_row(str(path), report.status, tx, str(report.claims), str(report.denied_lines),
                      str(report.rejections), str(report.flags))
    console.print(table)
    if failed:
        raise typer.Exit(1)
