"""`payerfleet accounts`: portal accounts in the vault; nothing here ever prints a secret."""
from __future__ import annotations

import dataclasses
import json

import typer

from cli.context import command_group, console, database, fail, keys, operator, reports_errors, settings
from cli.output import Column, fitted_table

app = command_group("Portal accounts and their encrypted credentials.")


@app.command()
@reports_errors
def add(
    alias: str = typer.Argument(..., help="Your name for the account; the only identifier shown in logs."),
    portal: str = typer.Option(..., help="Portal package name, e.g. availity, uhc, caqh."),
    url: str = typer.Option(..., help="Portal base URL."),
    username: str = typer.Option(..., prompt=True),
    password: str = typer.Option(..., prompt=True, hide_input=True),
    totp_secret: str = typer.Option("", prompt="TOTP secret (empty if none)", hide_input=True),
    authorised: bool = typer.Option(False, help="Confirm automated access to this real portal is authorised."),
) -> None:
    """Add a portal account; credentials are encrypted before they reach the database."""
    from core.vault import Credentials, Vault

    current = settings()
    vault = Vault(database(current), keys(current, create=True))
    creds = Credentials(username=username, password=password, totp_secret=totp_secret or None)
    account_id = vault.add_account(alias=alias, portal=portal, base_url=url, credentials=creds, authorised=authorised)
    console.print(f"added account {alias} (id {account_id}, portal {portal})")


@app.command("list")
@reports_errors
def list_(as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts.")) -> None:
    """List accounts (aliases, portals and which secrets exist; never the secrets)."""
    from core.vault import Vault

    current = settings()
    accounts = Vault(database(current), keys(current)).list_accounts()
    if as_json:
        console.print_json(json.dumps([dataclasses.asdict(a) for a in accounts]))
        return
    yes = {True: "yes", False: "no"}
    fitted_table([Column("alias"), Column("portal", 1), Column("url", 2, wraps=True), Column("authorised", 3),
                  Column("enabled", 3), Column("credentials", 4), Column("saved session", 5)],
                 [(a.alias, a.portal, a.base_url, yes[a.authorised], "yes" if a.enabled else f"no ({a.disabled_reason})",
                   yes[a.has_credentials], yes[a.has_session]) for a in accounts])


@app.command()
@reports_errors
def enable(alias: str = typer.Argument(..., help="The disabled account, once fixed on the portal.")) -> None:
    """Let an account the fleet disabled (bad credentials, locked) log in again; acknowledges its alert."""
    from core.vault import Vault

    current = settings()
    reason = Vault(database(current), keys(current, create=True)).enable(alias, by=operator())
    console.print(f"enabled account {alias}" + (f" (was disabled: {reason})" if reason else " (it was not disabled)"))


@app.command()
@reports_errors
def authorise(alias: str = typer.Argument(..., help="The account whose automated access you have confirmed.")) -> None:
    """Mark an account as authorised for automated access (required for any non-sandbox portal)."""
    from core.vault import Vault

    current = settings()
    Vault(database(current), keys(current, create=True)).authorise(alias, by=operator())
    console.print(f"account {alias} is marked authorised for automation")


@app.command()
@reports_errors
def remove(alias: str) -> None:
    """Remove an account's secrets and disable it (its history stays for audit)."""
    from core.vault import Vault

    current = settings()
    Vault(database(current), keys(current)).remove_account(alias)
    console.print(f"removed account {alias}")


@app.command("rotate-key")
@reports_errors
def rotate_key() -> None:
    """Make a new key, re-encrypt every secret and evidence blob under it, then retire the old key."""
    from core.vault import Vault
    from evidence.blobs import LocalBlobStore, reencrypt_all

    current = settings()
    old = keys(current)
    if old.source == "env":
        raise fail("keys come from PAYERFLEET_SECRET_KEY: put a new key first in that list, then run this again")
    both = old.with_new_primary()
    # Saved first, so a crash at any later point leaves every ciphertext readable.
    both.save(current)
    vault = Vault(database(current), both)
    secrets = vault.reencrypt_all(both)
    blobs = reencrypt_all(LocalBlobStore(current.blob_dir, both), old, both)
    both.primary_only().save(current)
    console.print(f"rotated key: {secrets} secrets and {blobs.reencrypted} evidence blobs re-encrypted")
