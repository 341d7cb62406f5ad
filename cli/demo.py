"""`payerfleet demo`: the whole product end to end on the sandbox portals, in one command.

Steps: start the sandbox, register its demo accounts in the vault, ingest the practice's submitted
837P claims (its clearinghouse submission batches), run the daily pull for every
account through the fleet, route what came in, show the work queues and dollars at risk, submit
one reconsideration on demand, advance the payer's clock and pull again to show the decision,
verify the evidence chain, summarise. Each step reports its own failure in one line and the demo
carries on where it can; a missing piece is named, never a traceback.
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, datetime, time as dtime, timezone
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.text import Text

from cli.context import console, err_console
from cli.sandbox import ingest_submissions, portal_payers
from core.errors import PayerfleetError

if TYPE_CHECKING:
    from core.config import Settings

MARKER = ".payerfleet-demo"
SEED, CLAIMS = 7, 300
# A small but valid-looking PDF: portals refuse attachments under 3 KB.
DEMO_PDF = b"%PDF-1.4\n% payerfleet demo attachment\n" + b"0" * 4000 + b"\n%%EOF\n"
# The sandbox's history spans a few months: look back far enough to see denials and their ERAs.
# Claim statuses: the last month's claims (older ones have their 835s), one member search per patient.
DEMO_PARAMS = {"claim_status_pull": {"lookback_days": 30}, "era_pull": {"lookback_days": 60}}
APPEAL_REASON = {"uhc": "Additional Information", "availity": "Claim denied incorrectly"}
SANDBOX_RATE_LIMIT = 1200  # requests per minute per sandbox portal


@dataclass
class Demo:
    out: Console
    quiet: bool
    shown: Any  # cli.progress.Activity: a spinner per step, a line per fleet run (on a terminal)
    summary: dict[str, Any] = field(default_factory=lambda: {"steps": {}})
    started: float = field(default_factory=time.perf_counter)

    def step(self, name: str, title: str):
        return _Step(self, name, title)


class _Step:
    def __init__(self, demo: Demo, name: str, title: str):
        self.demo, self.name, self.title = demo, name, title

    def __enter__(self) -> "_Step":
        self.t0 = time.perf_counter()
        self.demo.out.print(Text(f"▶ {self.title}", style="bold"))
        self.spinner = self.demo.shown.step(self.title)
        self.spinner.__enter__()
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        self.spinner.__exit__(None, None, None)
        took = round(time.perf_counter() - self.t0, 1)
        if exc is None:
            self.demo.summary["steps"][self.name] = {"ok": True, "seconds": took}
            self.demo.out.print(Text.assemble("  ", ("✓", "green"), f" {self.title} ({took}s)"))
            return False
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            return False
        if isinstance(exc, ModuleNotFoundError):
            why = f"not available yet: module {exc.name} is missing"
        elif isinstance(exc, PayerfleetError):
            why = f"{type(exc).__name__}: {exc}"
        else:
            why = f"{type(exc).__name__}: {str(exc)[:200]}"
        self.demo.summary["steps"][self.name] = {"ok": False, "seconds": took, "error": why}
        self.demo.out.print(Text.assemble("  ", ("✗", "red"), f" {self.title}: {why}"))
        return True  # the demo carries on with the next step


def _prepare_dir(data_dir: Path) -> None:
    if data_dir.exists() and any(data_dir.iterdir()):
        if not (data_dir / MARKER).exists():
            raise typer.BadParameter(f"{data_dir} is not empty and is not a demo directory; choose another --data-dir")
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / MARKER).write_text("created by `payerfleet demo`; deleted and recreated by the next demo run\n")


def demo(
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON (progress goes to stderr)."),
    data_dir: Path = typer.Option(Path("var/demo"), help="Where the demo keeps its database, keys and evidence."),
    database_url: str = typer.Option("", help="Use this database instead of SQLite in --data-dir (e.g. PostgreSQL)."),
    backend: str = typer.Option("local", help="Fleet backend: local, or procrastinate (needs --database-url)."),
) -> None:
    """Run payerfleet end to end against the sandbox portals (about a minute; nothing leaves 127.0.0.1)."""
    from cli.progress import Activity
    from core import logging as pf_logging
    from core.config import Settings

    out = err_console if as_json else console
    # Events go to stderr (stdout is the summary's); warnings only, the progress lines are the story.
    pf_logging.configure("console", os.environ.get("PAYERFLEET_LOG_LEVEL", "WARNING"))
    d = Demo(out, as_json, Activity(out, enabled=not as_json))
    _prepare_dir(data_dir)
    current = Settings(data_dir=data_dir, database_url=database_url)
    d.summary["database"] = current.db_url if database_url else str((data_dir / "payerfleet.db").resolve())
    d.summary["evidence_dir"] = str(current.blob_dir.resolve())
    try:
        with ExitStack() as stack, d.shown:
            _run(d, current, stack, backend)
    except KeyboardInterrupt:
        out.print(Text("demo interrupted", style="yellow"))
        raise typer.Exit(130) from None
    d.summary["seconds"] = round(time.perf_counter() - d.started, 1)
    d.summary["ok"] = all(s["ok"] for s in d.summary["steps"].values())
    if as_json:
        typer.echo(json.dumps(d.summary, indent=2, default=str))
    else:
        _print_summary(d)
    if not d.summary["ok"]:
        raise typer.Exit(1)


def _run(d: Demo, current: Settings, stack: ExitStack, backend_name: str) -> None:
    import asyncio

    from core.crypto import KeyRing
    from core.store import migrate
    from core.store.db import Database

    ctx: dict[str, Any] = {}
    with d.step("store", "create the store and key"):
        db = Database(current.db_url)
        migrate.upgrade(db)
        keys = KeyRing.load(current, create=True)
        ctx.update(db=db, keys=keys)
    if "db" not in ctx:
        return
    with d.step("sandbox", "start the sandbox payer portals (Availity-, UHC- and CAQH-like)"):
        from fixtures.sandbox import running

        sandbox = stack.enter_context(running(seed=SEED, claims=CLAIMS))
        today = date.fromisoformat(sandbox.availity.control("GET", "clock")["now"][:10])
        ctx.update(sandbox=sandbox, today=today)
        d.summary["sandbox"] = {name: h.base_url for name, h in sandbox.portals.items()}
        d.summary["sandbox_today"] = today.isoformat()
    if "sandbox" not in ctx:
        return
    with d.step("accounts", "register the demo accounts in the encrypted vault"):
        ctx["accounts"] = _register_accounts(db, keys, ctx["sandbox"])
        d.summary["accounts"] = sorted(ctx["accounts"])
    if not ctx.get("accounts"):
        return
    with d.step("intake", "ingest the practice's submitted 837P claims (its clearinghouse submission batches)"):
        d.summary["intake"] = ingest_submissions(db, ctx["sandbox"], ctx["today"])
        d.out.print(f"  {d.summary['intake']['files']} batches, {d.summary['intake']['claims']} claims stored")
    from fleet.config import DEFAULT_RATE_LIMITS, FleetConfig

    # The production limits protect payers' sites; at Availity's 120 requests a minute the daily pull's
    # ~250 requests alone would take over two minutes. The sandbox runs on this machine, so the demo
    # limits it (still counted in the store, as in production) to what a local service takes.
    config = FleetConfig(backend=backend_name, max_contexts=3,
                         rate_limits={portal: SANDBOX_RATE_LIMIT for portal in DEFAULT_RATE_LIMITS})
    asyncio.run(_fleet_part(d, current, ctx, config))
    with d.step("verify", "verify the evidence chain (every blob re-hashed, every link checked)"):
        from evidence.blobs import LocalBlobStore
        from evidence.verify import verify

        report = verify(db, LocalBlobStore(current.blob_dir, keys), actor="demo")
        d.summary["evidence"] = {"entries": report.entries, "blobs_checked": report.blobs_checked,
                                 "problems": len(report.problems), "ok": report.ok}
        if not report.ok:
            raise PayerfleetError(f"evidence chain has {len(report.problems)} problems")
    with d.step("workbench", "create the web workbench's demo sign-ins (a manager and a biller)"):
        d.summary["workbench"] = _workbench_users(db, current, ctx.get("today") or date.today())


def _workbench_users(db, current: Settings, today: date) -> dict:
    """A manager and a biller of the busiest queue, with fresh random passwords, and how to serve the workbench."""
    import secrets

    from sqlalchemy import func, select

    from cli.web import DEFAULT_PORT
    from core.routing import load_config
    from core.store.models.work import WorkQueueEntry
    from core.users import add_user

    now = datetime.combine(today, dtime(9), tzinfo=timezone.utc)
    sign_ins = {}
    with db.transaction() as s:
        team = s.scalar(select(WorkQueueEntry.team).group_by(WorkQueueEntry.team)
                        .order_by(func.count().desc(), WorkQueueEntry.team).limit(1))
        teams = list(load_config(current).table.teams)
        for name, role, member_of in (("manager", "manager", []), ("biller", "biller", [team] if team else [])):
            if role == "biller" and not member_of:
                continue
            password = secrets.token_urlsafe(12)
            add_user(s, name, password, role, member_of, known_teams=teams, actor="demo", now=now)
            sign_ins[name] = {"role": role, "password": password, "teams": member_of}
    command = "payerfleet web " + (f"--database-url '{current.database_url}' " if current.database_url else "") + \
        f"--data-dir {current.data_dir}"
    return {"url": f"http://127.0.0.1:{DEFAULT_PORT}/", "command": command, "sign_ins": sign_ins}


async def _fleet_part(d: Demo, current: Settings, ctx: dict, config) -> None:
    from fleet import runs
    from fleet.backends import open_fleet, submit

    db, sandbox, today = ctx["db"], ctx["sandbox"], ctx["today"]
    async with open_fleet(db, current, ctx["keys"], config, today=lambda: ctx["today"], watch=d.shown.watch) as backend:
        with d.step("pull", "daily pull for every account through the fleet (claim statuses, ERAs, CAQH roster)"):
            served = {name: h.state.requests_served for name, h in sandbox.portals.items()}
            ids = []
            for alias, automation in _daily_plan(ctx["accounts"]):
                ids.append(await submit(backend, automation, alias, _params(automation, ctx["accounts"][alias]),
                                        runs.Priority.SCHEDULED, runs.dedupe_key(automation, alias, today.isoformat())))
            await backend.run_until_idle()
            d.summary["daily_pull"] = _runs_summary(db, ids)
            # What each portal served for it: with a rate limit, requests / limit bounds the step's time.
            d.summary["daily_pull_requests"] = {name: h.state.requests_served - served[name]
                                                for name, h in sandbox.portals.items()}
            _show_runs(d, db, ids)
        with d.step("route", "route what came in: classify, deadlines, priority, work queues"):
            d.summary["routing"] = _route(db, today)
            _show_queues(d, db, today)
        with d.step("appeal", "submit one reconsideration on demand (exactly once)"):
            alias, params, appeal_id = _demo_appeal(db, sandbox, ctx["accounts"])
            run_id = await submit(backend, "reconsideration_submit", alias, params, runs.Priority.ON_DEMAND,
                                  f"appeal_submit:{appeal_id}:level:1")
            await backend.run_until_idle()
            run = runs.get_run(db, run_id)
            received = sandbox.portals[ctx["accounts"][alias]].submissions()
            d.summary["appeal"] = {"account": alias, "appeal_id": appeal_id, "run_state": run.state,
                                   "error_type": run.error_type, "confirmation_number":
                                   run.result.get("confirmation_number"), "portal_received": len(received)}
            ctx["appeal"] = (alias, params["claim_number"])
            if run.state != runs.SUCCEEDED:
                raise PayerfleetError(f"submission run ended {run.state}: {run.error_type}")
            d.out.print(f"  confirmation {run.result.get('confirmation_number')}; the portal received "
                        f"{len(received)} submission(s)")
        with d.step("decision", "advance the payer's clock 30 days and pull again to see the decision"):
            alias, claim_number = ctx.get("appeal") or (None, None)
            if alias is None:
                raise PayerfleetError("no reconsideration was submitted, so there is no decision to show")
            portal = sandbox.portals[ctx["accounts"][alias]]
            portal.advance(days=30)
            ctx["today"] = date.fromisoformat(portal.control("GET", "clock")["now"][:10])
            for other in sandbox.portals.values():
                if other is not portal:
                    other.advance(days=30)
            ids = [await submit(backend, "claim_status_pull", alias, {"claims": [{"claim_number": claim_number}]},
                                runs.Priority.ON_DEMAND),
                   await submit(backend, "era_pull", alias, {}, runs.Priority.ON_DEMAND)]
            await backend.run_until_idle()
            d.summary["decision"] = {"runs": _runs_summary(db, ids), "portal_cases": _case_status(portal, claim_number)}
            d.summary["routing_after_decision"] = _route(db, ctx["today"])
            _show_runs(d, db, ids)
            d.out.print(f"  the payer's decision: {d.summary['decision']['portal_cases'] or 'not visible yet'}")


def _params(automation: str, portal: str) -> dict:
    """The demo's run parameters; a claim-status pull looks up only the claims of the portal's payers."""
    params = dict(DEMO_PARAMS.get(automation, {}))
    if automation == "claim_status_pull":
        params["payers"] = portal_payers(portal)
    return params


def _daily(portal: str) -> tuple[str, ...]:
    return {"caqh": ("caqh_status",)}.get(portal, ("claim_status_pull", "era_pull"))


def _daily_plan(accounts: dict[str, str]) -> list[tuple[str, str]]:
    """(alias, automation): each portal's daily automations dealt over its accounts."""
    plan = []
    for portal in sorted(set(accounts.values())):
        aliases = sorted(alias for alias, p in accounts.items() if p == portal)
        plan += [(aliases[i % len(aliases)], automation) for i, automation in enumerate(_daily(portal))]
    return plan


def _register_accounts(db, keys, sandbox) -> dict[str, str]:
    """One account per daily automation where the portal has the logins: one account's runs go one
    at a time, so a second login downloads the remittances while the first reads claim statuses
    (on one account, those two runs were the pull step's critical path)."""
    from core.vault import Credentials, Vault

    vault = Vault(db, keys)
    out = {}
    for name, handle in sandbox.portals.items():
        for i, a in enumerate(handle.accounts[:len(_daily(name))]):
            alias = f"{name}-demo" + (f"-{i + 1}" if i else "")
            vault.add_account(alias=alias, portal=name, base_url=handle.base_url, authorised=True,
                              credentials=Credentials(username=a.username, password=a.password,
                                                      totp_secret=a.totp_secret))
            out[alias] = name
    return out


def _runs_summary(db, ids: list[str]) -> list[dict]:
    from fleet import runs

    out = []
    for run_id in ids:
        r = runs.get_run(db, run_id)
        out.append({"automation": r.automation, "state": r.state, "error_type": r.error_type,
                    "result": {k: v for k, v in r.result.items() if not isinstance(v, list)}})
    return out


def _show_runs(d: Demo, db, ids: list[str]) -> None:
    from fleet import runs

    for run_id in ids:
        r = runs.get_run(db, run_id)
        scalars = {k: v for k, v in r.result.items() if isinstance(v, (int, str))}
        d.out.print(f"  {r.automation:<22} {r.state:<10} {r.error_type or scalars}")


def _route(db, today: date) -> dict:
    from core.routing.intake import route_pending

    with db.transaction() as s:
        report = route_pending(s, today, now=datetime.combine(today, dtime(9), tzinfo=timezone.utc))
    return report.as_dict()


def _show_queues(d: Demo, db, today: date) -> None:
    from core.routing.queues import queue_page, summary

    now = datetime.combine(today, dtime(9), tzinfo=timezone.utc)
    with db.transaction() as s:
        out = summary(s, now=now)
        d.summary["queues"] = out.as_json()
        d.out.print(f"  denied ${out.denied:,.2f} · at risk ${out.at_risk:,.2f} · {out.open_items} open items, "
                    f"{out.past_sla} past SLA")
        for team in out.teams:
            top = queue_page(s, team.team, limit=1)
            head = f" — top: {top[0].category} CARC {top[0].carc or '-'} ${top[0].amount:,.2f}" if top else ""
            d.out.print(f"  {team.team:<24} {team.open:>4} open  ${team.at_risk:>12,.2f} at risk{head}")


def _demo_appeal(db, sandbox, accounts: dict[str, str]) -> tuple[str, dict, int]:
    """An appealable denial from the work queue, its Appeal row, and the submission parameters."""
    from sqlalchemy import select

    from core.store.models import Appeal, ClaimPayment, WorkItem

    by_portal: dict[str, str] = {}
    for alias, portal in sorted(accounts.items()):
        by_portal.setdefault(portal, alias)  # the portal's first account: the one that reads claim statuses
    for portal in ("uhc", "availity"):
        if portal not in by_portal:
            continue
        ds = sandbox.portals[portal].state.dataset
        appealable = {c.id: c for c in ds.claims if ds.outcomes[c.id].appealable
                      and ds.outcomes[c.id].kind == "denied" and (c.payer == "UHC") == (portal == "uhc")}
        with db.transaction() as s:
            rows = s.execute(select(WorkItem.id, ClaimPayment.patient_control_number)
                             .join(ClaimPayment, ClaimPayment.id == WorkItem.claim_payment_id)
                             .where(WorkItem.kind == "denial").order_by(WorkItem.priority.desc())).all()
            for item_id, pcn in rows:
                claim = appealable.get(pcn)
                if claim is None:
                    continue
                appeal = Appeal(work_item_id=item_id, level=1, channel="portal", reason_category=APPEAL_REASON[portal],
                                form="reconsideration", details={"claim_number": claim.id, "payer": claim.payer})
                s.add(appeal)
                s.flush()
                params = {"claim_number": claim.id, "reason": APPEAL_REASON[portal],
                          "note": "Documentation attached; please reconsider.", "payer": claim.payer,
                          "appeal_id": appeal.id, "level": 1,
                          "attachments": [{"name": "records.pdf", "media_type": "application/pdf",
                                           "content_b64": base64.b64encode(DEMO_PDF).decode()}]}
                return by_portal[portal], params, appeal.id
    raise PayerfleetError("no appealable denial reached the work queues (did the pulls succeed?)")


def _case_status(portal, claim_number: str) -> list[dict]:
    try:
        cases = portal.cases()
    except Exception:  # noqa: BLE001 - the control API is a sandbox nicety; the demo goes on without it
        return []
    return [{k: v for k, v in c.items() if k in ("id", "status", "decision", "decided_on")}
            for c in cases if claim_number in json.dumps(c)]


def _print_summary(d: Demo) -> None:
    s = d.summary
    d.out.rule("summary")
    for name, step in s["steps"].items():
        d.out.print(f"  {'✓' if step['ok'] else '✗'} {name:<10} {step['seconds']:>6}s  {step.get('error', '')}")
    q = s.get("queues")
    if q:
        d.out.print(f"  dollars at risk ${Decimal(q['at_risk']):,.2f} across {q['open_items']} open items")
    if s.get("appeal"):
        d.out.print(f"  reconsideration: {s['appeal']['run_state']}, confirmation {s['appeal']['confirmation_number']}")
    if s.get("evidence"):
        e = s["evidence"]
        d.out.print(f"  evidence: {e['entries']} chained entries, {e['blobs_checked']} blobs verified, "
                    f"{'intact' if e['ok'] else 'PROBLEMS'}")
    d.out.print(f"  database: {s['database']}")
    d.out.print(f"  evidence: {s['evidence_dir']}")
    d.out.print(f"  took {s['seconds']}s")
    if s.get("workbench"):
        w = s["workbench"]
        d.out.print(Text.assemble("  workbench: run ", (w["command"], "bold"), f" and open {w['url']}"))
        for name, sign_in in w["sign_ins"].items():
            d.out.print(f"    sign in as {name} / {sign_in['password']}  ({sign_in['role']}"
                        + (f", queue {', '.join(sign_in['teams'])}" if sign_in["teams"] else "") + ")")
