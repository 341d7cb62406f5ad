"""`payerfleet doctor`: checks what a run needs and says how to fix what is wrong."""
from __future__ import annotations

import sys
from dataclasses import dataclass

import typer
from rich.text import Text

from cli.context import console, settings
from cli.output import Column, fitted_table
from core.errors import PayerfleetError


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def _python() -> Check:
    ok = sys.version_info >= (3, 11)
    return Check("python", ok, sys.version.split()[0], "" if ok else "install Python 3.11 or newer")


def _browser(configured: str) -> Check:
    from portals.browser import BrowserUnavailable, find_chromium

    try:
        choice = find_chromium(configured)
    except BrowserUnavailable as exc:
        return Check("browser", False, str(exc), "run `./dev bootstrap` (finds or installs Chromium)")
    return Check("browser", True, f"{choice.source}: {choice.executable_path or 'Playwright-managed Chromium'}")


def _database(url: str) -> Check:
    from core.store import migrate
    from core.store.db import Database

    db = Database(url)
    try:
        db.ping()
        rev, head = migrate.current_revision(db), migrate.head_revision(db)
    except PayerfleetError as exc:
        return Check("database", False, str(exc), "start the database or fix PAYERFLEET_DATABASE_URL")
    finally:
        db.dispose()
    if rev != head:
        return Check("database", False, f"{db.dialect} at {rev or 'empty'}, latest is {head}", "run `payerfleet db upgrade`")
    return Check("database", True, f"{db.dialect}, schema {rev} (latest)")


def _key(current) -> Check:
    from core.crypto import KeyRing

    try:
        ring = KeyRing.load(current)
    except PayerfleetError as exc:
        return Check("key", False, str(exc), "set PAYERFLEET_SECRET_KEY or run `payerfleet accounts add` to create a key file")
    if ring.source != "env":
        mode = current.key_file.stat().st_mode & 0o777
        if mode & 0o077:
            return Check("key", False, f"{ring.source} is mode {mode:o}", f"chmod 600 {ring.source}")
    return Check("key", True, f"{len(ring.keys)} key(s) from {ring.source}")


def doctor() -> None:
    """Check Python, the browser, the database and migrations, and the encryption key."""
    current = settings()
    checks = [_python(), _browser(current.browser_executable), _database(current.db_url), _key(current)]
    fitted_table([Column("check"), Column("status"), Column("detail", 1, wraps=True), Column("how to fix", 2, wraps=True)],
                 [(c.name, Text("ok", "green") if c.ok else Text("FAIL", "red"), c.detail, c.fix) for c in checks])
    console.print(f"data directory: {current.data_dir.resolve()}")
    if not all(c.ok for c in checks):
        raise typer.Exit(1)
