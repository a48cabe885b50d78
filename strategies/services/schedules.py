"""The strategies' Celery beat schedules, in the database (django-celery-beat), editable in the admin.

- the risk monitor, every STRATEGY_RISK_INTERVAL_SECONDS, and the daily performance after the close:
  seeded once by a data migration (an operator's later edits stand);
- one square-off row per intraday strategy, at its square-off time on its trading days, in its
  exchange's time zone: kept in step with the strategy whenever it is saved (strategies.receivers),
  removed with it. The task itself skips the exchange's holidays (strategies.services.squareoff).
"""
from __future__ import annotations

import json

from django.conf import settings

RISK_MONITOR = "strategies: risk monitor"
DAILY_PERFORMANCE = "strategies: daily performance"
SQUARE_OFF_PREFIX = "strategies: square-off of strategy "
DEFAULT_ZONE = "Asia/Kolkata"


def fixed_rows() -> list[dict]:
    return [
        {"name": RISK_MONITOR, "task": "strategies.jobs.risk_monitor", "args": [],
         "interval": {"every": settings.STRATEGY_RISK_INTERVAL_SECONDS, "period": "seconds"}},
        # After the last close of the day (MCX trades to 23:30 IST).
        {"name": DAILY_PERFORMANCE, "task": "strategies.jobs.daily_performance", "args": [],
         "crontab": {"minute": "50", "hour": "23", "day_of_week": "*", "day_of_month": "*",
                     "month_of_year": "*", "timezone": DEFAULT_ZONE}},
    ]


def seed_fixed(interval_model, crontab_model, task_model) -> int:
    """Create the fixed rows that do not exist yet (works with a migration's historical models)."""
    created = 0
    for row in fixed_rows():
        if task_model.objects.filter(name=row["name"]).exists():
            continue
        schedule = {}
        if "interval" in row:
            schedule["interval"], _ = interval_model.objects.get_or_create(**row["interval"])
        else:
            schedule["crontab"], _ = crontab_model.objects.get_or_create(**row["crontab"])
        task_model.objects.create(name=row["name"], task=row["task"], args=json.dumps(row["args"]), **schedule)
        created += 1
    return created


def cron_weekdays(days: list[int]) -> str:
    """Python's weekday numbers (0 = Monday) as cron's (0 = Sunday): [0, 1, 2, 3, 4] -> "1,2,3,4,5"."""
    cron = sorted({(int(d) + 1) % 7 for d in days})
    return ",".join(str(d) for d in cron) if cron else "*"


def exchange_zone(exchange: str) -> str:
    from trading.services.calendar import trading_day_start

    try:
        return str(trading_day_start(exchange).tzinfo)
    except ValueError:
        return DEFAULT_ZONE


def square_off_name(strategy_id: int) -> str:
    return f"{SQUARE_OFF_PREFIX}{strategy_id}"


def sync_square_off(strategy, crontab_model=None, task_model=None) -> None:
    """Create, re-time or disable the strategy's square-off row to match it (intraday and active: on)."""
    if crontab_model is None:
        from django_celery_beat.models import CrontabSchedule as crontab_model
        from django_celery_beat.models import PeriodicTask as task_model
    wanted = bool(strategy.is_active and strategy.is_intraday and strategy.trading_days)
    name = square_off_name(strategy.pk)
    task = task_model.objects.filter(name=name).first()
    if task is None and not wanted:
        return
    time = strategy.squareoff_time
    crontab, _ = crontab_model.objects.get_or_create(
        minute=str(time.minute), hour=str(time.hour), day_of_week=cron_weekdays(strategy.trading_days or []),
        day_of_month="*", month_of_year="*", timezone=exchange_zone(strategy.exchange))
    if task is None:
        task_model.objects.create(name=name, task="strategies.jobs.square_off_strategy",
                                  args=json.dumps([strategy.pk]), crontab=crontab, enabled=True,
                                  description=f"Intraday square-off of {strategy.name} ({strategy.exchange}).")
        return
    if task.crontab_id != crontab.pk or task.enabled != wanted:
        task.crontab, task.enabled = crontab, wanted
        task.save()  # save(), not update(): beat watches the change signal to reload its schedule


def drop_square_off(strategy_id: int) -> None:
    from django_celery_beat.models import PeriodicTask

    for task in PeriodicTask.objects.filter(name=square_off_name(strategy_id)):
        task.delete()  # delete() per row sends the signal beat watches
