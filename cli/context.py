"""What every command needs: settings, database, keys, a console, and typed-error reporting."""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console

from core import logging as pf_logging
from core.config import Settings, get_settings
from core.crypto import KeyRing
from core.errors import PayerfleetError
from core.store.db import Database

console = Console()
err_console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


def settings() -> Settings:
    current = get_settings()
    pf_logging.configure(current.log_format, current.log_level)
    return current


def database(current: Settings | None = None) -> Database:
    return Database((current or settings()).db_url)


def keys(current: Settings | None = None, *, create: bool = False) -> KeyRing:
    return KeyRing.load(current or settings(), create=create)


def fail(message: str, code: int = 1) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}")
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
