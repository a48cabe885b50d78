"""A real Celery worker against Redis runs a task end to end (CI runs this; it needs REDIS_URL)."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.redis, pytest.mark.celery]


@pytest.fixture
def worker(tmp_path):
    # The worker stores results in a Redis database of its own, which this test reads back.
    env = {**os.environ, "CELERY_RESULT_BACKEND": _result_url(), "DJANGO_SETTINGS_MODULE": "config.settings",
           "CELERY_BROKER_URL": settings.CELERY_BROKER_URL}
    queue = f"e2e-{os.getpid()}-{time.monotonic_ns()}"
    with open(tmp_path / "worker.log", "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--concurrency=1",
             "-Q", queue, "--without-gossip", "--without-mingle", "--loglevel=INFO"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            yield queue
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
    print((tmp_path / "worker.log").read_text()[-3000:])


def _result_url() -> str:
    base = settings.REDIS_URL.rsplit("/", 1)[0]
    return f"{base}/15"


def test_a_real_worker_runs_a_task_end_to_end(worker):
    client = Celery("e2e", broker=settings.CELERY_BROKER_URL, backend=_result_url())
    client.conf.update(task_serializer="json", accept_content=["json"], result_serializer="json")
    result = client.send_task("config.ping", queue=worker)
    assert result.get(timeout=60) == "pong"
    assert result.status == "SUCCESS"
