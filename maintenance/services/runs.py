"""Running a retention policy: claim it, run its target in batches, record and log a one-line summary.

The same function serves the nightly Celery task and `manage.py retention run`. Summaries go to the
"maintenance" logger, which settings.LOGGING stores in the system log at INFO (Analytics › System logs),
so every run leaves one row there; a failed run leaves an ERROR row with its traceback.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from maintenance.models import RetentionPolicy
from maintenance.services import retention

log = logging.getLogger("maintenance.retention")


class PolicyBusy(RuntimeError):
    """Another run holds the policy (a second worker, or a run by hand)."""


def _claim(policy: RetentionPolicy, seconds: float) -> None:
    now = timezone.now()
    claimed = RetentionPolicy.objects.filter(pk=policy.pk).filter(
        Q(running_until__isnull=True) | Q(running_until__lt=now)).update(
        running_until=now + timedelta(seconds=seconds + 600))
    if claimed != 1:
        until = RetentionPolicy.objects.get(pk=policy.pk).running_until
        raise PolicyBusy(f"retention {policy.target}: another run holds it until {until:%Y-%m-%d %H:%M} UTC "
                         f"(if that run died: manage.py retention release --policy {policy.target})")


def run_policy(policy: RetentionPolicy, *, dry_run: bool = False, time_limit: float | None = None,
               on_batch: Callable[[retention.Outcome, int], None] | None = None) -> retention.Outcome | None:
    """Run one policy. A disabled policy does nothing (None). A dry run takes no claim and writes nothing:
    it counts what a run would take, batch by batch, and logs nothing."""
    target = policy.get_target()
    if not policy.enabled:
        if not dry_run:
            log.info("retention %s: disabled, nothing done", policy.target)
        return None
    options = {"keep_days": policy.keep_days, "action": policy.action, "batch_size": policy.batch_size,
               "on_batch": on_batch}
    if dry_run:
        return retention.run(target, dry_run=True, **options)
    seconds = time_limit if time_limit is not None else settings.RETENTION_TIME_LIMIT
    _claim(policy, seconds)
    result = ""
    try:
        outcome = retention.run(target, deadline=time.monotonic() + seconds, **options)
        result = outcome.summary()
        log.info(result)
        return outcome
    except Exception as exc:
        result = f"retention {policy.target}: failed: {exc!r}; committed batches stay done, a rerun finishes"
        log.exception(result)
        raise
    finally:
        RetentionPolicy.objects.filter(pk=policy.pk).update(running_until=None, last_run_at=timezone.now(),
                                                            last_result=result[:2000])
