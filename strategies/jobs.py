"""Celery tasks of the strategies' scheduled work (beat rows in strategies.services.schedules): the risk
monitor, the intraday square-off and the daily performance. Each takes ids, is idempotent, and returns a
one-line summary. (The signal fan-out task is in strategies.tasks.)"""
from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.utils import timezone

log = logging.getLogger(__name__)


def _done(summary: str) -> str:
    log.info(summary)
    return summary


@shared_task(name="strategies.jobs.risk_monitor", time_limit=30, soft_time_limit=25, ignore_result=True)
def risk_monitor() -> str:
    from strategies.services.riskmonitor import sweep

    summary = sweep()
    # Every few seconds: a line only when a rule fired (each firing is also in the strategy's log).
    log.log(logging.INFO if summary.fired else logging.DEBUG, "%s", summary)
    return str(summary)


@shared_task(name="strategies.jobs.square_off_strategy", time_limit=120, soft_time_limit=110)
def square_off_strategy(strategy_id: int) -> str:
    from strategies.models import Strategy
    from strategies.services.squareoff import square_off

    strategy = Strategy.objects.filter(pk=strategy_id).first()
    if strategy is None:
        return _done(f"strategy {strategy_id} square-off: no such strategy")
    return _done(str(square_off(strategy)))


@shared_task(name="strategies.jobs.daily_performance", time_limit=600, soft_time_limit=570)
def daily_performance(day: str | None = None) -> str:
    """The figures of `day` (YYYY-MM-DD; default today in the platform's time zone) for every strategy
    that traded; re-running replaces the day's rows."""
    from strategies.services.performance import compute_day

    date = dt.date.fromisoformat(day) if day else timezone.localdate()
    return _done(f"strategies daily performance {date}: {compute_day(date)} strategies")
