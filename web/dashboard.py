"""The manager's dashboard: denied, recovered, lost (written off) and still at risk, per team; the KPIs."""
from __future__ import annotations

from datetime import date, timedelta

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core.reports.kpi import kpis
from core.reports.rca import DIMENSIONS, MISSING, rca
from core.routing.queues import summary
from web.charts import bar_chart
from web.guard import route


def _period(request: Request, days: int) -> tuple[date, date]:
    """?since=&until= (until not included), by default the `days` up to today; ValueError if not dates."""
    until = request.app.state.workbench.clock().date() + timedelta(days=1)
    params = request.query_params
    until = date.fromisoformat(params["until"]) if params.get("until") else until
    since = date.fromisoformat(params["since"]) if params.get("since") else until - timedelta(days=days)
    if since >= until:
        raise ValueError("since must be before until")
    return since, until


@route("dashboard")
def dashboard_page(request: Request) -> Response:
    wb = request.app.state.workbench
    try:
        since, until = _period(request, PERIOD_DAYS)
    except ValueError:
        return wb.refuse(request, 400, "since and until are dates (YYYY-MM-DD), since before until")
    with wb.db.transaction() as s:
        out = summary(s, now=wb.clock())
        report = kpis(s, since, until)
    chart = bar_chart([("recovered", out.recovered, "recovered"), ("lost (written off)", out.written_off, "lost"),
                       ("still at risk", out.at_risk, "risk")], title="Denied dollars: where they stand")
    return wb.render(request, "dashboard.html", summary=out, chart=chart, report=report)


@route("dashboard")
def rca_page(request: Request) -> Response:
    """The weekly root-cause analysis: groups per dimension with their change, and the outliers."""
    wb = request.app.state.workbench
    try:
        since, until = _period(request, 7)
    except ValueError:
        return wb.refuse(request, 400, "since and until are dates (YYYY-MM-DD), since before until")
    with wb.db.transaction() as s:
        report = rca(s, since, until)
    dimensions = {d: [g for g in report.groups if g.dimension == d][:GROUPS_SHOWN] for d in DIMENSIONS}
    return wb.render(request, "rca.html", report=report, dimensions=dimensions, missing=MISSING)


# The KPIs' default period: the last 30 days up to today.
PERIOD_DAYS = 30
GROUPS_SHOWN = 15

ROUTES = [Route("/dashboard", dashboard_page), Route("/rca", rca_page)]
