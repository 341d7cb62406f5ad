"""Sign-in and out, the landing page, the item page (with its forms and evidence) and the appeals list."""
from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from core import audit
from core.errors import NotFound, PayerfleetError
from core.routing.details import item_details
from core.routing.explain import claim_view, codes_in_words, deadlines, priority_parts
from core.routing.states import STATES, transition
from core.routing.touches import CHANNELS, OUTCOME_STATE, Touch, record_touch
from core.routing.worklist import assign
from core.store.models import Appeal, AuditEvent, EvidenceEntry, Payer
from core.store.models.work import WorkItem
from core.users import authenticate
from evidence.access import view_artifact
from evidence.blobs import LocalBlobStore
from evidence.manifest import entries_for, entry_hash
from web.access import HOME
from web.guard import PUBLIC, SIGNED_IN, route

IMAGE_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "jpg": "image/jpeg"}


def _safe_next(target: str | None, fallback: str) -> str:
    """Only local paths: a crafted ?next= must not send a person to another site after sign-in."""
    return target if target and target.startswith("/") and not target.startswith("//") else fallback


@route(PUBLIC)
def login_page(request: Request) -> Response:
    wb = request.app.state.workbench
    if request.state.viewer is not None:
        return RedirectResponse(HOME[request.state.viewer.role], status_code=303)
    return wb.render(request, "login.html", next=request.query_params.get("next", ""), error=None)


@route(PUBLIC)
def login(request: Request) -> Response:
    wb = request.app.state.workbench
    form = request.state.form
    name = str(form.get("name", ""))
    client = request.client.host if request.client else "unknown"
    with wb.db.transaction() as s:
        result = authenticate(s, name, str(form.get("password", "")), client=client, now=wb.clock())
        if result.user is not None:
            request.state.session = wb.sessions.signed_in(result.user)
            home = HOME[result.user.role]
    if result.user is None:
        error = ("Too many failed sign-ins: wait 15 minutes and try again." if result.outcome == "throttled"
                 else "Wrong name or password.")
        return wb.render(request, "login.html", status=429 if result.outcome == "throttled" else 401,
                         next=str(form.get("next", "")), error=error)
    return RedirectResponse(_safe_next(str(form.get("next", "")), home), status_code=303)


@route(SIGNED_IN)
def logout(request: Request) -> Response:
    request.state.session = request.app.state.workbench.sessions.anonymous()
    return RedirectResponse("/login", status_code=303)


@route(SIGNED_IN)
def home(request: Request) -> Response:
    return RedirectResponse(HOME[request.state.viewer.role], status_code=303)


def _visible_item(request: Request, s, item_id: int) -> WorkItem:
    """The item if the viewer's role and teams reach it; NotFound otherwise (no hint it exists)."""
    item = s.scalar(select(WorkItem).where(WorkItem.id == item_id))
    if item is None or not request.state.viewer.sees_team(item.team):
        raise NotFound(f"work item {item_id} is not in your queues")
    return item


@route("queues")
def item_page(request: Request) -> Response:
    wb = request.app.state.workbench
    item_id = request.path_params["item_id"]
    viewer = request.state.viewer
    today = wb.clock().date()
    with wb.db.transaction() as s:
        try:
            item = _visible_item(request, s, item_id)
        except NotFound as exc:
            return wb.refuse(request, 404, str(exc))
        payer = s.get(Payer, item.payer_id) if item.payer_id else None
        details = item_details(s, item_id, wb.config)
        claim = claim_view(s, item.claim_id, item.claim_payment_id)
        siblings = s.execute(select(WorkItem.id, WorkItem.kind, WorkItem.category, WorkItem.carc, WorkItem.rarc,
                                    WorkItem.amount, WorkItem.state)
                             .where(WorkItem.claim_id == item.claim_id, WorkItem.id != item.id)
                             .order_by(WorkItem.id)).all() if item.claim_id else []
        evidence = _evidence(s, item)
        appeals = s.scalars(select(Appeal).where(Appeal.work_item_id == item.id).order_by(Appeal.level)).all()
        context = dict(
            item=item, details=details, payer=payer, claim=claim, codes=codes_in_words(wb.catalog, item.carc, item.rarc),
            sibling_codes={row.id: codes_in_words(wb.catalog, row.carc, row.rarc) for row in siblings},
            siblings=siblings, deadlines=deadlines(item, wb.config, payer),
            parts=priority_parts(item, today, wb.config), evidence=evidence, appeals=appeals,
            timeline=_timeline(details), channels=CHANNELS, outcomes=tuple(OUTCOME_STATE), states=STATES,
            flash=request.state.session.pop("flash", None), today=today)
        audit.record(s, actor=f"web:{viewer.name}", action="work_item.viewed", record_type="work_item",
                     record_id=item.id)
        context["audit"] = s.execute(select(AuditEvent.at, AuditEvent.actor, AuditEvent.action, AuditEvent.outcome)
                                     .where(AuditEvent.record_type == "work_item",
                                            AuditEvent.record_id == str(item.id),
                                            AuditEvent.action != "work_item.viewed")
                                     .order_by(AuditEvent.id)).all()
    return wb.render(request, "item.html", **context)


def _timeline(details: dict) -> list[dict]:
    """Transitions and payer touches in one list, oldest first."""
    events = [{"when": t["at"].date() if t["at"] else None, "what": f"{t['from']} → {t['to']}", "who": t["actor"],
               "note": t["reason"] or ""} for t in details["transitions"]]
    for t in details["touches"]:
        parts = [f"{k.replace('_', ' ')}: {t[k]}" for k in ("channel", "confirmation_number", "outcome", "paid_amount",
                                                              "follow_up_on", "next_action", "write_off_reason",
                                                              "root_cause") if t[k] not in (None, "")]
        events.append({"when": t["submitted_on"], "what": "payer touch", "who": t["owner"] or "",
                       "note": "; ".join(parts)})
    return sorted(events, key=lambda e: e["when"] or date.min)


def _evidence(s, item: WorkItem) -> list[dict]:
    """The item's evidence (its claim's and its appeals'), each with whether its chain link holds."""
    seen, out = set(), []
    sources = [entries_for(s, claim_id=item.claim_id)] if item.claim_id else []
    for appeal_id in s.scalars(select(Appeal.id).where(Appeal.work_item_id == item.id)):
        sources.append(entries_for(s, appeal_id=appeal_id))
    for entries in sources:
        for e in entries:
            if e.seq in seen:
                continue
            seen.add(e.seq)
            data = e.data
            out.append({"seq": e.seq, "created_at": e.created_at, "kind": e.kind, "step": data.get("step", ""),
                        "artifact": data.get("artifact") or data.get("event") or e.kind,
                        "media": data.get("media_type") or "", "blob": e.blob_sha256,
                        "image": _is_image(data), "linked": entry_hash(e.prev_hash, e.content) == e.entry_hash})
    return sorted(out, key=lambda e: e["seq"])


def _is_image(data: dict) -> bool:
    name = str(data.get("artifact") or data.get("name") or "")
    media = str(data.get("media_type") or "")
    return media.startswith("image/") or name.rsplit(".", 1)[-1].lower() in IMAGE_TYPES or data.get("kind") == "screenshot"


@route("queues")
def evidence_file(request: Request) -> Response:
    """One decrypted artifact, shown inline: decrypted on demand and audited as evidence.viewed."""
    wb = request.app.state.workbench
    seq = request.path_params["seq"]
    viewer = request.state.viewer
    with wb.db.transaction() as s:
        row = s.scalar(select(EvidenceEntry).where(EvidenceEntry.seq == seq))
        teams = set()
        if row is not None and row.claim_id is not None:
            teams |= set(s.scalars(select(WorkItem.team).where(WorkItem.claim_id == row.claim_id)))
        if row is not None and row.appeal_id is not None:
            teams |= set(s.scalars(select(WorkItem.team).join(Appeal, Appeal.work_item_id == WorkItem.id)
                                   .where(Appeal.id == row.appeal_id)))
    if row is None or not any(viewer.sees_team(t) for t in teams):
        return wb.refuse(request, 404, f"evidence entry {seq} is not linked to an item in your queues")
    try:
        entry, data = view_artifact(wb.db, LocalBlobStore(wb.settings.blob_dir, wb.keys), seq, actor=f"web:{viewer.name}")
    except PayerfleetError as exc:
        return wb.refuse(request, 404, f"{type(exc).__name__}: {exc}")
    media = entry.data.get("media_type") or _sniff(data)
    if media in IMAGE_TYPES.values():
        return Response(data, media_type=media, headers={"Cache-Control": "no-store",
                                                         "Content-Disposition": f'inline; filename="evidence-{seq}"'})
    # A portal's HTML must never run as our page: everything but an image is a download, sandboxed.
    return Response(data, media_type="application/octet-stream", headers={
        "Cache-Control": "no-store", "Content-Security-Policy": "sandbox",
        "Content-Disposition": f'attachment; filename="evidence-{seq}.{entry.data.get("ext") or "bin"}"'})


def _sniff(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data.startswith(b"%PDF"):
        return "application/pdf"
    return "application/octet-stream"


def _flash_back(request: Request, item_id: int, message: str) -> Response:
    request.state.session["flash"] = message
    return RedirectResponse(f"/items/{item_id}", status_code=303)


def _act(request: Request, do) -> Response:
    """Run one change to an item the viewer may work; a refused change is shown, nothing is half-done."""
    wb = request.app.state.workbench
    item_id = request.path_params["item_id"]
    try:
        with wb.db.transaction() as s:
            _visible_item(request, s, item_id)
            message = do(s, item_id, f"web:{request.state.viewer.name}", wb.clock())
    except NotFound as exc:
        return wb.refuse(request, 404, str(exc))
    except (PayerfleetError, ValueError) as exc:
        return _flash_back(request, item_id, f"Not done: {exc}")
    return _flash_back(request, item_id, message)


def _decimal(value) -> Decimal | None:
    text = str(value or "").strip().replace(",", "")
    if not text:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{value!r} is not an amount") from None


def _date(value) -> date | None:
    text = str(value or "").strip()
    return date.fromisoformat(text) if text else None


@route("queues")
def item_move(request: Request) -> Response:
    form = request.state.form

    def do(s, item_id, actor, now):
        to = str(form.get("state", ""))
        transition(s, item_id, to, actor=actor, now=now, reason=str(form.get("reason", "")).strip() or None,
                   recovered_amount=_decimal(form.get("recovered")))
        return f"Moved to {to}."
    return _act(request, do)


@route("queues")
def item_assign(request: Request) -> Response:
    form = request.state.form
    owner = str(form.get("owner", "")).strip() or request.state.viewer.name

    def do(s, item_id, actor, now):
        assign(s, item_id, owner, actor=actor, now=now)
        return f"Assigned to {owner}."
    return _act(request, do)


@route("queues")
def item_touch(request: Request) -> Response:
    wb = request.app.state.workbench
    form = request.state.form

    def field(name):
        return str(form.get(name, "")).strip() or None

    def do(s, item_id, actor, now):
        touch = Touch(submitted_on=_date(form.get("submitted_on")), confirmation_number=field("confirmation_number"),
                      channel=field("channel"), next_action=field("next_action"), owner=field("owner"),
                      outcome=field("outcome"), paid_amount=_decimal(form.get("paid_amount")),
                      billed_amount=_decimal(form.get("billed_amount")), write_off_reason=field("write_off_reason"),
                      root_cause=field("root_cause"))
        record_touch(s, item_id, touch, actor=actor, now=now, config=wb.config)
        return "Payer touch recorded."
    return _act(request, do)


@route("appeals")
def appeals_page(request: Request) -> Response:
    wb = request.app.state.workbench
    viewer = request.state.viewer
    with wb.db.transaction() as s:
        rows = s.execute(select(Appeal.id, Appeal.level, Appeal.channel, Appeal.form, Appeal.reason_category,
                                Appeal.state, Appeal.created_at, WorkItem.id, WorkItem.team, WorkItem.amount,
                                WorkItem.appeal_deadline, WorkItem.state)
                         .join(WorkItem, WorkItem.id == Appeal.work_item_id)
                         .order_by(Appeal.created_at.desc()).limit(500)).all()
    rows = [r for r in rows if viewer.sees_team(r[8])]
    return wb.render(request, "appeals.html", appeals=rows)


ROUTES = [
    Route("/", home),
    Route("/login", login_page, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/items/{item_id:int}", item_page),
    Route("/items/{item_id:int}/move", item_move, methods=["POST"]),
    Route("/items/{item_id:int}/assign", item_assign, methods=["POST"]),
    Route("/items/{item_id:int}/touch", item_touch, methods=["POST"]),
    Route("/evidence/{seq:int}", evidence_file),
    Route("/appeals", appeals_page),
]
