"""Scheduled work in the database: each intraday strategy's square-off row follows the strategy; the
square-off skips the exchange's holidays and non-trading days and places each exit once; the risk
monitor and daily performance rows are seeded."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal as D

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from strategies import jobs
from strategies.models import DeploymentStatus, StrategyLog
from strategies.services import schedules
from strategies.services.squareoff import square_off
from tests.strategies.desk import *  # noqa: F403
from tests.strategies.desk import IST, deploy, long_position, make_strategy
from trading.models import Action, Order

pytestmark = pytest.mark.django_db

MONDAY_1515 = dt.datetime(2026, 11, 16, 15, 15, tzinfo=IST)
DIWALI_1515 = dt.datetime(2026, 11, 10, 15, 15, tzinfo=IST)  # Tuesday, an NSE holiday
SATURDAY_1515 = dt.datetime(2026, 11, 14, 15, 15, tzinfo=IST)


def exits_of(deployment):
    return Order.objects.filter(deployment=deployment, action=Action.SELL)


def test_the_risk_monitor_and_daily_performance_rows_are_seeded():
    monitor = PeriodicTask.objects.get(name=schedules.RISK_MONITOR)
    assert (monitor.task, monitor.interval.every, monitor.interval.period) == (
        "strategies.jobs.risk_monitor", 5, "seconds")
    daily = PeriodicTask.objects.get(name=schedules.DAILY_PERFORMANCE)
    assert (daily.crontab.hour, daily.crontab.minute, str(daily.crontab.timezone)) == ("23", "50", "Asia/Kolkata")


def test_an_intraday_strategy_gets_its_square_off_row_and_it_follows_the_strategy(
        owner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        strategy = make_strategy(owner.user, trading_days=[0, 1, 2, 3, 4])
    task = PeriodicTask.objects.get(name=schedules.square_off_name(strategy.pk))
    assert (task.task, json.loads(task.args), task.enabled) == ("strategies.jobs.square_off_strategy",
                                                                [strategy.pk], True)
    cron = task.crontab
    assert (cron.hour, cron.minute, cron.day_of_week, str(cron.timezone)) == ("15", "15", "1,2,3,4,5",
                                                                             "Asia/Kolkata")
    with django_capture_on_commit_callbacks(execute=True):
        strategy.squareoff_time = dt.time(15, 20)
        strategy.trading_days = [0, 2, 6]
        strategy.save()
    task.refresh_from_db()
    assert (task.crontab.hour, task.crontab.minute, task.crontab.day_of_week) == ("15", "20", "0,1,3")
    with django_capture_on_commit_callbacks(execute=True):
        strategy.is_intraday = False
        strategy.save()
    task.refresh_from_db()
    assert task.enabled is False
    with django_capture_on_commit_callbacks(execute=True):
        strategy.delete()
    assert not PeriodicTask.objects.filter(name=schedules.square_off_name(strategy.pk)).exists()


def test_a_positional_strategy_gets_no_square_off_row(owner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        strategy = make_strategy(owner.user, is_intraday=False)
    assert not PeriodicTask.objects.filter(name=schedules.square_off_name(strategy.pk)).exists()


def test_the_square_off_closes_active_and_paused_deployments_once(owner, other):
    strategy = make_strategy(owner.user)
    active, paused = deploy(strategy), deploy(make_strategy(other.user))
    long_position(active, 10)
    done = square_off(strategy, at=MONDAY_1515)
    assert (done.deployments, len(done.orders), done.failures) == (1, 1, [])
    assert exits_of(active).get().quantity == D("10")
    # Again the same day (a retried task): flat, nothing placed.
    assert square_off(strategy, at=MONDAY_1515).orders == []
    paused.status = DeploymentStatus.PAUSED
    paused.save()
    long_position(paused, 3)
    assert len(square_off(paused.strategy, at=MONDAY_1515).orders) == 1
    assert StrategyLog.objects.filter(strategy=strategy, message__contains="1 order(s)").exists()


def test_a_stopped_deployment_is_left_alone(owner):
    strategy = make_strategy(owner.user)
    stopped = deploy(strategy)
    long_position(stopped, 2)
    stopped.status = DeploymentStatus.STOPPED
    stopped.save()
    assert square_off(strategy, at=MONDAY_1515).deployments == 0
    assert not exits_of(stopped).exists()


def test_the_square_off_skips_an_exchange_holiday(owner):
    strategy = make_strategy(owner.user)
    d = deploy(strategy)
    long_position(d)
    done = square_off(strategy, at=DIWALI_1515)
    assert done.skipped.startswith("NSE is closed on 2026-11-10")
    assert not exits_of(d).exists()


def test_the_square_off_skips_a_day_that_is_not_a_trading_day(owner):
    strategy = make_strategy(owner.user, trading_days=[0, 1, 2, 3, 4])
    d = deploy(strategy)
    long_position(d)
    assert square_off(strategy, at=SATURDAY_1515).skipped == "Saturday is not one of its trading days"
    assert not exits_of(d).exists()


def test_the_task_reads_the_clock_and_the_calendar(owner, monkeypatch):
    strategy = make_strategy(owner.user)
    d = deploy(strategy)
    long_position(d)
    monkeypatch.setattr(timezone, "now", lambda: DIWALI_1515)
    assert "skipped: NSE is closed" in jobs.square_off_strategy(strategy.pk)
    monkeypatch.setattr(timezone, "now", lambda: MONDAY_1515)
    assert "1 order(s)" in jobs.square_off_strategy(strategy.pk)
    assert jobs.square_off_strategy(999999) == "strategy 999999 square-off: no such strategy"


def test_the_cron_weekdays_are_cron_numbered():
    assert schedules.cron_weekdays([0, 1, 2, 3, 4]) == "1,2,3,4,5"
    assert schedules.cron_weekdays([6]) == "0"
    assert schedules.cron_weekdays([]) == "*"


def test_the_risk_monitor_task_runs_a_sweep_and_says_what_it_did(owner):
    from tests.strategies.desk import price, rule

    d = deploy(make_strategy(owner.user))
    rule(d, "max_loss", "100")
    long_position(d)
    price("780")
    assert jobs.risk_monitor() == ("strategies risk monitor: 1 deployment(s) checked, 1 rule(s) fired, "
                                   "0 without a price")
    assert jobs.risk_monitor().startswith("strategies risk monitor: 0 deployment(s) checked")
