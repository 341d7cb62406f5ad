"""The few dialect differences routing needs: insert-or-ignore and whole-day date arithmetic."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import Integer, Table, cast, func, literal
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement


def insert_ignore(session: Session, table: Table, rows: Sequence[dict], conflict: Sequence[str]) -> None:
    """Bulk insert (executemany); rows whose unique key already exists are skipped, not errors."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    stmt = module.insert(table).on_conflict_do_nothing(index_elements=list(conflict))
    session.execute(stmt, list(rows))


def days_until(session: Session, column: ColumnElement, today: date) -> ColumnElement:
    """Whole days from `today` to a DATE column (negative when past); NULL stays NULL."""
    if session.get_bind().dialect.name == "postgresql":
        return column - cast(literal(today.isoformat()), postgresql.DATE)
    return cast(func.julianday(column) - func.julianday(literal(today.isoformat())), Integer)
