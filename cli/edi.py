"""`payerfleet edi`: parse an X12 file for scripts and support; load newer code lists."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import typer

from cli.context import command_group, console, fail, reports_errors, settings

app = command_group("X12 files: parse 835 / 277CA / 837 and manage code lists.")


@app.command()
@reports_errors
def parse(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="X12 file to read."),
    as_json: bool = typer.Option(False, "--json", help="Print the documented JSON (docs/edi.md)."),
) -> None:
    """Read FILE and print its transactions (a summary, or the stable JSON with --json)."""
    from core.edi.catalogs import load_catalog
    from core.edi.json_out import to_json
    from core.edi.read import EdiReader

    reader = EdiReader(file, filename=str(file), catalog=load_catalog(settings().data_dir))
    transactions = reader.read_all()
    if as_json:
        typer.echo(json.dumps(to_json(transactions), indent=2))
        return
    for flag in reader.flags:
        console.print(f"file flag: {flag}", markup=False)
    for t in transactions:
        console.print(_summary(t), markup=False)
        for flag in t.flags:
            console.print(f"  flag: {flag}", markup=False)


def _summary(t) -> str:
    from core.edi.json_out import money
    from core.edi.records import Acknowledgment, ClaimSubmission, OtherTransaction, Remittance

    if isinstance(t, Remittance):
        denied = sum(1 for c in t.claims if c.status == "4")
        return (f"835 {t.version} ST {t.control_number}: payment {money(t.payment.amount)} {t.payment.method}, "
                f"{len(t.claims)} claims ({denied} denied), {len(t.provider_adjustments)} PLB")
    if isinstance(t, Acknowledgment):
        rejected = sum(1 for c in t.claims if c.rejected)
        return f"277CA ST {t.control_number}: {len(t.claims)} claims ({rejected} rejected), {len(t.batches)} batches"
    if isinstance(t, ClaimSubmission):
        return f"{t.kind} {t.version} ST {t.control_number}: {len(t.claims)} claims"
    assert isinstance(t, OtherTransaction)
    return f"{t.type} {t.version} ST {t.control_number}: not read ({t.reason})"


codes = command_group("Code lists (CARC, RARC, PLB reasons, groups, claim status).")
app.add_typer(codes, name="codes")


@codes.command("load")
@reports_errors
def codes_load(
    kind: str = typer.Argument(..., help="Code list kind: carc, rarc, ... (a wrong one names them all)."),
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="CSV: code[,description,start_date,stop_date]."),
) -> None:
    """Check FILE and install it as the operator's newer list of KIND (replaces the shipped one)."""
    from core.edi.catalogs import parse_code_list

    code_list = parse_code_list(kind, file.read_text(encoding="utf-8"), source=str(file))
    target = settings().data_dir / "codes" / f"{kind}.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(file, target)
    console.print(f"installed {len(code_list.entries)} {kind} codes at {target}", markup=False)


@codes.command("show")
@reports_errors
def codes_show(kind: str = typer.Argument(...), code: str = typer.Argument(...)) -> None:
    """Print one code's description and dates from the active list."""
    from core.edi.catalogs import KINDS, load_catalog

    catalog = load_catalog(settings().data_dir)
    if kind not in catalog.lists:
        raise fail(f"unknown kind {kind!r}; one of {', '.join(KINDS)}", code=2)
    entry = catalog.lists[kind].entries.get(code)
    if entry is None:
        raise fail(f"{kind} {code} is not in the active list")
    console.print(f"{code}: {entry.description} (start {entry.start or '-'}, stop {entry.stop or '-'})", markup=False)
