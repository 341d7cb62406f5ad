"""`payerfleet worker | scheduler | pull | appeal submit | reconcile`: the fleet from the command line."""
from __future__ import annotations

import json
import signal
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Optional

import typer

from cli.context import command_group, console, database, fail, keys, reports_errors, settings
from cli.output import Column, fitted_table

if TYPE_CHECKING:
    from core.config import Settings
    from core.store.db import Database
    from fleet.config import FleetConfig

appeal_app = command_group("On-demand appeal submission runs.")


def register(app: typer.Typer) -> None:
    """Add the fleet commands to the root app (the one line in cli/main.py calls this)."""
    from cli.demo import demo

    app.command()(worker)
    app.command("scheduler")(scheduler_cmd)
    app.command()(pull)
    app.command()(reconcile)
    app.add_typer(appeal_app, name="appeal")
    app.command()(demo)


def _config(backend: Optional[str], concurrency: Optional[int]) -> FleetConfig:
    from fleet.config import load_fleet_config

    return load_fleet_config(backend=backend, max_contexts=concurrency)


async def drive(db: Database, current: Settings, config: FleetConfig, work: Callable[[Any], Any] | None = None,
                **fleet_kwargs: Any) -> Any:
    """Open the fleet, let `work(backend)` submit, then run this process as a worker until idle."""
    from fleet.backends import open_fleet

    async with open_fleet(db, current, keys(current, create=True), config, **fleet_kwargs) as backend:
        out = await work(backend) if work is not None else None
        await backend.run_until_idle()
        return out


def _print_runs(ids: list[str], db: Database, as_json: bool) -> None:
    from fleet import runs

    infos = [runs.get_run(db, i) for i in ids]
    if as_json:
        console.print_json(json.dumps([{"run_id": r.id, "automation": r.automation, "state": r.state,
                                        "error_type": r.error_type, "result": r.result} for r in infos if r]))
        return
    aliases = _aliases(db)
    fitted_table([Column("run", 4), Column("automation"), Column("account", 1), Column("state", 2),
                  Column("outcome", 3, wraps=True)],
                 [(r.id[:8], r.automation, aliases.get(r.account_id, "?"), r.state, r.error_type or ", ".join(
                     f"{k}={v}" for k, v in r.result.items() if not isinstance(v, (list, dict))))
                  for r in infos if r is not None])


def _aliases(db: Database) -> dict[int, str]:
    from sqlalchemy import select

    from core.store.models import PortalAccount

    with db.transaction() as s:
        return dict(s.execute(select(PortalAccount.id, PortalAccount.alias)).all())


@reports_errors
def worker(
    backend: Optional[str] = typer.Option(None, help="local or procrastinate (default: [fleet] backend)."),
    concurrency: Optional[int] = typer.Option(None, min=1, help="Concurrent browser contexts in this process."),
    until_idle: bool = typer.Option(False, "--until-idle", help="Exit when no run is left instead of waiting."),
) -> None:
    """Run portal automations from the queue (Ctrl-C stops after the running runs finish)."""
    import asyncio

    from fleet.backends import open_fleet

    current = settings()
    config = _config(backend, concurrency)
    db = database(current)
    db.ping()
    console.print(f"payerfleet worker: backend {config.backend}, {config.max_contexts} concurrent contexts")

    async def main() -> None:
        async with open_fleet(db, current, keys(current, create=True), config) as chosen:
            if until_idle:
                await chosen.run_until_idle()
                return
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, stop.set)
            await chosen.run_forever(stop)

    asyncio.run(main())


@reports_errors
def scheduler_cmd(
    backend: Optional[str] = typer.Option(None, help="Backend the enqueued runs go to (default: [fleet] backend)."),
    list_only: bool = typer.Option(False, "--list", help="Print the planned jobs and their next fire times, then exit."),
) -> None:
    """Run the schedules configured in payerfleet.toml; it only enqueues, workers run the runs."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    import scheduler as sched

    current = settings()
    config = sched.load_schedule_config()
    fleet_cfg = _config(backend, None)
    enqueuer = sched.Enqueuer(database(current), config, backend=fleet_cfg.backend)
    planned = sched.planned_jobs(enqueuer.db, config)
    now = datetime.now(config.tz)
    fitted_table([Column("job"), Column("next fire (local)", 1)],
                 [(job_id, nxt.strftime("%a %Y-%m-%d %H:%M %Z") if (nxt := trigger.get_next_fire_time(None, now)) else "-")
                  for job_id, _, _, trigger in planned])
    if list_only:
        return
    blocking = BlockingScheduler(timezone=config.tz)
    sched.install(blocking, enqueuer)
    caught = sched.catch_up(enqueuer)
    if caught:
        console.print(f"ran {len(caught)} fire(s) missed while the scheduler was down: {', '.join(caught)}",
                      markup=False)
    console.print("scheduler running (Ctrl-C stops)")
    try:
        blocking.start()
    except (KeyboardInterrupt, SystemExit):
        pass


@reports_errors
def pull(
    portal: Optional[str] = typer.Option(None, help="Only accounts of this portal."),
    account: Optional[str] = typer.Option(None, help="Only this account alias."),
    backend: Optional[str] = typer.Option(None, help="local or procrastinate."),
    wait: bool = typer.Option(True, help="Work the runs in this process and print their outcomes."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Pull now (on demand): claim statuses and ERAs, or the CAQH roster, per matching account."""
    import asyncio

    from sqlalchemy import select

    import scheduler as sched
    from core.store.models import PortalAccount
    from fleet import runs

    current = settings()
    db = database(current)
    config = _config(backend, None)
    with db.transaction() as s:
        # A named account is taken as it is, so a disabled or unauthorised one is refused by name below.
        q = select(PortalAccount).where(PortalAccount.alias == account) if account else \
            select(PortalAccount).where(PortalAccount.enabled.is_(True))
        if portal:
            q = q.where(PortalAccount.portal == portal)
        rows = list(s.scalars(q.order_by(PortalAccount.alias)))
        for row in rows:  # every account is checked before any run is queued: all or nothing
            runs.check_usable(row, row.alias)
        targets = [(row.alias, row.portal) for row in rows]
    if not targets:
        raise fail("no enabled account matches; see `payerfleet accounts list`")

    schedule = sched.load_schedule_config()
    pulls = {**sched.DAILY_BY_PORTAL, **sched.WEEKLY_BY_PORTAL}  # on demand: everything a schedule pulls
    planned = [(alias, automation, params) for alias, portal_name in targets for automation in pulls.get(portal_name, ())
               if (params := sched.pull_params(db, schedule, alias, automation)) is not None]

    async def submit_all(chosen: Any) -> list[str]:
        from fleet.backends import submit

        return [await submit(chosen, automation, alias, params, runs.Priority.ON_DEMAND)
                for alias, automation, params in planned]

    if wait:
        from cli.progress import Activity

        with Activity(console, enabled=not as_json) as shown:
            ids = asyncio.run(drive(db, current, config, submit_all, watch=shown.watch))
        _print_runs(ids, db, as_json)
    else:
        ids = [runs.submit_run(db, automation, alias, params, runs.Priority.ON_DEMAND, backend=config.backend)
               for alias, automation, params in planned]
        console.print(f"queued {len(ids)} runs for the workers")


def appeal_params(db: Database, appeal_id: int) -> tuple[dict, str]:
    """reconsideration_submit parameters from an Appeal row, and the portal its payer uses."""
    from core.errors import NotFound
    from core.store.models import Appeal, Payer, WorkItem

    with db.transaction() as s:
        appeal = s.get(Appeal, appeal_id)
        if appeal is None:
            raise NotFound(f"no appeal {appeal_id}")
        item = s.get(WorkItem, appeal.work_item_id)
        payer = s.get(Payer, item.payer_id) if item and item.payer_id else None
        details = dict(appeal.details or {})
        claim_number = details.get("claim_number")
        if not claim_number:
            raise NotFound(f"appeal {appeal_id} has no claim_number in its details")
        params = {"claim_number": claim_number, "reason": appeal.reason_category or "Other",
                  "note": details.get("note", "Please reconsider; documentation attached."),
                  "attachments": details.get("attachments", []), "payer": details.get("payer", payer.code if payer else ""),
                  "appeal_id": appeal.id, "level": appeal.level}
        return params, ("uhc" if payer is not None and payer.code == "UHC" else "availity")


@appeal_app.command("submit")
@reports_errors
def appeal_submit(
    appeal_id: int = typer.Argument(..., help="Appeal id (see `payerfleet item show`)."),
    account: Optional[str] = typer.Option(None, help="Portal account alias (default: the payer's portal account)."),
    backend: Optional[str] = typer.Option(None, help="local or procrastinate."),
    wait: bool = typer.Option(True, help="Work the run in this process and print the confirmation."),
) -> None:
    """Submit an appeal through the payer's portal, exactly once (a second call shows the first result).

    After a failure before the click (nothing was sent) the same command starts a new attempt of the
    same intent, on another account with --account.
    """
    import asyncio

    from sqlalchemy import select

    from core.store.models import PortalAccount
    from fleet import runs

    current = settings()
    db = database(current)
    config = _config(backend, None)
    params, portal = appeal_params(db, appeal_id)
    key, intent_account = _attempt_key(db, appeal_id, params["level"])
    account = account or intent_account
    if account is None:
        with db.transaction() as s:
            account = s.scalar(select(PortalAccount.alias).where(
                PortalAccount.portal == portal, PortalAccount.enabled.is_(True)).order_by(PortalAccount.alias))
        if account is None:
            raise fail(f"no enabled {portal} account; add one with `payerfleet accounts add`")
    if not wait:
        run_id = runs.submit_run(db, "reconsideration_submit", account, params, runs.Priority.ON_DEMAND, key,
                                 backend=config.backend)
        console.print(f"queued run {run_id}")
        return

    async def one(chosen: Any) -> list[str]:
        from fleet.backends import submit

        return [await submit(chosen, "reconsideration_submit", account, params, runs.Priority.ON_DEMAND, key)]

    from cli.progress import Activity

    with Activity(console) as shown:
        ids = asyncio.run(drive(db, current, config, one, watch=shown.watch))
    _print_runs(ids, db, False)


def _attempt_key(db: Database, appeal_id: int, level: int) -> tuple[str, str | None]:
    """The run's dedupe key (a new one per attempt after a failure before the click) and the intent's account."""
    from sqlalchemy import select

    from automations import intents
    from core.store.models import PortalAccount, SubmissionIntent

    base = f"appeal_submit:{appeal_id}:level:{level}"
    with db.transaction() as s:
        intent = s.scalar(select(SubmissionIntent).where(
            SubmissionIntent.idempotency_key == f"appeal:{appeal_id}:level:{level}"))
        if intent is None:
            return base, None
        alias = s.scalar(select(PortalAccount.alias).where(PortalAccount.id == intent.account_id))
        state, run_id = intent.state, intent.run_id
    if state == intents.FAILED_BEFORE_SUBMIT:
        return f"{base}:after:{run_id}", alias
    if state in (intents.SUBMITTING, intents.IN_DOUBT, intents.SAFE_TO_RETRY, intents.HUMAN_REVIEW):
        raise fail(f"appeal {appeal_id} is {state}: its outcome is the reconciler's (`payerfleet reconcile`) "
                   f"or a person's to decide, not a new submission's")
    return base, alias


@reports_errors
def reconcile(
    backend: Optional[str] = typer.Option(None, help="local or procrastinate."),
    stalled_after: Optional[float] = typer.Option(
        None, "--stalled-after", min=0,
        help="Recover runs (and Procrastinate jobs) of workers silent this many seconds (default: only lapsed "
             "leases, [fleet] stalled_after_s); 0 when you know the worker died and no other worker is running."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Resolve submissions left in doubt by a crash, from each portal's own list of submissions."""
    import asyncio

    from fleet import reconciler
    from fleet.backends import open_fleet

    current = settings()
    db = database(current)
    config = _config(backend, None)

    async def main() -> dict:
        async with open_fleet(db, current, keys(current, create=True), config) as chosen:
            if chosen.name == "procrastinate":
                await chosen.recover(stalled_after_s=stalled_after)
            else:
                chosen.recover(silent_for_s=stalled_after)
            return await reconciler.reconcile_all(chosen)

    report = asyncio.run(main())
    if as_json:
        console.print_json(json.dumps(report))
    else:
        console.print(f"swept {report['swept_in_doubt']} to IN_DOUBT, re-submitted {report['resubmitted']}; "
                      f"intents now: {report['intents'] or 'none'}")
