"""Fixtures of the strategies tests: the order tests' market (SBIN at 800, a NIFTY future, lot 75, both
priced in the sandbox), a clock pinned inside an NSE session, eager Celery, and a webhook poster.

The clock: django.utils.timezone.now is pinned (as the sandbox and risk tests do) to Monday 2026-11-16
10:00 Asia/Kolkata, a normal NSE trading day; tests move it by setting clock["at"].
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from contextlib import contextmanager
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from strategies.models import Signal
from tests.strategies.factories import DeploymentFactory, StrategyFactory, StrategySymbolFactory
from tests.trading.conftest import _order_test_settings, market, sandbox_day  # noqa: F401 (fixtures used here)

IST = ZoneInfo("Asia/Kolkata")
MONDAY = (2026, 11, 16)


def ist(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=IST)


@pytest.fixture
def clock(monkeypatch):
    state = {"at": ist(*MONDAY, 10, 0)}
    monkeypatch.setattr(timezone, "now", lambda: state["at"])
    return state


@pytest.fixture(autouse=True)
def seeded_calendar(db):
    """The market calendar the trading migrations seed, put back if an earlier transactional test (of any
    app) flushed it: strategies' windows and orders read it, so without it every entry is refused as
    "market closed" in a full run. (serialized_rollback cannot do it: the flush's post_migrate recreates
    content types under new ids, and reloading the serialized rows then collides with them.)"""
    from importlib import import_module

    from django.apps import apps

    from trading.models import TradingHoursTemplate
    from trading.services import calendar

    if not TradingHoursTemplate.objects.exists():
        import_module("trading.migrations.0002_calendar_seed").seed(apps, None)
        calendar.invalidate_cache()


@pytest.fixture(autouse=True)
def _strategy_settings(settings):
    settings.STRATEGY_DUPLICATE_WINDOW = 10
    with eager_celery(True):
        yield


@contextmanager
def eager_celery(eager: bool):
    """Run queued tasks here and now (or not). Set on the Celery app itself: once any earlier test has read
    the app's configuration, a change of Django's CELERY_TASK_ALWAYS_EAGER no longer reaches it."""
    from config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = eager
    try:
        yield
    finally:
        app.conf.task_always_eager = before


class Hook:
    """Posts to a strategy's webhook as an alert platform does (raw JSON body, no session), running the
    fan-out the delivery enqueues (eager Celery, on commit)."""

    def __init__(self, strategy, capture) -> None:
        self.strategy, self.capture, self.client = strategy, capture, Client()

    def post(self, body: Any = None, *, raw: bytes | None = None, path: str = "strategy", webhook_id: Any = None,
             **headers: str):
        data = raw if raw is not None else json.dumps(body).encode()
        url = f"/{path}/webhook/{webhook_id or self.strategy.webhook_id}"
        with self.capture(execute=True):
            return self.client.post(url, data, content_type="application/json", headers=headers)

    def chartink(self, body: dict[str, Any], **headers: str):
        return self.post(body, path="chartink", **headers)

    def last_signal(self) -> Signal:
        return Signal.objects.filter(strategy=self.strategy).order_by("-id").first()


def sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@pytest.fixture
def strategy(market, clock):  # noqa: F811 (the imported fixture)
    """A LONG strategy mapping SBIN (NSE, 10 MIS) deployed to its owner's sandbox."""
    strategy = StrategyFactory()
    StrategySymbolFactory(strategy=strategy, symbol="SBIN", quantity=Decimal("10"))
    DeploymentFactory(strategy=strategy)
    return strategy


@pytest.fixture
def hook(strategy, django_capture_on_commit_callbacks) -> Hook:
    return Hook(strategy, django_capture_on_commit_callbacks)


@pytest.fixture
def hook_for(django_capture_on_commit_callbacks):
    return lambda strategy: Hook(strategy, django_capture_on_commit_callbacks)
