"""End to end on real processes: a webhook delivery enqueues the fan-out on Redis and a real Celery worker
(prefork, two processes, on the test's PostgreSQL database) places one order per deployment, across
batches run as separate tasks; redelivering the same task places nothing more. CI runs it."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from config.celery import app as celery_app
from strategies import tasks
from strategies.models import Signal
from tests.brokers.test_failover_celery import _database_url
from tests.factories import StaffFactory, UserFactory
from tests.strategies.conftest import eager_celery
from tests.strategies.factories import DeploymentFactory, StrategyFactory, StrategySymbolFactory
from tests.trading.factories import TradingAccountFactory
from trading.models import Order

ROOT = Path(__file__).resolve().parents[2]
# seeded_calendar: an earlier transactional test may have flushed the migrations' market calendar.
pytestmark = [pytest.mark.usefixtures("seeded_calendar"), pytest.mark.postgres, pytest.mark.redis, pytest.mark.celery,
              pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(tmp_path, monkeypatch):
    """A worker on a queue of its own (this test's deliveries and the worker's own batches go there)."""
    queue = f"fanout-e2e-{os.getpid()}-{time.monotonic_ns()}"
    monkeypatch.setitem(celery_app.conf, "task_default_queue", queue)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DATABASE_URL": _database_url(),
           "CELERY_BROKER_URL": settings.CELERY_BROKER_URL, "ENFORCE_MARKET_HOURS": "false",
           "STRATEGY_FANOUT_BATCH": "3", "CELERY_TASK_DEFAULT_QUEUE": queue}
    with open(tmp_path / "worker.log", "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=prefork",
                                 "--concurrency=2", "-Q", queue, "--without-gossip", "--without-mingle",
                                 "--loglevel=INFO"],
                                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            yield tmp_path / "worker.log"
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
    print((tmp_path / "worker.log").read_text()[-3000:])


def _processed(signal_id: int, timeout: float = 60) -> Signal:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        signal = Signal.objects.get(pk=signal_id)
        if signal.processed_at is not None:
            return signal
        time.sleep(0.2)
    raise AssertionError(f"signal {signal_id} was not processed in {timeout} s")


def test_a_real_worker_fans_a_signal_out_once_per_deployment(market, clock, client, worker):
    with eager_celery(False):
        _fan_out_through_the_worker(client, worker)


def _fan_out_through_the_worker(client, worker):
    house = StrategyFactory(user=StaffFactory(), is_house=True)
    StrategySymbolFactory(strategy=house)
    deployments = [DeploymentFactory(strategy=house, user=UserFactory()) for _ in range(4)]
    deployments += [DeploymentFactory(strategy=house, account=TradingAccountFactory()) for _ in range(3)]
    answer = client.post(f"/strategy/webhook/{house.webhook_id}", {"symbol": "SBIN", "action": "BUY"},
                         content_type="application/json")
    assert answer.status_code == 200
    signal = _processed(answer.json()["signal_id"])
    assert (signal.deployments, signal.orders_placed, signal.orders_failed) == (7, 7, 0)
    assert sorted(Order.objects.values_list("deployment_id", flat=True)) == sorted(d.pk for d in deployments)

    tasks.fan_out.delay(signal.pk)  # a redelivered message: it runs again and places nothing

    def runs(task: str) -> int:  # the tasks of this name the worker finished
        return sum(f"strategies.tasks.{task}[" in line and "succeeded" in line
                   for line in worker.read_text().splitlines())

    deadline = time.monotonic() + 60  # 7 users in batches of 3: each fan-out queues two batches
    while (runs("fan_out"), runs("place_batch")) != (2, 4) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert (runs("fan_out"), runs("place_batch")) == (2, 4)
    assert Order.objects.count() == 7
