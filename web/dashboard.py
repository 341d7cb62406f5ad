"""The manager's dashboard: denied, recovered, lost (written off) and still at risk, per team."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core.routing.queues import summary
from web.charts import bar_chart
from web.guard import route


@route("dashboard")
def dashboard_page(request: Request) -> Response:
    wb = request.app.state.workbench
    with wb.db.transaction() as s:
        out = summary(s, now=wb.clock())
    chart = bar_chart([("recovered", out.recovered, "recovered"), ("lost (written off)", out.written_off, "lost"),
                       ("still at risk", out.at_risk, "risk")], title="Denied dollars: where they stand")
    return wb.render(request, "dashboard.html", summary=out, chart=chart)


ROUTES = [Route("/dashboard", dashboard_page)]
