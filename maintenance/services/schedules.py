"""Maintenance's Celery beat schedules, in the database (django-celery-beat) and editable in the admin.

One periodic task per retention policy ("retention: <target>", nightly, staggered five minutes apart
from 02:00 IST so no two runs compete), and one per housekeeping job. Seeded by the data migration and,
for targets registered later, on every `migrate` (signals._ensure_policies); an operator's later changes
(times, enabled flags) are never overwritten: only what is missing is created.
"""
from __future__ import annotations

import json

from django.apps import apps as global_apps

TIMEZONE = "Asia/Kolkata"
RETENTION_TASK = "maintenance.tasks.run_retention_policy"
FIRST_RETENTION = (2, 0)  # 02:00 IST: after the sandbox's midnight settlement, long before any market opens
STAGGER_MINUTES = 5

# name, task, crontab (minute, hour): daily at that IST time, or every hour at that minute with hour "*".
HOUSEKEEPING = [
    ("housekeeping: reset the daily IP-ban trackers", "maintenance.tasks.reset_ban_trackers", ("1", "0")),
    ("housekeeping: forget ended IP bans", "maintenance.tasks.forget_ended_ip_bans", ("10", "3")),
    ("housekeeping: clear expired sessions", "maintenance.tasks.clear_expired_sessions", ("20", "3")),
    ("housekeeping: delete Celery task results older than a week", "maintenance.tasks.delete_old_task_results",
     ("30", "3")),
    ("housekeeping: deactivate expired API keys", "maintenance.tasks.deactivate_expired_api_keys", ("5", "*")),
]


def schedule_name(target: str) -> str:
    return f"retention: {target}"


def _crontab(crontab_model, minute: str, hour: str):
    found, _ = crontab_model.objects.get_or_create(minute=minute, hour=hour, day_of_week="*", day_of_month="*",
                                                   month_of_year="*", timezone=TIMEZONE)
    return found


def _nightly_slot(index: int) -> tuple[str, str]:
    minutes = FIRST_RETENTION[0] * 60 + FIRST_RETENTION[1] + index * STAGGER_MINUTES
    return str(minutes % 60), str((minutes // 60) % 24)


def ensure_policies(apps=global_apps, using: str = "default") -> int:
    """Create the policy (with the target's defaults) and the nightly task of every registered target that
    has none, and the housekeeping tasks that are missing. Works with a migration's historical models.
    Returns how many rows it created."""
    from maintenance import targets

    policy_model = apps.get_model("maintenance", "RetentionPolicy")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab_model = apps.get_model("django_celery_beat", "CrontabSchedule")
    created = 0
    for index, target in enumerate(sorted(targets.TARGETS.values(), key=lambda t: t.name)):
        policy = policy_model.objects.using(using).filter(target=target.name).first()
        if policy is None:
            policy = policy_model.objects.using(using).create(
                target=target.name, keep_days=target.keep_days, action=target.action, batch_size=target.batch_size)
            created += 1
        if policy.schedule_id is None:
            task, made = task_model.objects.using(using).get_or_create(
                name=schedule_name(target.name),
                defaults={"task": RETENTION_TASK, "args": json.dumps([policy.pk]), "enabled": policy.enabled,
                          "crontab": _crontab(crontab_model, *_nightly_slot(index))})
            policy_model.objects.using(using).filter(pk=policy.pk).update(schedule=task)
            created += made
    for name, task, (minute, hour) in HOUSEKEEPING:
        _, made = task_model.objects.using(using).get_or_create(
            name=name, defaults={"task": task, "crontab": _crontab(crontab_model, minute, hour), "enabled": True})
        created += made
    return created


def sync_policy_schedule(policy) -> None:
    """After a policy is saved: its task exists, runs this policy, and is enabled exactly when it is."""
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    task = PeriodicTask.objects.filter(pk=policy.schedule_id).first() if policy.schedule_id else None
    if task is None:
        task = PeriodicTask.objects.filter(name=schedule_name(policy.target)).first()
    if task is None:
        from maintenance import targets

        index = sorted(targets.TARGETS).index(policy.target) if policy.target in targets.TARGETS else 0
        task = PeriodicTask(name=schedule_name(policy.target), task=RETENTION_TASK,
                            crontab=_crontab(CrontabSchedule, *_nightly_slot(index)))
    args = json.dumps([policy.pk])
    if task.pk is None or task.args != args or task.enabled != policy.enabled or task.task != RETENTION_TASK:
        task.task, task.args, task.enabled = RETENTION_TASK, args, policy.enabled
        task.save()  # save(), not update(): beat notices changes through PeriodicTask's signals
    if policy.schedule_id != task.pk:
        type(policy).objects.filter(pk=policy.pk).update(schedule=task)
        policy.schedule_id = task.pk
