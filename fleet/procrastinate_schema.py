"""Procrastinate's own schema in the payerfleet database: installed once, upgraded with the library.

Procrastinate ships its whole schema (schema.sql, for an empty database) and one SQL file per
change since (sql/migrations/<version>_<nn>_<name>.sql), and records neither. payerfleet records
the files a database has in `procrastinate_migrations`:
- a worker installs the schema into a database that has none and records every file as applied;
- a worker refuses to start (ProcrastinateSchemaOutdated) when the installed library has files the
  database lacks, so an upgraded worker never runs against an old schema;
- `payerfleet db upgrade` applies the missing files in name order, all in one transaction (nothing
  half-applied), under the same advisory lock as the install.
A schema installed before this record existed is taken to be the installed library's (logged once).
"""
from __future__ import annotations

from importlib import resources

import structlog
from sqlalchemy import Connection, insert, select, text

from core.store.db import Database
from core.store.models import ProcrastinateMigration, utcnow
from fleet.errors import ProcrastinateSchemaOutdated

log = structlog.get_logger()

_LOCK_ID = 7_004_118
_MIGRATIONS = "procrastinate.sql.migrations"


def library_migrations() -> list[str]:
    """The installed library's migration files, in the order they apply."""
    return sorted(f.name for f in resources.files(_MIGRATIONS).iterdir() if f.name.endswith(".sql"))


def ensure_schema(db: Database) -> bool:
    """Install the schema into a database without one (True), or check it is current (False)."""
    with db.engine.begin() as conn:
        applied = _locked_state(conn)
        if applied is None:
            from procrastinate.schema import SchemaManager

            _execute(conn, SchemaManager.get_schema())
            _record(conn, library_migrations())
            log.info("procrastinate.schema_installed", action="install", migrations=len(library_migrations()))
            return True
        missing = [name for name in library_migrations() if name not in applied]
        if missing:
            raise ProcrastinateSchemaOutdated(
                f"the database's Procrastinate schema lacks {len(missing)} migration(s) of the installed library "
                f"({missing[0]}{' .. ' + missing[-1] if len(missing) > 1 else ''}): run `payerfleet db upgrade`")
    return False


def upgrade_schema(db: Database) -> list[str]:
    """Apply the installed library's missing migration files (none when no schema is installed yet)."""
    with db.engine.begin() as conn:
        applied = _locked_state(conn)
        if applied is None:
            return []
        missing = [name for name in library_migrations() if name not in applied]
        for name in missing:
            try:
                _execute(conn, (resources.files(_MIGRATIONS) / name).read_text(encoding="utf-8"))
            except Exception as exc:
                raise ProcrastinateSchemaOutdated(f"Procrastinate migration {name} failed, nothing was applied: "
                                                  f"{type(exc).__name__}: {str(exc).splitlines()[0]}") from exc
        _record(conn, missing)
    if missing:
        log.info("procrastinate.schema_upgraded", action="upgrade", migrations=missing)
    return missing


def _locked_state(conn: Connection) -> set[str] | None:
    """Take the schema lock; the applied file names, or None when Procrastinate has no schema here."""
    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_ID})
    if conn.execute(text("SELECT to_regclass('procrastinate_jobs')")).scalar() is None:
        return None
    applied = set(conn.scalars(select(ProcrastinateMigration.name)))
    if not applied:
        # Installed before payerfleet kept this record: by the library that was installed then.
        _record(conn, library_migrations())
        log.warning("procrastinate.schema_untracked", action="install",
                    detail="schema predates the migration record; taken as the installed library's")
        applied = set(library_migrations())
    return applied


def _record(conn: Connection, names: list[str]) -> None:
    if names:
        conn.execute(insert(ProcrastinateMigration), [{"name": n, "applied_at": utcnow()} for n in names])


def _execute(conn: Connection, sql: str) -> None:
    # Through the driver without parameters: the files' '%' signs are not placeholders.
    with conn.connection.dbapi_connection.cursor() as cur:
        cur.execute(sql)
