"""The manager's dashboard: denied, recovered, lost (written off) and still at risk, per team; the KPIs."""
from __future__ import annotations

from datetime import date, timedelta

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core.reports.kpi import kpis
from core.routing.queues import summary
from web.charts import bar_chart
from web.guard import route


@route("dashboard")
def dashboard_page(request: Request) -> Response:
    wb = request.app.state.workbench
    until = wb.clock().date() + timedelta(days=1)
    try:
        since = date.fromisoformat(request.query_params.get("since") or (until - timedelta(days=PERIOD_DAYS)).isoformat())
        until = date.fromisoformat(request.query_params["until"]) if request.query_params.get("until") else until
    except ValueError:
        return wb.refuse(request, 400, "since and until are dates (YYYY-MM-DD)")
    with wb.db.transaction() as s:
        out = summary(s, now=wb.clock())
        report = kpis(s, since, until)
    chart = bar_chart([("recovered", out.recovered, "recovered"), ("lost (written off)", out.written_off, "lost"),
                       ("still at risk", out.at_risk, "risk")], title="Denied dollars: where they stand")
    return wb.render(request, "dashboard.html", summary=out, chart=chart, report=report)


# The KPIs' default period: the last 30 days up to today.
PERIOD_DAYS = 30

ROUTES = [Route("/dashboard", dashboard_page)]
