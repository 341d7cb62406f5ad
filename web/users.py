"""User administration (admins only): list, add, change role/teams, enable or disable, reset a password."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from core.users import ROLES, UserError, add_user, list_users, update_user
from web.guard import route


@route("users")
def users_page(request: Request) -> Response:
    wb = request.app.state.workbench
    with wb.db.transaction() as s:
        users = [{"name": u.name, "role": u.role, "teams": u.teams, "enabled": u.enabled, "created_at": u.created_at}
                 for u in list_users(s)]
    return wb.render(request, "users.html", users=users, roles=ROLES, teams=wb.teams,
                     flash=request.state.session.pop("flash", None))


def _done(request: Request, message: str) -> Response:
    request.state.session["flash"] = message
    return RedirectResponse("/admin/users", status_code=303)


@route("users")
def user_add(request: Request) -> Response:
    wb = request.app.state.workbench
    form = request.state.form
    try:
        with wb.db.transaction() as s:
            user = add_user(s, str(form.get("name", "")), str(form.get("password", "")), str(form.get("role", "")),
                            form.getlist("teams"), known_teams=wb.teams, actor=f"web:{request.state.viewer.name}",
                            now=wb.clock())
            name = user.name
    except UserError as exc:
        return _done(request, f"Not added: {exc}")
    return _done(request, f"Added {name}.")


@route("users")
def user_change(request: Request) -> Response:
    wb = request.app.state.workbench
    form = request.state.form
    name = request.path_params["name"]
    enabled = {"enable": True, "disable": False}.get(str(form.get("enabled", "")))
    try:
        with wb.db.transaction() as s:
            update_user(s, name, actor=f"web:{request.state.viewer.name}", now=wb.clock(), known_teams=wb.teams,
                        role=str(form.get("role", "")) or None,
                        teams=form.getlist("teams") if form.get("set_teams") else None, enabled=enabled,
                        password=str(form.get("password", "")) or None)
    except UserError as exc:
        return _done(request, f"Not changed: {exc}")
    return _done(request, f"Changed {name}.")


ROUTES = [
    Route("/admin/users", users_page),
    Route("/admin/users", user_add, methods=["POST"]),
    Route("/admin/users/{name}", user_change, methods=["POST"]),
]
