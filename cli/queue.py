"""`payerfleet queue`, `payerfleet route` and `payerfleet item ...`: work queues and dispositions."""
from __future__ import annotations

import json
import os
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Optional

import typer
from rich.text import Text

from cli.context import command_group, console, database, fail, reports_errors, settings
from cli.output import WIDE_HELP, Column, fitted_table, labelled, money, when

item_app = command_group("Move a work item through its states and record payer touches.")


def register(app: typer.Typer) -> None:
    """Add the routing commands to the root app (the one line in cli/main.py calls this)."""
    from cli.summary import summary

    app.command()(queue)
    app.command()(summary)
    app.command()(route)
    app.add_typer(item_app, name="item")


def _today(value: Optional[str]) -> date:
    # The CLI is the edge where the clock is read; everything below it takes `today` injected.
    if value is None:
        return datetime.now(timezone.utc).date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise fail(f"--today must be YYYY-MM-DD, got {value!r}") from None


def _now(today: date) -> datetime:
    now = datetime.now(timezone.utc)
    return now if now.date() == today else datetime.combine(today, now.time(), tzinfo=timezone.utc)


def _actor(value: Optional[str]) -> str:
    return value or f"cli:{os.environ.get('USER', 'operator')}"


# Display order; rank says what stays when the terminal is narrow (money and the next date first).
QUEUE_COLUMNS = (Column("id", 0, "right"), Column("kind", 9), Column("category", 3), Column("carc", 5),
                 Column("payer", 2), Column("amount", 1, "right"), Column("appeal by", 6), Column("due", 4),
                 Column("SLA", 10), Column("priority", 8, "right"), Column("action", 7), Column("state", 11))


@reports_errors
def queue(team: Optional[str] = typer.Option(None, "--team", help="Only this team's queue."),
          limit: int = typer.Option(50, "--limit", min=1, max=1000, help="Items per team."),
          wide: bool = typer.Option(False, "--wide", help=WIDE_HELP),
          as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Print each team's open work, highest priority first, with due dates."""
    from core.routing import load_config, queue_page, teams_with_work

    current = settings()
    config = load_config(current)
    db = database(current)
    with db.transaction() as session:
        teams = [team] if team else teams_with_work(session, list(config.table.teams))
        pages = {t: queue_page(session, t, limit=limit) for t in teams}
    if as_json:
        typer.echo(json.dumps({t: [r.as_json() for r in rows] for t, rows in pages.items()}, indent=2))
        return
    if not any(pages.values()):
        console.print("No open work items." if not team else f"No open work items for team {team}.", markup=False)
        return
    for t, rows in pages.items():
        fitted_table(QUEUE_COLUMNS, [(r.id, r.kind, r.category, r.carc or "", r.payer or "", money(r.amount),
                                      when(r.appeal_deadline), when(r.due_on), when(r.sla_due_at),
                                      f"{r.priority:,.1f}", r.action, r.state) for r in rows],
                     wide=wide, title=f"{config.table.teams.get(t, t)} ({t})")


@reports_errors
def route(today: Optional[str] = typer.Option(None, "--today", help="Routing date (default: today, UTC)."),
          as_json: bool = typer.Option(False, "--json")) -> None:
    """Route everything ingested since the last run, then re-prioritise every open item."""
    from core.routing import load_config, reprioritise, route_pending

    day = _today(today)
    current = settings()
    config = load_config(current)
    with database(current).transaction() as session:
        report = route_pending(session, day, now=_now(day), config=config)
        rescored = reprioritise(session, day, now=_now(day), config=config)
    out = {**report.as_dict(), "reprioritised": rescored}
    if as_json:
        typer.echo(json.dumps(out, indent=2))
        return
    console.print(f"created {report.total_created} work items "
                  f"({', '.join(f'{k} {v}' for k, v in sorted(report.created.items())) or 'none'}); "
                  f"triage {report.triage}, write-off {report.write_off}, root causes {report.root_causes}; "
                  f"re-prioritised {rescored} open items")


@item_app.command("show")
@reports_errors
def show(item_id: int, as_json: bool = typer.Option(False, "--json")) -> None:
    """One item with its payer rules, transitions and touches."""
    from core.routing.details import item_details

    current = settings()
    with database(current).transaction() as session:
        details = item_details(session, item_id)
    if as_json:
        typer.echo(json.dumps(details, indent=2, default=str))
        return
    _show_item(details)


def _show_item(d: dict) -> None:
    rule = d.get("first_level")
    codes = "-".join(c for c in (d["group_code"], d["carc"]) if c)
    priority = d["queue_priority"] if d["queue_priority"] is not None else d["priority"]
    history = [f"{when(t['at'])} {t['from'] or 'new'} -> {t['to']} by {t['actor']}"
               + (f": {t['reason']}" if t["reason"] else "") for t in d["transitions"]]
    touches = [", ".join(str(p) for p in (
        when(t["submitted_on"]), t["channel"], t["confirmation_number"] and f"confirmation {t['confirmation_number']}",
        t["outcome"], t["paid_amount"] is not None and f"paid {money(t['paid_amount'])}",
        t["follow_up_on"] and f"follow up {when(t['follow_up_on'])}", t["next_action"], t["owner"],
        t["write_off_reason"], t["root_cause"]) if p) for t in d["touches"]]
    console.print(Text(f"work item {d['id']}: {d['kind']}, {d['state']}", style="bold"))
    labelled([
        ("claim", d["claim_number"]), ("payer claim", d["payer_claim_number"]), ("payer", d["payer"]),
        ("plan type", d["plan_type"]), ("amount", money(d["amount"])), ("recovered", money(d["recovered_amount"])),
        ("category", d["category"]), ("team", d["team"]), ("owner", d["owner"]), ("action", d["action"]),
        ("source", d["intake_source"]), ("adjustment", " ".join(c for c in (codes, d["rarc"]) if c)),
        ("procedure", d["procedure_code"]), ("service date", when(d["dos"])),
        ("determined", when(d["determined_on"])), ("filing by", when(d["filing_deadline"])),
        ("appeal by", when(d["appeal_deadline"])), ("due", when(d["due_on"])), ("SLA", when(d["sla_due_at"])),
        ("follow up", when(d["follow_up_on"])),
        ("priority", f"{priority:,.1f} (recoverability {d['recoverability']:.0%})"),
        ("reason", d["reason"]), ("root cause", d["root_cause"]), ("part of item", d["parent_id"]),
        ("first level", rule and ", ".join(v for v in (rule["channel"], rule["form"], rule.get("portal")) if v)),
        ("escalation", " > ".join(d.get("escalation", []))),
        ("rule sources", "; ".join(d.get("rule_sources", []))),
        ("next states", ", ".join(d["next_states"])),
        ("history", "\n".join(history)), ("payer touches", "\n".join(touches)),
    ])


@item_app.command("move")
@reports_errors
def move(item_id: int, state: str,
         reason: Optional[str] = typer.Option(None, "--reason", help="Required to write off."),
         recovered: Optional[str] = typer.Option(None, "--recovered", help="Dollars recovered, when closing."),
         owner: Optional[str] = typer.Option(None, "--owner", help="Who works it from now on."),
         actor: Optional[str] = typer.Option(None, "--actor")) -> None:
    """Move an item to STATE (assigned, correcting, appealing, submitted, awaiting_payer, paid,
    partially_paid, upheld, more_info_requested, closed_recovered, closed_written_off)."""
    from core.routing import transition

    day = _today(None)
    with database().transaction() as session:
        item = transition(session, item_id, state, actor=_actor(actor), now=_now(day), reason=reason,
                          recovered_amount=_money(recovered, "--recovered"), owner=owner)
        console.print(f"work item {item.id}: now {item.state}")


@item_app.command("touch")
@reports_errors
def touch(item_id: int,
          channel: Optional[str] = typer.Option(None, "--channel", help="portal, mail, fax or phone."),
          submitted_on: Optional[str] = typer.Option(None, "--submitted-on", help="YYYY-MM-DD"),
          confirmation: Optional[str] = typer.Option(None, "--confirmation"),
          next_action: Optional[str] = typer.Option(None, "--next-action"),
          owner: Optional[str] = typer.Option(None, "--owner"),
          outcome: Optional[str] = typer.Option(None, "--outcome",
                                                help="paid, partially_paid, upheld, more_info or written_off."),
          paid: Optional[str] = typer.Option(None, "--paid"),
          billed: Optional[str] = typer.Option(None, "--billed"),
          write_off_reason: Optional[str] = typer.Option(None, "--write-off-reason"),
          root_cause: Optional[str] = typer.Option(None, "--root-cause"),
          actor: Optional[str] = typer.Option(None, "--actor")) -> None:
    """Record a payer touch: a submission (sets the follow-up date) and/or the payer's answer."""
    from core.routing import Touch, load_config, record_touch

    current = settings()
    day = _today(None)
    data = Touch(submitted_on=_today(submitted_on) if submitted_on else None, confirmation_number=confirmation,
                 channel=channel, next_action=next_action, owner=owner, outcome=outcome,
                 paid_amount=_money(paid, "--paid"), billed_amount=_money(billed, "--billed"),
                 write_off_reason=write_off_reason, root_cause=root_cause)
    with database(current).transaction() as session:
        row = record_touch(session, item_id, data, actor=_actor(actor), now=_now(day), config=load_config(current))
        follow = f", follow up on {row.follow_up_on.isoformat()}" if row.follow_up_on else ""
        console.print(f"work item {item_id}: touch {row.id} recorded{follow}")


def _money(value: Optional[str], flag: str) -> Optional[Decimal]:
    if value is None:
        return None
    try:
        return Decimal(value).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise fail(f"{flag} must be an amount like 120.50, got {value!r}") from None
