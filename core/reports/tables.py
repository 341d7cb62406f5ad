"""Rows written out as CSV or XLSX: the queue export and the KPI report share this."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from core.reports.kpi import KpiReport
from core.reports.rca import RcaReport


def write_table(fmt: str, title: str, columns: Sequence[str], rows: Iterable[Sequence]) -> bytes:
    """CSV (UTF-8) or XLSX bytes of the header and rows; rows are read once, as they come."""
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if v is None else v for v in row])
        return out.getvalue().encode("utf-8")
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])
    sheet.append(list(columns))
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def kpi_rows(report: KpiReport) -> tuple[list[str], list[list]]:
    columns = ["kpi", "name", "value", "unit", "since", "until", "counts", "missing", "formula"]
    return columns, [[k.key, k.name, k.value, k.unit, report.since.isoformat(), report.until.isoformat(),
                      "; ".join(f"{n}={v}" for n, v in k.counts.items()), k.missing or "", k.formula]
                     for k in report.kpis]


def rca_rows(report: RcaReport) -> tuple[list[str], list[list]]:
    columns = ["kind", "dimension", "value", "count", "dollars", "previous_count", "previous_dollars", "change",
               "category", "rate", "peer_rate", "since", "until", "items", "root_causes"]
    rows = [["group", g.dimension, g.value, g.count, g.dollars, g.previous_count, g.previous_dollars, g.change, "", "",
             "", report.since.isoformat(), report.until.isoformat(), " ".join(map(str, g.items)),
             " ".join(map(str, g.root_causes))] for g in report.groups]
    rows += [["outlier", o.dimension, o.value, o.denials, "", "", "", "", o.category, round(o.rate, 4),
              round(o.peer_rate, 4), report.since.isoformat(), report.until.isoformat(), "", ""]
             for o in report.outliers]
    return columns, rows
