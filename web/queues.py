"""Team queues: the list of queues, one team's filtered and keyset-paged queue, bulk actions, exports."""
from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from core import audit
from core.routing.states import STATES, transition
from core.routing.worklist import SORTS, UNASSIGNED, Cursor, QueueView, assign, bulk, queue_view_page, team_size
from core.store.models import Payer
from web import export
from web.guard import route

FILTERS = ("payer", "category", "owner", "state", "due_before", "min_amount", "max_amount", "sort")
PAGE_SIZE = 50
# Queue sizes are counted up to here ("10,000+"): an exact count of a 250,000-item team costs a page's budget.
SIZE_CAP = 10_000


class BadFilter(ValueError):
    pass


def _view(team: str, params, viewer_name: str) -> QueueView:
    """The queue view a query string asks for; 'me' as owner is the viewer."""
    def text(name):
        return str(params.get(name, "")).strip() or None

    def amount(name):
        value = text(name)
        try:
            return Decimal(value.replace(",", "")) if value else None
        except InvalidOperation:
            raise BadFilter(f"{name.replace('_', ' ')} {value!r} is not an amount") from None

    owner = text("owner")
    try:
        due_before = date.fromisoformat(text("due_before")) if text("due_before") else None
    except ValueError:
        raise BadFilter(f"due before {text('due_before')!r} is not a date (YYYY-MM-DD)") from None
    sort = text("sort") or "priority"
    if sort not in SORTS:
        raise BadFilter(f"sort by {sort!r}: choose one of {', '.join(SORTS)}")
    state = text("state")
    if state and state not in STATES:
        raise BadFilter(f"unknown state {state!r}")
    return QueueView(team=team, payer=text("payer"), category=text("category"),
                     owner=viewer_name if owner == "me" else owner, state=state, due_before=due_before,
                     min_amount=amount("min_amount"), max_amount=amount("max_amount"), sort=sort)


def _query(params, **changes) -> str:
    kept = {k: params.get(k) for k in FILTERS if params.get(k)}
    kept.update({k: v for k, v in changes.items() if v is not None})
    return urlencode(kept)


@route("queues")
def queues_page(request: Request) -> Response:
    wb = request.app.state.workbench
    teams = request.state.viewer.visible_teams(wb.teams)
    with wb.db.transaction() as s:
        sizes = {t: team_size(s, t, cap=SIZE_CAP) for t in teams}
    return wb.render(request, "queues.html", sizes=sizes, cap=SIZE_CAP)


def _team(request: Request) -> tuple[str, Response | None]:
    wb = request.app.state.workbench
    team = request.path_params["team"]
    if team not in wb.teams:
        return team, wb.refuse(request, 404, f"there is no team {team!r}")
    if not request.state.viewer.sees_team(team):
        return team, wb.refuse(request, 403, f"the {team} queue is not one of your teams'")
    return team, None


@route("queues")
def queue_page(request: Request) -> Response:
    wb = request.app.state.workbench
    team, refused = _team(request)
    if refused:
        return refused
    params = request.query_params
    try:
        view = _view(team, params, request.state.viewer.name)
        after = Cursor.decode(params["after"]) if params.get("after") else None
        before = Cursor.decode(params["before"]) if params.get("before") else None
    except (BadFilter, ValueError) as exc:
        return wb.refuse(request, 400, str(exc))
    with wb.db.transaction() as s:
        page = queue_view_page(s, view, after=after, before=before, limit=PAGE_SIZE)
        size = team_size(s, team, cap=SIZE_CAP)
        payers = list(s.scalars(select(Payer.code).order_by(Payer.code)))
    return wb.render(
        request, "queue.html", team=team, view=view, page=page, size=size, payers=payers, params=params,
        cap=SIZE_CAP, states=STATES, sorts=SORTS, unassigned=UNASSIGNED, categories=sorted(c.name for c in wb.config.table.categories),
        next_url=f"?{_query(params, after=page.next.encode())}" if page.next else None,
        previous_url=f"?{_query(params, before=page.previous.encode())}" if page.previous else None,
        first_url=f"?{_query(params)}", export_query=_query(params),
        flash=request.state.session.pop("flash", None), today=wb.clock().date())


@route("queues")
def queue_bulk(request: Request) -> Response:
    """Claim, assign or move the checked items, each through the state machine; refusals are listed."""
    wb = request.app.state.workbench
    team, refused = _team(request)
    if refused:
        return refused
    form = request.state.form
    viewer = request.state.viewer
    actor = f"web:{viewer.name}"
    action = str(form.get("action", ""))
    try:
        ids = [int(v) for v in form.getlist("item")]
    except ValueError:
        return wb.refuse(request, 400, "item ids must be numbers")
    now = wb.clock()
    if action == "claim":
        owner = viewer.name
        act = lambda s: lambda item_id: assign(s, item_id, owner, actor=actor, now=now)  # noqa: E731
    elif action == "assign":
        owner = str(form.get("owner", "")).strip()
        if not owner:
            return wb.refuse(request, 400, "name the person to assign the items to")
        act = lambda s: lambda item_id: assign(s, item_id, owner, actor=actor, now=now)  # noqa: E731
    elif action == "move":
        to, reason = str(form.get("state", "")), str(form.get("reason", "")).strip() or None
        act = lambda s: lambda item_id: transition(s, item_id, to, actor=actor, now=now, reason=reason)  # noqa: E731
    else:
        return wb.refuse(request, 400, f"unknown bulk action {action!r}")
    with wb.db.transaction() as s:
        result = bulk(s, ids, act(s), allowed_teams=viewer.team_limit)
    message = f"{action}: {len(result.done)} done"
    if result.refused:
        message += f", {len(result.refused)} refused — " + "; ".join(
            f"#{i}: {why}" for i, why in list(result.refused.items())[:10])
    request.state.session["flash"] = message
    back = str(form.get("back", "")).strip()
    return RedirectResponse(f"/queues/{team}" + (back if back.startswith("?") else ""), status_code=303)


@route("queues")
def queue_export(request: Request) -> Response:
    """The filtered view, every page of it, as CSV or XLSX; audited as queue.exported."""
    wb = request.app.state.workbench
    team, refused = _team(request)
    if refused:
        return refused
    fmt = request.path_params["fmt"]
    if fmt not in export.FORMATS:
        return wb.refuse(request, 404, f"export as {fmt!r}: choose csv or xlsx")
    try:
        view = _view(team, request.query_params, request.state.viewer.name)
    except BadFilter as exc:
        return wb.refuse(request, 400, str(exc))
    with wb.db.transaction() as s:
        body, rows = export.render(s, view, fmt, wb.catalog)
        audit.record(s, actor=f"web:{request.state.viewer.name}", action="queue.exported", record_type="team",
                     record_id=team, outcome=f"{rows} rows {fmt}")
    stamp = wb.clock().strftime("%Y%m%d-%H%M")
    return Response(body, media_type=export.FORMATS[fmt], headers={
        "Content-Disposition": f'attachment; filename="{team}-queue-{stamp}.{fmt}"', "Cache-Control": "no-store"})


ROUTES = [
    Route("/queues", queues_page),
    Route("/queues/{team}", queue_page),
    Route("/queues/{team}/bulk", queue_bulk, methods=["POST"]),
    Route("/queues/{team}/export.{fmt}", queue_export),
]
