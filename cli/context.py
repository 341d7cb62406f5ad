"""What every command needs: settings, database, keys, a console, and typed-error reporting.

Every command module imports this one while `payerfleet --help` runs, so it imports only typer, Rich's
console and core.errors; settings, the store and the key ring are imported when a command asks for them
(see ARCHITECTURE.md, "CLI start-up").
"""
from __future__ import annotations

import functools
import getpass
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from rich.console import Console
from rich.text import Text

from core.errors import PayerfleetError

if TYPE_CHECKING:
    from core.config import Settings
    from core.crypto import KeyRing
    from core.store.db import Database

# Markup off: what a command prints (names, file paths, error texts) may hold brackets, and Rich
# markup would eat them ("[fleet] backend"); styles go in Text objects instead.
console = Console(markup=False)
err_console = Console(stderr=True, markup=False)
F = TypeVar("F", bound=Callable[..., Any])


def command_group(help: str) -> typer.Typer:
    """A command or group of commands. Help is plain text: no Rich markup (a bracketed word in a help
    text prints as written) and no Rich help renderer to import, which halves `--help`'s start-up."""
    return typer.Typer(help=help, no_args_is_help=True, rich_markup_mode=None)


def settings() -> Settings:
    from core import logging as pf_logging
    from core.config import get_settings

    current = get_settings()
    pf_logging.configure(current.log_format, current.log_level)
    return current


def database(current: Settings | None = None) -> Database:
    from core.store.db import Database

    return Database((current or settings()).db_url)


def keys(current: Settings | None = None, *, create: bool = False) -> KeyRing:
    from core.crypto import KeyRing

    return KeyRing.load(current or settings(), create=create)


def operator() -> str:
    """Who is at the keyboard, for audit and alert acknowledgements."""
    return f"cli:{getpass.getuser()}"


def fail(message: str, code: int = 1) -> typer.Exit:
    err_console.print(Text.assemble(("error:", "bold red"), " ", message))
    return typer.Exit(code)


def reports_errors(func: F) -> F:
    """Turn typed payerfleet errors into one clear line and exit code 1, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except PayerfleetError as exc:
            raise fail(f"{type(exc).__name__}: {exc}") from None

    return wrapper  # type: ignore[return-value]
