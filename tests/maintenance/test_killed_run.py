"""A retention run killed outright (SIGKILL, mid-run) loses nothing: each batch committed whole or not at all,
and the next run finishes the job. On PostgreSQL, with `manage.py retention run` as a process of its own."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import call_command

from analytics.models import TrafficLog, TrafficLogArchive
from analytics.routers import logs_db
from maintenance.models import RetentionPolicy
from maintenance.services.runs import PolicyBusy, run_policy
from tests.maintenance.conftest import policy, subprocess_env, traffic

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, databases="__all__")]


def _ids(model) -> set[int]:
    return set(model.objects.using(logs_db()).values_list("pk", flat=True))


def test_a_run_killed_mid_way_loses_nothing_and_the_next_run_finishes(tmp_path):
    rows = 30_000
    old = {row.pk for row in traffic(rows, age_days=100)}
    policy("analytics.traffic", action="archive", batch_size=100)
    proc = subprocess.Popen([sys.executable, "manage.py", "retention", "run", "--policy", "analytics.traffic"],
                            cwd=ROOT, env=subprocess_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and TrafficLogArchive.objects.using(logs_db()).count() < 500:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)

    archived, left = _ids(TrafficLogArchive), _ids(TrafficLog)
    assert 0 < len(archived) < rows, "the kill must land mid-run"
    assert not archived & left  # no row in both tables
    assert archived | left == old  # and none lost

    # The killed run's claim blocks a rerun until it expires (long before the next night); by hand, release it.
    with pytest.raises(PolicyBusy, match=r"retention release --policy analytics\.traffic"):
        run_policy(RetentionPolicy.objects.get(target="analytics.traffic"))
    call_command("retention", "release", "--policy", "analytics.traffic")
    outcome = run_policy(RetentionPolicy.objects.get(target="analytics.traffic"))
    assert outcome.rows == len(left)
    assert _ids(TrafficLogArchive) == old
    assert _ids(TrafficLog) == set()
