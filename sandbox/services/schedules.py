"""The sandbox's Celery beat schedules: seeded by a data migration, editable in the admin, and re-timed
from SandboxConfig when an operator changes a cut-off or the reset schedule there."""
from __future__ import annotations

import datetime as dt
import json

TIMEZONE = "Asia/Kolkata"
WEEKDAYS = "1-5"


def _at(time: dt.time, day_of_week: str = "*") -> dict[str, str]:
    return {"minute": str(time.minute), "hour": str(time.hour), "day_of_week": day_of_week,
            "day_of_month": "*", "month_of_year": "*"}


def schedules(squareoff: dict[str, dt.time], reset_weekday: int, reset_time: dt.time,
              reset_enabled: bool) -> list[dict]:
    """Every periodic task the sandbox needs: name, task path, args, crontab fields, enabled."""
    rows = [
        {"name": "sandbox: match resting orders (safety net)", "task": "sandbox.tasks.match_all", "args": [],
         "crontab": {"minute": "*", "hour": "*", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*"},
         "enabled": True},
        {"name": "sandbox: settle CNC buys into holdings (T+1)", "task": "sandbox.tasks.settle_cnc", "args": [],
         "crontab": _at(dt.time(0, 0)), "enabled": True},
        {"name": "sandbox: daily P&L snapshot", "task": "sandbox.tasks.daily_pnl_snapshot", "args": [],
         "crontab": _at(dt.time(23, 59)), "enabled": True},
        {"name": "sandbox: weekly fund reset", "task": "sandbox.tasks.weekly_reset", "args": [],
         "crontab": _at(reset_time, str(reset_weekday)), "enabled": reset_enabled},
    ]
    for group, time in squareoff.items():
        rows.append({"name": f"sandbox: square-off MIS {group}", "task": "sandbox.tasks.square_off",
                     "args": [group], "crontab": _at(time, WEEKDAYS), "enabled": True})
    return rows


def seed(crontab_model, task_model, rows: list[dict], *, retime_only: bool = False) -> int:
    """Create or re-time the periodic tasks (works with the real or a migration's historical models).

    With retime_only, existing tasks keep an operator's enabled flag except the reset's, which
    SandboxConfig owns; the square-off and reset times always follow the configuration."""
    changed = 0
    for row in rows:
        crontab, _ = crontab_model.objects.get_or_create(timezone=TIMEZONE, **row["crontab"])
        task = task_model.objects.filter(name=row["name"]).first()
        if task is None:
            task_model.objects.create(name=row["name"], task=row["task"], args=json.dumps(row["args"]),
                                      crontab=crontab, enabled=row["enabled"])
            changed += 1
            continue
        fields = {"crontab_id": crontab.pk}
        if not retime_only or row["task"] == "sandbox.tasks.weekly_reset":
            fields["enabled"] = row["enabled"]
        if any(getattr(task, k) != v for k, v in fields.items()):
            task_model.objects.filter(pk=task.pk).update(**fields)
            changed += 1
    return changed


def sync_from_config(config) -> int:
    """Re-time the square-off and reset tasks from a SandboxConfig row (called when it is saved)."""
    from django_celery_beat.models import CrontabSchedule, PeriodicTask, PeriodicTasks

    from sandbox.models import GROUP_EXCHANGES

    rows = schedules({g: config.squareoff_time(g) for g in GROUP_EXCHANGES}, config.reset_weekday,
                     config.reset_time, config.reset_enabled)
    rows = [r for r in rows if r["task"] in ("sandbox.tasks.square_off", "sandbox.tasks.weekly_reset")]
    changed = seed(CrontabSchedule, PeriodicTask, rows, retime_only=True)
    if changed:
        PeriodicTasks.update_changed()  # queryset update() skips the signal beat watches
    return changed
