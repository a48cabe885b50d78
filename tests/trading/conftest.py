"""Fixtures of the order tests: instruments with sandbox prices, traders with keys, an API helper.

Rate limits are off here (they have tests of their own) so table-driven and property tests can send
many requests; the cache is process-local; the sandbox's MIS cut-off is moved to the end of the day
so tests do not depend on the hour they run at.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.models import OrderMode, User
from accounts.services import apikeys
from accounts.services.usersettings import set_analyze_mode
from tests.factories import UserFactory
from tests.trading.factories import InstrumentFactory


@dataclass
class Trader:
    user: User
    key: str
    client: APIClient

    def post(self, path: str, body: dict[str, Any] | None = None, **kwargs: Any):
        payload = {"apikey": self.key, **(body or {})}
        return self.client.post(f"/api/v1/{path}", payload, format="json", **kwargs)


@pytest.fixture(autouse=True)
def _order_test_settings(settings):
    settings.RATE_LIMITS_ENABLED = False
    settings.ENFORCE_MARKET_HOURS = False
    # A process-local cache: the file cache under var/test is shared by every test process on the
    # machine (xdist workers, other suites), whose databases differ, so a cached instrument or key of
    # one process is wrong in another. Live-server tests run the server in a thread: they share it.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": "trading-tests"}}
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def sandbox_day(db):
    """The sandbox accepts MIS orders whatever the hour the suite runs at."""
    from sandbox.models import SandboxConfig
    from sandbox.services.config import forget_config

    late = dt.time(23, 59, 59)
    SandboxConfig.objects.update_or_create(pk=1, defaults={
        "squareoff_nse": late, "squareoff_cds": late, "squareoff_mcx": late, "squareoff_ncdex": late})
    forget_config()


@pytest.fixture
def market(sandbox_day):
    """SBIN (NSE, lot 1, tick 0.05) at 800 and a NIFTY future (NFO, lot 75) at 24000, priced in the sandbox."""
    from sandbox.services.prices import set_price

    sbin = InstrumentFactory(exchange="NSE", symbol="SBIN", lot_size=1, tick_size=Decimal("0.05"))
    fut = InstrumentFactory(exchange="NFO", symbol="NIFTY30DEC26FUT", underlying="NIFTY", instrument_type="FUT",
                            lot_size=75, tick_size=Decimal("0.10"))
    set_price("NSE", "SBIN", "800", bid="799.95", ask="800.05")
    set_price("NFO", "NIFTY30DEC26FUT", "24000", bid="23999.90", ask="24000.10")
    return {"SBIN": sbin, "FUT": fut}


def make_trader(*, analyze: bool = True, mode: str = OrderMode.AUTO, user: User | None = None) -> Trader:
    user = user or UserFactory()
    if analyze:
        set_analyze_mode(user, True)
    _, raw = apikeys.create_key(user, f"key-{mode}", mode)
    return Trader(user=user, key=raw, client=APIClient())


@pytest.fixture
def trader(market) -> Trader:
    return make_trader()


@pytest.fixture
def stranger(market) -> Trader:
    return make_trader()


@pytest.fixture
def trader_factory(market) -> Callable[..., Trader]:
    return make_trader


def order(**fields: Any) -> dict[str, Any]:
    """A valid placeorder body (without the key), overridable per field."""
    return {"strategy": "test", "exchange": "NSE", "symbol": "SBIN", "action": "BUY", "quantity": "10",
            "pricetype": "MARKET", "product": "MIS", **fields}


@pytest.fixture
def servers():
    """Three OpenAlgo-like upstreams on loopback (main, backup, spare) that a test may stop and start."""
    from tests.brokers.loopback_upstream import LoopbackUpstream

    started = {name: LoopbackUpstream(name) for name in ("main", "backup", "spare")}
    yield started
    for server in started.values():
        server.stop()


@pytest.fixture
def live(market, servers) -> Trader:
    """A live trader with one openalgo account per loopback upstream, `main` primary (trader.accounts)."""
    from tests.brokers.loopback_upstream import accounts_on

    trader = make_trader(analyze=False)
    trader.accounts = accounts_on(trader.user, servers, primary="main")
    return trader
