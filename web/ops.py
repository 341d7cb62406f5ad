"""Ops pages: fleet runs (state, account, duration, failure and its consequence), accounts, drift, alerts."""
from __future__ import annotations

from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core.store.models import Alert, AutomationRun, PortalAccount
from web.guard import route

RUN_STATES = ("queued", "running", "succeeded", "failed", "cancelled")


@route("fleet")
def runs_page(request: Request) -> Response:
    wb = request.app.state.workbench
    state = request.query_params.get("state") or None
    with wb.db.transaction() as s:
        stmt = (select(AutomationRun, PortalAccount.alias).outerjoin(PortalAccount,
                                                                     PortalAccount.id == AutomationRun.account_id)
                .order_by(AutomationRun.created_at.desc()).limit(200))
        if state in RUN_STATES:
            stmt = stmt.where(AutomationRun.state == state)
        runs = [{"id": r.id, "automation": r.automation, "account": alias, "state": r.state, "backend": r.backend,
                 "attempts": r.attempts, "created_at": r.created_at, "checkpoint": r.checkpoint,
                 "seconds": (r.finished_at - r.started_at).total_seconds() if r.finished_at and r.started_at else None,
                 "error_type": r.error_type, "error_message": r.error_message,
                 "consequence": wb.explain_failure(r.error_type) if r.state == "failed" else None}
                for r, alias in s.execute(stmt)]
        counts = dict(s.execute(select(AutomationRun.state, func.count()).group_by(AutomationRun.state)).all())
    return wb.render(request, "runs.html", runs=runs, counts=counts, states=RUN_STATES, state=state)


@route("fleet")
def accounts_page(request: Request) -> Response:
    wb = request.app.state.workbench
    with wb.db.transaction() as s:
        last_ok = dict(s.execute(select(AutomationRun.account_id, func.max(AutomationRun.finished_at))
                                 .where(AutomationRun.state == "succeeded").group_by(AutomationRun.account_id)).all())
        last_fail = {row[0]: row[1:] for row in s.execute(
            select(AutomationRun.account_id, AutomationRun.finished_at, AutomationRun.error_type)
            .where(AutomationRun.state == "failed").order_by(AutomationRun.finished_at))}
        accounts = [{"alias": a.alias, "portal": a.portal, "base_url": a.base_url, "authorised": a.authorised,
                     "enabled": a.enabled, "disabled_reason": a.disabled_reason, "disabled_at": a.disabled_at,
                     "last_success": last_ok.get(a.id), "last_failure": last_fail.get(a.id)}
                    for a in s.scalars(select(PortalAccount).order_by(PortalAccount.alias))]
    return wb.render(request, "accounts.html", accounts=accounts)


@route("fleet")
def drift_page(request: Request) -> Response:
    """Drift checks that found changed landmarks (screenshots under <data_dir>/drift) and runs stopped by one."""
    wb = request.app.state.workbench
    root = wb.settings.data_dir / "drift"
    checks = []
    if root.is_dir():
        for portal_dir in sorted(p for p in root.iterdir() if p.is_dir()):
            for stamp in sorted((p for p in portal_dir.iterdir() if p.is_dir()), reverse=True):
                checks.append({"portal": portal_dir.name, "at": stamp.name,
                               "landmarks": sorted(f.stem for f in stamp.glob("*.png"))})
    with wb.db.transaction() as s:
        stopped = s.execute(select(AutomationRun.automation, PortalAccount.alias, AutomationRun.finished_at,
                                   AutomationRun.error_message)
                            .outerjoin(PortalAccount, PortalAccount.id == AutomationRun.account_id)
                            .where(AutomationRun.error_type == "LayoutChanged")
                            .order_by(AutomationRun.finished_at.desc()).limit(50)).all()
    return wb.render(request, "drift.html", checks=checks, stopped=stopped)


@route("fleet")
def alerts_page(request: Request) -> Response:
    """The fleet's alerts (fleet/alerts.py raises them), open ones first."""
    wb = request.app.state.workbench
    with wb.db.transaction() as s:
        alerts = s.scalars(select(Alert).order_by(Alert.acked_at.is_not(None), Alert.raised_at.desc())
                           .limit(200)).all()
    return wb.render(request, "alerts.html", alerts=alerts)


ROUTES = [
    Route("/ops/runs", runs_page),
    Route("/ops/accounts", accounts_page),
    Route("/ops/drift", drift_page),
    Route("/ops/alerts", alerts_page),
]
