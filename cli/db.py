"""`payerfleet db`: schema migrations (the only way the schema is created or changed)."""
from __future__ import annotations

import typer

from cli.context import command_group, console, database, reports_errors, settings

app = command_group("Database schema migrations.")


@app.command()
@reports_errors
def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Create or upgrade the schema to the latest migration (and Procrastinate's, on PostgreSQL)."""
    from core.store import migrate

    current = settings()
    db = database(current)
    db.ping()
    before = migrate.current_revision(db)
    migrate.upgrade(db, revision)
    after = migrate.current_revision(db)
    console.print(f"database {db.dialect}: {before or 'empty'} -> {after}")
    if db.dialect == "postgresql" and revision == "head":
        from fleet.procrastinate_schema import upgrade_schema

        applied = upgrade_schema(db)
        if applied:
            console.print(f"Procrastinate schema: applied {len(applied)} migration(s), {applied[0]} .. {applied[-1]}")


@app.command()
@reports_errors
def current() -> None:
    """Show the schema revision and whether it is the latest."""
    from core.store import migrate

    db = database()
    db.ping()
    rev, head = migrate.current_revision(db), migrate.head_revision(db)
    console.print(f"current: {rev or 'empty'}  latest: {head}  {'up to date' if rev == head else 'run `payerfleet db upgrade`'}")
