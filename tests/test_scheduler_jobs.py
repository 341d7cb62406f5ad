"""The scheduler only enqueues: business days, dedupe keys, follow-ups, job options (injected clock)."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import func, select

import scheduler as sched
from core.errors import ConfigError
from core.store.models import AutomationRun, Claim, Payer, WorkItem
from fleet import runs
from fleet_support import add_account

NY = ZoneInfo("America/New_York")


def at(y, m, d, hh=6, mm=30) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=NY)


@pytest.mark.parametrize("year,expected", [
    (2026, {date(2026, 1, 1), date(2026, 1, 19), date(2026, 2, 16), date(2026, 5, 25), date(2026, 6, 19),
            date(2026, 7, 3), date(2026, 9, 7), date(2026, 10, 12), date(2026, 11, 11), date(2026, 11, 26),
            date(2026, 12, 25)}),
    # Jan 1 2028 is a Saturday: observed Friday Dec 31 2027; Dec 25 2027 (Sat) observed Dec 24.
    (2027, {date(2027, 1, 1), date(2027, 1, 18), date(2027, 2, 15), date(2027, 5, 31), date(2027, 6, 18),
            date(2027, 7, 5), date(2027, 9, 6), date(2027, 10, 11), date(2027, 11, 11), date(2027, 11, 25),
            date(2027, 12, 24), date(2027, 12, 31)}),
])
def test_federal_holidays_with_observed_dates(year, expected):
    assert set(sched.federal_holidays(year)) == expected


def test_business_days_skip_weekends_and_holidays():
    assert sched.is_business_day(date(2026, 11, 25))
    assert not sched.is_business_day(date(2026, 11, 26))  # Thanksgiving
    assert not sched.is_business_day(date(2026, 11, 28))  # Saturday
    assert not sched.is_business_day(date(2027, 12, 31))  # New Year's 2028 observed


def _enqueuer(db, when: datetime, **config) -> sched.Enqueuer:
    return sched.Enqueuer(db, sched.ScheduleConfig(**config), now=lambda: when)


def _count(db) -> int:
    with db.transaction() as s:
        return s.scalar(select(func.count()).select_from(AutomationRun))


def test_daily_pull_enqueues_once_per_account_and_day(db):
    add_account(db, "avail-1")
    first = _enqueuer(db, at(2026, 11, 25))
    second = _enqueuer(db, at(2026, 11, 25, 9, 0))  # a restarted or second scheduler, same day
    run_id = first.daily("avail-1", "era_pull")
    assert second.daily("avail-1", "era_pull") == run_id
    assert first.daily("avail-1", "era_pull") == run_id
    run = runs.get_run(db, run_id)
    assert (run.dedupe_key, run.priority, run.state) == ("era_pull:avail-1:2026-11-25", runs.Priority.SCHEDULED,
                                                         runs.QUEUED)
    assert _enqueuer(db, at(2026, 11, 27)).daily("avail-1", "era_pull") != run_id
    assert _count(db) == 2


def test_daily_pull_skips_holidays_in_the_practice_time_zone(db):
    add_account(db, "avail-1")
    assert _enqueuer(db, at(2026, 11, 26)).daily("avail-1", "era_pull") is None
    # 02:00 UTC on Friday 27 Nov is still Thanksgiving evening in New York.
    late = datetime(2026, 11, 27, 2, 0, tzinfo=timezone.utc)
    assert _enqueuer(db, late).daily("avail-1", "era_pull") is None
    assert _count(db) == 0


def _work_item(db, key: str, payer_code: str, pcn: str, follow_up: date, state: str = "appealed") -> None:
    with db.transaction() as s:
        payer = s.scalar(select(Payer).where(Payer.code == payer_code))
        if payer is None:
            payer = Payer(code=payer_code, name=payer_code)
            s.add(payer)
            s.flush()
        claim = Claim(payer_id=payer.id, patient_control_number=pcn, billed_amount=Decimal("100.00"))
        s.add(claim)
        s.flush()
        s.add(WorkItem(dedupe_key=key, kind="denial", intake_source="835", claim_id=claim.id, payer_id=payer.id,
                       category="authorization", team="prior_auth", amount=Decimal("100.00"), action="work_today",
                       state=state, follow_up_on=follow_up))


def test_daily_status_pull_asks_each_portal_only_for_the_payers_worked_there(db):
    add_account(db, "avail-1")
    add_account(db, "uhc-1", "uhc")
    enq = _enqueuer(db, at(2026, 11, 25))
    assert enq.daily("uhc-1", "claim_status_pull") is None  # no UHC claim stored yet: nothing to ask UHC
    with db.transaction() as s:
        s.add_all([Payer(code=code, name=code) for code in ("AETNA", "UHC", "CIGNA")])
    params = {alias: runs.get_run(db, enq.daily(alias, "claim_status_pull")).params for alias in ("avail-1", "uhc-1")}
    assert params == {"avail-1": {"payers": ["AETNA", "CIGNA"]}, "uhc-1": {"payers": ["UHC"]}}
    assert runs.get_run(db, enq.daily("avail-1", "era_pull")).params == {}


def test_follow_ups_enqueue_status_checks_for_items_due(db):
    add_account(db, "avail-1")
    add_account(db, "uhc-1", "uhc")
    _work_item(db, "w1", "AETNA", "PCN1", date(2026, 11, 20))
    _work_item(db, "w2", "UHC", "PCN2", date(2026, 11, 25))
    _work_item(db, "w3", "UHC", "PCN3", date(2026, 12, 10))  # not yet due
    _work_item(db, "w4", "AETNA", "PCN4", date(2026, 11, 1), state="closed_recovered")
    enq = _enqueuer(db, at(2026, 11, 25, 7, 30))
    ids = enq.follow_ups()
    assert enq.follow_ups() == ids
    got = {runs.get_run(db, i).account_id: runs.get_run(db, i) for i in ids}
    assert len(got) == 2
    claims = sorted(c["patient_control_number"] for r in got.values() for c in r.params["claims"])
    assert claims == ["PCN1", "PCN2"]
    assert {r.priority for r in got.values()} == {runs.Priority.FOLLOW_UP}
    assert _enqueuer(db, at(2026, 11, 26, 7, 30)).follow_ups() == []  # Thanksgiving


def test_jobs_carry_explicit_misfire_grace_and_coalescing(db):
    add_account(db, "avail-1")
    add_account(db, "uhc-1", "uhc")
    add_account(db, "caqh-1", "caqh")
    add_account(db, "not-authorised", authorised=False)
    enq = _enqueuer(db, at(2026, 11, 25), misfire_grace_s=1800)
    scheduler = BackgroundScheduler(timezone=NY)
    ids = sched.install(scheduler, enq)
    assert sorted(ids) == sorted([
        "daily:claim_status_pull:avail-1", "daily:era_pull:avail-1", "daily:claim_status_pull:uhc-1",
        "daily:era_pull:uhc-1", "weekly:caqh_status:caqh-1", "daily:follow_ups", "hourly:reconcile"])
    for job in scheduler.get_jobs():
        assert (job.misfire_grace_time, job.coalesce, job.max_instances) == (1800, True, 1)
    # Installing again (a restart) replaces the jobs instead of doubling them.
    sched.install(scheduler, enq)
    assert len(scheduler.get_jobs()) == len(ids)


def test_triggers_fire_on_local_business_mornings(db):
    add_account(db, "avail-1")
    add_account(db, "caqh-1", "caqh")
    jobs = {j[0]: j[3] for j in sched.planned_jobs(db, sched.ScheduleConfig(daily_time="06:30"))}
    daily = jobs["daily:era_pull:avail-1"]
    # Friday 07:00 local -> Monday 06:30 local (the weekend has no fire).
    nxt = daily.get_next_fire_time(None, at(2026, 11, 27, 7, 0))
    assert nxt == at(2026, 11, 30, 6, 30)
    weekly = jobs["weekly:caqh_status:caqh-1"]
    assert weekly.get_next_fire_time(None, at(2026, 11, 25)) == at(2026, 11, 30, 6, 0)


def test_per_account_schedule_and_bad_config_are_refused_clearly(db):
    add_account(db, "avail-1")
    cfg = sched.ScheduleConfig(accounts=[{"alias": "avail-1", "automations": ["era_pull"], "time": "05:15"}])
    jobs = {j[0]: j[3] for j in sched.planned_jobs(db, cfg)}
    assert "daily:claim_status_pull:avail-1" not in jobs
    assert jobs["daily:era_pull:avail-1"].get_next_fire_time(None, at(2026, 11, 25, 5, 0)) == at(2026, 11, 25, 5, 15)
    with pytest.raises(ConfigError, match="ghost"):
        sched.planned_jobs(db, sched.ScheduleConfig(accounts=[{"alias": "ghost"}]))
    for bad in ({"daily_time": "25:00"}, {"timezone": "Mars/Olympus"}, {"caqh_day": "someday"}):
        with pytest.raises(ValueError):
            sched.ScheduleConfig(**bad)


def test_schedule_config_file_errors_are_typed(tmp_path):
    path = tmp_path / "payerfleet.toml"
    path.write_text('[schedule]\ndaily_time = "6.30"\n')
    with pytest.raises(ConfigError, match="daily_time"):
        sched.load_schedule_config(path)
    path.write_text('[schedule]\ndaily_time = "05:45"\n')
    assert sched.load_schedule_config(path).daily_time == "05:45"


def test_a_fire_missed_while_the_scheduler_was_down_runs_once_at_start_dated_by_that_fire(db):
    add_account(db, "avail-1")
    config = {"accounts": [{"alias": "avail-1", "automations": ["era_pull"]}], "misfire_grace_s": 1800,
              "reconcile_minute": None}

    def keys() -> list[str]:
        with db.transaction() as s:
            return sorted(s.scalars(select(AutomationRun.dedupe_key)))

    assert sched.catch_up(_enqueuer(db, at(2026, 11, 25, 6, 20), **config)) == []  # the 06:30 fire is ahead
    assert sched.catch_up(_enqueuer(db, at(2026, 11, 25, 7, 10), **config)) == []  # 40 min late: past the grace
    started = _enqueuer(db, at(2026, 11, 25, 6, 50), **config)
    assert sched.catch_up(started) == ["daily:era_pull:avail-1"]
    assert sched.catch_up(started) == ["daily:era_pull:avail-1"]  # a restart: the store refuses the second
    assert keys() == ["era_pull:avail-1:2026-11-25"]
    # A late-evening fire missed across midnight is dated by its own day, so it does not take today's.
    late = {**config, "accounts": [{"alias": "avail-1", "automations": ["era_pull"], "time": "23:50"}]}
    assert sched.catch_up(_enqueuer(db, at(2026, 11, 24, 0, 10), **late)) == ["daily:era_pull:avail-1"]
    assert keys() == ["era_pull:avail-1:2026-11-23", "era_pull:avail-1:2026-11-25"]
