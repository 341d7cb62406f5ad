"""A queue view written out as CSV or XLSX: every row of the filter, in the page's order."""
from __future__ import annotations

import csv
import io

from openpyxl import Workbook
from sqlalchemy.orm import Session

from core.edi.catalogs import Catalog
from core.routing.worklist import QueueView, iter_view

FORMATS = {"csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
COLUMNS = ("id", "kind", "team", "category", "payer", "carc", "carc_meaning", "amount", "due_on", "appeal_deadline",
           "sla_due_at", "priority", "action", "state", "owner")


def _values(row, catalog: Catalog) -> list:
    return [row.id, row.kind, row.team, row.category, row.payer or "", row.carc or "",
            catalog.describe("carc", row.carc) if row.carc else "", row.amount, row.due_on, row.appeal_deadline,
            row.sla_due_at.replace(tzinfo=None) if row.sla_due_at else None, round(row.priority, 2), row.action,
            row.state, row.owner or ""]


def render(session: Session, view: QueueView, fmt: str, catalog: Catalog) -> tuple[bytes, int]:
    """(file bytes, rows written)."""
    rows = 0
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        for row in iter_view(session, view):
            writer.writerow(["" if v is None else v for v in _values(row, catalog)])
            rows += 1
        return out.getvalue().encode("utf-8"), rows
    book = Workbook(write_only=True)
    sheet = book.create_sheet(view.team[:31])
    sheet.append(COLUMNS)
    for row in iter_view(session, view):
        sheet.append(_values(row, catalog))
        rows += 1
    out = io.BytesIO()
    book.save(out)
    return out.getvalue(), rows
