"""A queue view written out as CSV or XLSX: every row of the filter, in the page's order."""
from __future__ import annotations

from sqlalchemy.orm import Session

from core.edi.catalogs import Catalog
from core.reports.tables import write_table
from core.routing.worklist import QueueView, iter_view

FORMATS = {"csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
COLUMNS = ("id", "kind", "team", "category", "payer", "carc", "carc_meaning", "amount", "due_on", "appeal_deadline",
           "sla_due_at", "priority", "action", "state", "owner")


def render(session: Session, view: QueueView, fmt: str, catalog: Catalog) -> tuple[bytes, int]:
    """(file bytes, rows written)."""
    count = 0

    def rows():
        nonlocal count
        for row in iter_view(session, view):
            count += 1
            yield [row.id, row.kind, row.team, row.category, row.payer or "", row.carc or "",
                   catalog.describe("carc", row.carc) if row.carc else "", row.amount, row.due_on,
                   row.appeal_deadline, row.sla_due_at.replace(tzinfo=None) if row.sla_due_at else None,
                   round(row.priority, 2), row.action, row.state, row.owner or ""]

    body = write_table(fmt, view.team, COLUMNS, rows())
    return body, count
