"""When runs happen: APScheduler 3 jobs that only enqueue runs through the fleet; nothing runs here.

Schedules are configuration (the `[schedule]` table of payerfleet.toml):
- per portal account, daily pulls at a local time on business days (weekends and US federal
  holidays, observed dates, skipped);
- a daily follow-up trigger: claim status checks for open work items whose follow_up_on has come;
- CAQH roster status weekly;
- an hourly reconcile trigger for submissions left in doubt.
Every enqueue carries a dedupe key (automation, account, date) that the database enforces, so a
restart, a misfire catch-up or a second scheduler never double-enqueues.
"""
from __future__ import annotations

import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger
from pydantic import BaseModel, Field, ValidationError, field_validator
from sqlalchemy import select

from core.errors import ConfigError
from core.store.db import Database
from core.store.models import Claim, ClaimPayment, Payer, PortalAccount, WorkItem
from fleet import reconciler, runs

log = structlog.get_logger()

DAILY_BY_PORTAL = {"availity": ("claim_status_pull", "era_pull"), "uhc": ("claim_status_pull", "era_pull")}
WEEKLY_BY_PORTAL = {"caqh": ("caqh_status",)}
FOLLOW_UP = "claim_status_pull"
CLOSED_STATES = ("closed_recovered", "closed_written_off")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


# -- business days -------------------------------------------------------------------------
def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _last_weekday(year: int, month: int, weekday: int) -> date:
    last = date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _observed(day: date) -> date:
    # 5 U.S.C. 6103: a Saturday holiday is observed the Friday before, a Sunday one the Monday after.
    return day - timedelta(days=1) if day.weekday() == 5 else day + timedelta(days=1) if day.weekday() == 6 else day


def federal_holidays(year: int) -> dict[date, str]:
    """Observed US federal holidays falling in `year` (incl. Dec 31 when Jan 1 next is a Saturday)."""
    def fixed(y: int) -> dict[date, str]:
        out = {_observed(date(y, 1, 1)): "New Year's Day", _observed(date(y, 7, 4)): "Independence Day",
               _observed(date(y, 11, 11)): "Veterans Day", _observed(date(y, 12, 25)): "Christmas Day"}
        if y >= 2021:
            out[_observed(date(y, 6, 19))] = "Juneteenth"
        return out

    days = {
        _nth_weekday(year, 1, 0, 3): "Martin Luther King Jr. Day",
        _nth_weekday(year, 2, 0, 3): "Washington's Birthday",
        _last_weekday(year, 5, 0): "Memorial Day",
        _nth_weekday(year, 9, 0, 1): "Labor Day",
        _nth_weekday(year, 10, 0, 2): "Columbus Day",
        _nth_weekday(year, 11, 3, 4): "Thanksgiving Day",
        **fixed(year), **fixed(year + 1),
    }
    return {d: name for d, name in days.items() if d.year == year}


def is_business_day(day: date) -> bool:
    return day.weekday() < 5 and day not in federal_holidays(day.year)


# -- configuration -------------------------------------------------------------------------
class AccountSchedule(BaseModel):
    model_config = {"frozen": True, "extra": "forbid"}
    alias: str
    # Automations pulled daily for this account; default by portal (claim status + ERAs).
    automations: tuple[str, ...] | None = None
    # Local "HH:MM" (or "HH:MM:SS"); default the schedule's daily_time.
    time: str | None = None


class ScheduleConfig(BaseModel):
    model_config = {"frozen": True, "extra": "forbid"}
    # IANA zone the local times are in (the practice's, not the server's).
    timezone: str = "America/New_York"
    daily_time: str = "06:30"
    follow_up_time: str = "07:30"
    caqh_day: str = "mon"
    caqh_time: str = "06:00"
    # Minutes past each hour at which in-doubt submissions are reconciled; None switches it off.
    reconcile_minute: int | None = Field(default=15, ge=0, le=59)
    # A fire missed by up to this long (scheduler down) still runs once (coalesced); later it is skipped.
    misfire_grace_s: int = Field(default=4 * 3600, ge=1)
    # Empty: every enabled, authorised (or loopback sandbox) account with its portal's defaults.
    accounts: tuple[AccountSchedule, ...] = ()
    # Payer code -> portal used for follow-up status checks; others go to "availity".
    payer_portals: dict[str, str] = Field(default_factory=lambda: {"UHC": "uhc"})

    @field_validator("daily_time", "follow_up_time", "caqh_time")
    @classmethod
    def _hhmm(cls, v: str) -> str:
        _parse_time(v)
        return v

    @field_validator("caqh_day")
    @classmethod
    def _day(cls, v: str) -> str:
        if v not in WEEKDAYS:
            raise ValueError(f"caqh_day must be one of {WEEKDAYS}")
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except Exception as exc:  # ZoneInfoNotFoundError or a malformed key
            raise ValueError(f"unknown time zone {v!r}") from exc
        return v

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def portal_for(self, payer_code: str) -> str:
        """The portal a payer's claims are worked on: payer_portals, else Availity (a multi-payer portal)."""
        return self.payer_portals.get(payer_code, "availity")


def _parse_time(value: str) -> tuple[int, int, int]:
    """Parse "HH:MM" or "HH:MM:SS" into (hour, minute, second)."""
    try:
        parts = [int(p) for p in value.split(":")]
    except ValueError:
        parts = []
    if len(parts) not in (2, 3):
        raise ValueError(f"time must be HH:MM or HH:MM:SS, got {value!r}")
    hour, minute, second = (*parts, 0)[:3]
    if not (0 <= hour < 24 and 0 <= minute < 60 and 0 <= second < 60):
        raise ValueError(f"time out of range: {value!r}")
    return hour, minute, second


def load_schedule_config(path: Path | None = None) -> ScheduleConfig:
    path = path or Path(os.environ.get("PAYERFLEET_CONFIG", "payerfleet.toml"))
    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = dict(tomllib.loads(path.read_text()).get("schedule", {}))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}") from exc
    try:
        return ScheduleConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(f"invalid [schedule]: {'.'.join(map(str, first['loc']))}: {first['msg']}") from exc


# -- what each trigger enqueues ------------------------------------------------------------
def pull_params(db: Database, config: ScheduleConfig, alias: str, automation: str) -> dict | None:
    """Parameters of a daily pull for one account (scheduled or on demand).

    A claim-status pull asks only for the payers worked on the account's portal (the others would
    all come back "not found"); None when no stored payer is worked there, so nothing is pulled.
    """
    if automation != "claim_status_pull":
        return {}
    with db.transaction() as s:
        portal = s.scalar(select(PortalAccount.portal).where(PortalAccount.alias == alias))
        codes = list(s.scalars(select(Payer.code)))
    payers = sorted(c for c in codes if config.portal_for(c) == portal)
    return {"payers": payers} if payers else None


@dataclass
class Enqueuer:
    """The job functions; `now` is injected so tests pick the day, and nothing here runs a browser."""

    db: Database
    config: ScheduleConfig
    backend: str = "local"
    now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)

    def today(self) -> date:
        return self.now().astimezone(self.config.tz).date()

    def daily(self, alias: str, automation: str) -> str | None:
        day = self.today()
        if not is_business_day(day):
            log.info("schedule.skipped", action="enqueue", automation=automation, account=alias, reason="not a business day")
            return None
        params = pull_params(self.db, self.config, alias, automation)
        if params is None:
            log.info("schedule.skipped", action="enqueue", automation=automation, account=alias,
                     reason="no stored payer is worked on this account's portal")
            return None
        return self._submit(automation, alias, params, runs.Priority.SCHEDULED, day)

    def weekly(self, alias: str, automation: str) -> str | None:
        return self._submit(automation, alias, {}, runs.Priority.SCHEDULED, self.today())

    def follow_ups(self) -> list[str]:
        """One status check per portal account for open items whose follow-up date has come."""
        day = self.today()
        if not is_business_day(day):
            return []
        refs: dict[str, list[dict]] = {}
        with self.db.transaction() as s:
            accounts = _accounts_by_portal(s)
            q = (select(WorkItem.id, Payer.code, Claim.patient_control_number, ClaimPayment.payer_claim_number)
                 .join(Payer, Payer.id == WorkItem.payer_id, isouter=True)
                 .join(Claim, Claim.id == WorkItem.claim_id, isouter=True)
                 .join(ClaimPayment, ClaimPayment.id == WorkItem.claim_payment_id, isouter=True)
                 .where(WorkItem.follow_up_on <= day, WorkItem.state.not_in(CLOSED_STATES))
                 .order_by(WorkItem.id))
            for _item_id, payer_code, pcn, payer_claim in s.execute(q):
                portal = self.config.portal_for(payer_code or "")
                if not accounts.get(portal) or not (pcn or payer_claim):
                    continue
                ref = {"claim_number": payer_claim or "", "patient_control_number": pcn or ""}
                bucket = refs.setdefault(accounts[portal][0], [])
                if ref not in bucket:
                    bucket.append(ref)
        return [self._submit(FOLLOW_UP, alias, {"claims": claims}, runs.Priority.FOLLOW_UP, day, kind="follow_up")
                for alias, claims in sorted(refs.items())]

    def reconcile(self) -> list[str]:
        """Sweep dead SUBMITTING intents to IN_DOUBT and queue one reconcile run per account."""
        reconciler.sweep_in_doubt(self.db)
        hour = self.now().astimezone(timezone.utc).strftime("%Y-%m-%dT%H")
        return [runs.submit_run(self.db, reconciler.RECONCILE_SUBMISSIONS.name, alias, {}, runs.Priority.ON_DEMAND,
                                f"reconcile:{alias}:{hour}", backend=self.backend)
                for alias in reconciler.accounts_in_doubt(self.db)]

    def _submit(self, automation: str, alias: str, params: dict, priority: int, day: date, kind: str = "") -> str:
        key = runs.dedupe_key(f"{kind}:{automation}" if kind else automation, alias, day.isoformat())
        return runs.submit_run(self.db, automation, alias, params, priority, key, backend=self.backend)


def _runnable(session) -> list[tuple[str, str]]:
    """(alias, portal) of enabled accounts the fleet may use: authorised, or a sandbox on loopback."""
    q = (select(PortalAccount.alias, PortalAccount.portal, PortalAccount.authorised, PortalAccount.base_url)
         .where(PortalAccount.enabled.is_(True)).order_by(PortalAccount.alias))
    return [(alias, portal) for alias, portal, authorised, url in session.execute(q)
            if authorised or runs.is_loopback(url)]


def _accounts_by_portal(session) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for alias, portal in _runnable(session):
        out.setdefault(portal, []).append(alias)
    return out


# -- the APScheduler jobs ------------------------------------------------------------------
def planned_jobs(db: Database, config: ScheduleConfig) -> list[tuple[str, str, tuple, CronTrigger]]:
    """(job id, Enqueuer method, args, trigger) for every configured schedule."""
    tz = config.tz
    jobs: list[tuple[str, str, tuple, CronTrigger]] = []
    with db.transaction() as s:
        portals = dict(_runnable(s))
    chosen = config.accounts or tuple(AccountSchedule(alias=a) for a in sorted(portals))
    for acc in chosen:
        if acc.alias not in portals:
            raise ConfigError(f"[schedule] names account {acc.alias!r}, which is not an enabled, authorised account")
        portal = portals[acc.alias]
        hour, minute, second = _parse_time(acc.time or config.daily_time)
        for automation in acc.automations if acc.automations is not None else DAILY_BY_PORTAL.get(portal, ()):
            jobs.append((f"daily:{automation}:{acc.alias}", "daily", (acc.alias, automation),
                         CronTrigger(day_of_week="mon-fri", hour=hour, minute=minute, second=second, timezone=tz)))
        ch, cm, cs = _parse_time(config.caqh_time)
        for automation in WEEKLY_BY_PORTAL.get(portal, ()):
            jobs.append((f"weekly:{automation}:{acc.alias}", "weekly", (acc.alias, automation),
                         CronTrigger(day_of_week=config.caqh_day, hour=ch, minute=cm, second=cs, timezone=tz)))
    fh, fm, fs = _parse_time(config.follow_up_time)
    jobs.append(("daily:follow_ups", "follow_ups", (),
                 CronTrigger(day_of_week="mon-fri", hour=fh, minute=fm, second=fs, timezone=tz)))
    if config.reconcile_minute is not None:
        jobs.append(("hourly:reconcile", "reconcile", (), CronTrigger(minute=config.reconcile_minute, timezone=tz)))
    return jobs


def install(scheduler: BaseScheduler, enqueuer: Enqueuer) -> list[str]:
    """Add every planned job to `scheduler`; misfire grace and coalescing set explicitly on each."""
    ids = []
    for job_id, method, args, trigger in planned_jobs(enqueuer.db, enqueuer.config):
        if scheduler.get_job(job_id) is not None:  # before start(), replace_existing does not apply
            scheduler.remove_job(job_id)
        scheduler.add_job(getattr(enqueuer, method), trigger, args=args, id=job_id, name=job_id,
                          replace_existing=True, coalesce=True, max_instances=1,
                          misfire_grace_time=enqueuer.config.misfire_grace_s)
        ids.append(job_id)
    log.info("schedule.installed", action="install", jobs=len(ids))
    return ids


def catch_up(enqueuer: Enqueuer) -> list[str]:
    """Run each job whose last fire fell within misfire_grace_s before now (the scheduler was down then),
    once and dated by that fire (as APScheduler coalesces a misfire). A fire that had run before a
    restart is refused by its dedupe key, so a restart never doubles a pull."""
    now = enqueuer.now()
    grace = timedelta(seconds=enqueuer.config.misfire_grace_s)
    caught = []
    for job_id, method, args, trigger in planned_jobs(enqueuer.db, enqueuer.config):
        missed = trigger.get_next_fire_time(None, now - grace)
        if missed is None or missed > now:
            continue
        while (later := trigger.get_next_fire_time(missed, missed + timedelta(seconds=1))) and later <= now:
            missed = later
        log.info("schedule.caught_up", action="enqueue", job=job_id, missed_fire=missed.isoformat())
        getattr(replace(enqueuer, now=lambda at=missed: at), method)(*args)
        caught.append(job_id)
    return caught
