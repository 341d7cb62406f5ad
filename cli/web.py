"""`payerfleet web` (the workbench) and `payerfleet users ...` (who may sign in to it)."""
from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from cli.context import command_group, console, database, fail, reports_errors, settings

DEFAULT_PORT = 8765
users_app = command_group("Workbench users: add, list, change role/teams, disable, reset a password.")


def register(app: typer.Typer) -> None:
    app.command()(web)
    app.add_typer(users_app, name="users")


def _settings(data_dir: Optional[Path], database_url: str):
    current = settings()
    changes = {}
    if data_dir is not None:
        changes["data_dir"] = data_dir
    if database_url:
        changes["database_url"] = database_url
    return current.model_copy(update=changes) if changes else current


@reports_errors
def web(host: str = typer.Option("127.0.0.1", help="Address to bind; keep 127.0.0.1 behind a TLS reverse proxy."),
        port: int = typer.Option(DEFAULT_PORT, help="Port to listen on."),
        data_dir: Optional[Path] = typer.Option(None, help="Data directory (default: the configured one)."),
        database_url: str = typer.Option("", help="Database URL (default: the configured one)."),
        secure_cookies: bool = typer.Option(False, help="Mark the session cookie Secure (serving behind HTTPS).")) -> None:
    """Serve the web workbench: queues, item pages, dashboard, fleet pages, users."""
    import uvicorn

    from core.store import migrate
    from fleet.outcomes import consequence_of
    from web.app import create_app

    current = _settings(data_dir, database_url)
    db = database(current)
    if not migrate.is_current(db):
        raise fail("the database schema is not current: run `payerfleet db upgrade`")
    app = create_app(current, secure_cookies=secure_cookies, explain_failure=consequence_of)
    console.print(f"payerfleet workbench on http://{host}:{port}/ (Ctrl-C stops it)")
    uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=True, forwarded_allow_ips="127.0.0.1")


def _teams(current) -> list[str]:
    from core.routing import load_config

    return list(load_config(current).table.teams)


def _password(value: Optional[str]) -> str:
    if value is not None:
        return value
    env = os.environ.get("PAYERFLEET_NEW_PASSWORD")
    return env if env else typer.prompt("password", hide_input=True, confirmation_prompt=True)


@users_app.command("add")
@reports_errors
def users_add(name: str = typer.Argument(...),
              role: str = typer.Option(..., "--role", help="biller | appeal_writer | manager | ops | admin"),
              team: list[str] = typer.Option([], "--team", help="A team this user works (repeat)."),
              password: Optional[str] = typer.Option(None, hidden=True,
                                                     help="Prompted when absent (or PAYERFLEET_NEW_PASSWORD).")) -> None:
    """Add a user who may sign in to the workbench."""
    from core.users import add_user, check_role

    current = settings()
    check_role(role, team, _teams(current))  # before asking for a password
    with database(current).transaction() as s:
        user = add_user(s, name, _password(password), role, team, known_teams=_teams(current),
                        actor=f"cli:{os.environ.get('USER', 'operator')}", now=datetime.now(timezone.utc))
        console.print(f"added {user.name} ({user.role}{': ' + ', '.join(user.teams) if user.teams else ''})")


@users_app.command("list")
@reports_errors
def users_list() -> None:
    """List users, their roles and teams."""
    from core.users import list_users

    with database().transaction() as s:
        table = Table("name", "role", "teams", "enabled")
        for u in list_users(s):
            table.add_row(u.name, u.role, ", ".join(u.teams), "yes" if u.enabled else "no")
    console.print(table)


@users_app.command("set")
@reports_errors
def users_set(name: str = typer.Argument(...),
              role: Optional[str] = typer.Option(None, "--role"),
              team: list[str] = typer.Option([], "--team", help="Replace the user's teams (repeat)."),
              disable: bool = typer.Option(False, "--disable"), enable: bool = typer.Option(False, "--enable"),
              new_password: bool = typer.Option(False, "--password", help="Prompt for a new password.")) -> None:
    """Change a user's role or teams, disable or enable them, or reset their password."""
    from core.users import update_user

    if disable and enable:
        raise fail("give --disable or --enable, not both", code=2)
    current = settings()
    with database(current).transaction() as s:
        update_user(s, name, actor=f"cli:{os.environ.get('USER', 'operator')}", now=datetime.now(timezone.utc),
                    known_teams=_teams(current), role=role, teams=team or None,
                    enabled=True if enable else (False if disable else None),
                    password=_password(None) if new_password else None)
    console.print(f"changed {name}")
