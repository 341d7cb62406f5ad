"""The few dialect differences routing needs: insert-or-ignore and whole-day date arithmetic."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timezone
from functools import lru_cache

from sqlalchemy import Boolean, Date, DateTime, Float, Integer, Numeric, Table, cast, func, literal
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement


def insert_ignore(session: Session, table: Table, rows: Sequence[dict], conflict: Sequence[str]) -> None:
    """Bulk insert (one driver executemany); rows whose unique key already exists are skipped.

    Goes straight to the driver because per-row SQLAlchemy parameter processing was a third of
    routing time at a million items; SQLite values are converted here as SQLAlchemy would store
    them (NUMERIC as REAL, DATE and DATETIME as ISO text in UTC); psycopg takes them as they are.
    """
    if not rows:
        return
    names = list(rows[0])
    sqlite_db = session.get_bind().dialect.name != "postgresql"
    mark = "?" if sqlite_db else "%s"
    sql = (f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join([mark] * len(names))}) "
           f"ON CONFLICT ({', '.join(conflict)}) DO NOTHING")
    params = [[row[n] for n in names] for row in rows]
    if sqlite_db:
        for index, convert in _sqlite_converters(table, names):
            for values in params:
                if values[index] is not None:
                    values[index] = convert(values[index])
    session.connection().exec_driver_sql(sql, [tuple(v) for v in params])


def _sqlite_converters(table: Table, names: list[str]) -> list[tuple[int, Callable]]:
    out = []
    for index, name in enumerate(names):
        kind = table.c[name].type
        if isinstance(kind, Numeric) and not isinstance(kind, Float):
            out.append((index, float))
        elif isinstance(kind, DateTime):
            out.append((index, _sqlite_datetime))
        elif isinstance(kind, Date):
            out.append((index, date.isoformat))
        elif isinstance(kind, Boolean):
            out.append((index, int))
    return out


@lru_cache(maxsize=4096)
def _sqlite_datetime(value: datetime) -> str:
    # Routing stamps thousands of rows with the same few instants: format each once.
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


def days_until(session: Session, column: ColumnElement, today: date) -> ColumnElement:
    """Whole days from `today` to a DATE column (negative when past); NULL stays NULL."""
    if session.get_bind().dialect.name == "postgresql":
        return column - cast(literal(today.isoformat()), postgresql.DATE)
    return cast(func.julianday(column) - func.julianday(literal(today.isoformat())), Integer)
