"""Maintenance's Celery tasks: one per retention policy (the policy's id as argument) and one per
housekeeping job. Each logs one summary line to the "maintenance" logger, which the system log stores
(settings.LOGGING), and returns it (Celery's task results)."""
from __future__ import annotations

import logging
import time

from celery import shared_task
from django.conf import settings

log = logging.getLogger("maintenance.housekeeping")


@shared_task(name="maintenance.tasks.run_retention_policy",
             # The run stops itself between batches at RETENTION_TIME_LIMIT; these only catch a stuck statement.
             soft_time_limit=settings.RETENTION_TIME_LIMIT + 120, time_limit=settings.RETENTION_TIME_LIMIT + 180)
def run_retention_policy(policy_id: int) -> str:
    from maintenance.models import RetentionPolicy
    from maintenance.services.runs import PolicyBusy, run_policy

    policy = RetentionPolicy.objects.filter(pk=policy_id).first()
    if policy is None:
        log.warning("retention: policy %s no longer exists; its periodic task can be deleted", policy_id)
        return f"retention: no policy {policy_id}"
    try:
        outcome = run_policy(policy)
    except PolicyBusy as exc:
        log.info(str(exc))
        return str(exc)
    return outcome.summary() if outcome else f"retention {policy.target}: disabled, nothing done"


def _done(summary: str, started: float) -> str:
    summary = f"{summary} in {time.monotonic() - started:.2f} s"
    log.info(summary)
    return summary


@shared_task(name="maintenance.tasks.clear_expired_sessions", time_limit=600)
def clear_expired_sessions() -> str:
    started = time.monotonic()
    from maintenance.services.housekeeping import clear_expired_sessions as clear

    deleted = clear()
    return _done("housekeeping: expired sessions cleared" if deleted is None
                 else f"housekeeping: {deleted} expired sessions deleted", started)


@shared_task(name="maintenance.tasks.forget_ended_ip_bans", time_limit=600)
def forget_ended_ip_bans() -> str:
    started = time.monotonic()
    from analytics.services.housekeeping import forget_ended_bans

    return _done(f"housekeeping: {forget_ended_bans()} IP bans ended over {settings.IP_BAN_FORGET_DAYS} days "
                 "ago forgotten", started)


@shared_task(name="maintenance.tasks.reset_ban_trackers", time_limit=600)
def reset_ban_trackers() -> str:
    started = time.monotonic()
    from analytics.services.housekeeping import reset_trackers

    return _done(f"housekeeping: {reset_trackers()} IP-ban tracker rows of past days deleted", started)


@shared_task(name="maintenance.tasks.deactivate_expired_api_keys", time_limit=300)
def deactivate_expired_api_keys() -> str:
    started = time.monotonic()
    from accounts.services.apikeys import deactivate_expired

    return _done(f"housekeeping: {deactivate_expired()} expired API keys deactivated", started)


@shared_task(name="maintenance.tasks.delete_old_task_results", time_limit=600)
def delete_old_task_results() -> str:
    started = time.monotonic()
    from maintenance.services.housekeeping import delete_old_task_results as delete

    return _done(f"housekeeping: {delete()} Celery task results older than {settings.TASK_RESULT_KEEP_DAYS} "
                 "days deleted", started)
