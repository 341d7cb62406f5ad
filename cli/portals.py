"""`payerfleet portals`: list registered portals, check one for drift, scaffold a new one."""
from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import typer

from cli.context import command_group, console, database, fail, keys, reports_errors, settings
from cli.output import Column, fitted_table

app = command_group("Payer portal packages: list, drift check, scaffold.")


def reports_portal_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Typed portal failures become one line and exit code 1 (portals/ has its own error root)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from portals.errors import PortalError

        try:
            return func(*args, **kwargs)
        except PortalError as exc:
            raise fail(f"{type(exc).__name__}: {exc} (consequence: {exc.consequence.value})") from None

    return wrapper


@app.command("list")
@reports_errors
@reports_portal_errors
def list_() -> None:
    """Registered portals and the capabilities each declares."""
    from portals import registry

    fitted_table([Column("name"), Column("title", 2), Column("capabilities", 1, wraps=True),
                  Column("landmarks", 3, wraps=True)],
                 [(p.name, p.title, ", ".join(sorted(p.capabilities)), ", ".join(lm.name for lm in p.landmarks))
                  for p in registry.default_registry().all()])


@app.command()
@reports_errors
@reports_portal_errors
def check(
    name: str = typer.Argument(..., help="Portal package name."),
    account: str = typer.Option("", help="Account alias whose vault credentials the canary uses."),
    url: str = typer.Option("", help="Base URL (with --username/--password/--totp-secret, e.g. a sandbox)."),
    username: str = typer.Option(""),
    password: str = typer.Option("", hide_input=True),
    totp_secret: str = typer.Option("", hide_input=True),
    record: bool = typer.Option(False, help="Store the current structure as the new baseline."),
    baselines: Path = typer.Option(None, help="Baseline folder (default: the portal package's landmarks/)."),
    out: Path = typer.Option(None, help="Where screenshots of changed landmarks go (default: <data_dir>/drift)."),
) -> None:
    """Run a canary session and report which landmark pages changed structure (exit 1 if any)."""
    import asyncio

    from portals import registry
    from portals.drift import check as drift_check
    from portals.session import PortalSession, memory_state_store

    portal = registry.get(name)
    current = settings()
    if account:
        from automations.portal_session import state_store
        from core.vault import Vault

        vault = Vault(database(current), keys(current))
        account_id = vault.account_id(account)
        info = next(a for a in vault.list_accounts() if a.id == account_id)
        base_url, creds, state = info.base_url, vault.get_credentials(account_id), state_store(vault, account_id)
        account_key = str(account_id)
    elif url and username and password:
        from core.vault import Credentials

        base_url = url
        creds = Credentials(username=username, password=password, totp_secret=totp_secret or None)
        state, _ = memory_state_store()
        account_key = f"canary:{name}:{url}"
    else:
        raise fail("give --account ALIAS, or --url with --username and --password")
    directory = baselines or portal.baseline_dir
    if directory is None:
        raise fail(f"portal {name} has no baseline folder; pass --baselines")

    async def run():
        from playwright.async_api import async_playwright

        from portals.browser import find_chromium

        async with async_playwright() as pw:
            browser = await pw.chromium.launch(**find_chromium(current.browser_executable).launch_kwargs())
            try:
                async with PortalSession(browser, portal, base_url=base_url, credentials=creds, state=state,
                                         account_key=account_key, block_images=False) as session:
                    return await drift_check(session, portal, Path(directory), record=record)
            finally:
                await browser.close()

    reports = asyncio.run(run())
    shots = out or current.data_dir / "drift" / name / datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    rows = []
    for report in reports:
        detail = report.error
        if report.screenshot is not None and report.status in ("changed", "unreachable"):
            shots.mkdir(parents=True, exist_ok=True)
            path = shots / f"{report.name}.png"
            path.write_bytes(report.screenshot)
            detail = f"{detail} screenshot: {path}".strip()
        rows.append((report.name, report.status, detail))
    fitted_table([Column("landmark"), Column("status"), Column("detail", 1, wraps=True)], rows)
    for report in reports:
        if report.diff:
            console.print(report.diff, markup=False, highlight=False)
    if any(r.status in ("changed", "unreachable") for r in reports):
        raise typer.Exit(1)


NAME_RE = re.compile(r"^[a-z][a-z0-9_]{1,30}$")


@app.command()
@reports_errors
@reports_portal_errors
def new(
    name: str = typer.Argument(..., help="Package name: lower case, digits and underscores."),
    title: str = typer.Option("", help="Human title (default: the name, capitalised)."),
    dest: Path = typer.Option(Path(__file__).resolve().parents[1] / "portals", help="Folder to create it in."),
) -> None:
    """Create a portal package from the template (login + claim status), ready for the contract tests."""
    from portals import registry
    from portals.scaffold import create

    if not NAME_RE.match(name):
        raise fail(f"{name!r} is not a valid portal name (lower case letters, digits, underscores)")
    if name in registry.names():
        raise fail(f"a portal named {name!r} is already registered")
    created = create(name, title or name.replace("_", " ").title(), dest)
    for path in created:
        console.print(f"created {path}")
    console.print(f'next: add "portals.{name}" to BUILTIN in portals/registry.py, then see docs/adding-a-portal.md')
