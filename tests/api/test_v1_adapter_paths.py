"""/api/v1/ paths that depend on what the user's broker offers: history and intervals, a broker's own
margin calculator, leverage, and broker faults. A recording adapter stands in for a live broker."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from brokers.adapters.base import (
    AdapterContext,
    BrokerAdapter,
    BrokerUnavailable,
    Candle,
    Funds,
    NotSupported,
    Quote,
)
from tests.api.conftest import persona
from tests.factories import UserFactory
from trading.services.routing import Route

pytestmark = pytest.mark.django_db


class RecordingBroker(BrokerAdapter):
    """Answers from fixed data and records what it was asked."""

    name = "recording"
    calls: list = []  # reset per test by the fixture
    leverage_by_type = {"EQ": Decimal("5"), "FUT": Decimal("10")}
    down = False

    def _check(self) -> None:
        if self.down:
            raise BrokerUnavailable("broker timed out")

    def quotes(self, exchange, symbol):
        self._check()
        return Quote(ltp=Decimal("24000") if exchange == "NFO" else Decimal("800"))

    def history(self, exchange, symbol, interval, start, end):
        self.calls.append(("history", exchange, symbol, interval, start, end))
        return [Candle(timestamp=dt.datetime(2026, 1, 27, 3, 45, tzinfo=dt.UTC), open=Decimal("800.1"),
                       high=Decimal("805.55"), low=Decimal("799"), close=Decimal("804.456"), volume=1200)]

    def intervals(self):
        return ["1m", "5m", "15m", "1h", "D"]

    def leverage(self, instrument_type, product, action):
        return self.leverage_by_type[instrument_type]

    def funds(self):
        self._check()
        return Funds(available_cash=Decimal("1"))

    def ping(self):
        self._check()
        return self.name

    def place_order(self, order): raise NotSupported("read-only test broker")
    def modify_order(self, change): raise NotSupported("read-only test broker")
    def cancel_order(self, broker_order_id): raise NotSupported("read-only test broker")
    def order_book(self): return []
    def trade_book(self): return []
    def positions(self): return []
    def holdings(self): return []


class CalculatingBroker(RecordingBroker):
    """A broker with its own margin calculator."""

    def margin(self, legs):
        self.calls.append(("margin", [(leg.symbol, leg.quantity, leg.price_type) for leg in legs]))
        return {"total_margin_required": Decimal("1234.567"), "span_margin": Decimal("1000"),
                "exposure_margin": Decimal("234.567")}


@pytest.fixture
def live(market, monkeypatch):
    """A live (not analyze) user whose route is the recording broker."""
    RecordingBroker.calls = []
    RecordingBroker.down = False
    broker = {"class": RecordingBroker}
    user = persona(UserFactory(), analyze=False)
    monkeypatch.setattr("trading.openalgo_api.readbase.adapter_for_user",
                        lambda u, name=None: Route(broker["class"](AdapterContext(user_id=u.pk)), None, False))
    user.broker = broker
    return user


def test_history_rows_are_epoch_seconds_and_two_place_prices(live):
    body = live.v1("history", {"symbol": "SBIN", "exchange": "NSE", "interval": "5m", "start_date": "2026-01-27",
                               "end_date": "2026-01-27"}).json()
    assert body == {"status": "success", "data": [{"timestamp": 1769485500, "open": 800.1, "high": 805.55,
                                                   "low": 799.0, "close": 804.46, "volume": 1200, "oi": 0}]}
    assert RecordingBroker.calls == [("history", "NSE", "SBIN", "5m", "2026-01-27", "2026-01-27")]


def test_history_refuses_an_interval_the_broker_does_not_serve(live):
    response = live.v1("history", {"symbol": "SBIN", "exchange": "NSE", "interval": "3m",
                                   "start_date": "2026-01-27", "end_date": "2026-01-27"})
    assert response.status_code == 400
    assert response.json()["message"].startswith("interval: 3m is not served")
    assert RecordingBroker.calls == []


def test_intervals_groups_the_brokers_list(live):
    assert live.v1("intervals").json()["data"] == {"months": [], "weeks": [], "days": ["D"], "hours": ["1h"],
                                                   "minutes": ["1m", "5m", "15m"], "seconds": []}


def test_margin_divides_by_the_brokers_leverage(live):
    data = live.v1("margin", {"positions": [
        {"exchange": "NSE", "symbol": "SBIN", "action": "BUY", "quantity": 10, "product": "MIS",
         "pricetype": "MARKET"},
        {"exchange": "NFO", "symbol": "NIFTY30DEC26FUT", "action": "SELL", "quantity": 75, "product": "NRML",
         "pricetype": "SL-M", "trigger_price": "23900"},
    ]}).json()["data"]
    assert data == {"total_margin_required": 10 * 800 / 5 + 75 * 23900 / 10, "span_margin": 75 * 23900 / 10,
                    "exposure_margin": 0.0}


def test_margin_uses_the_brokers_calculator_when_it_has_one(live):
    live.broker["class"] = CalculatingBroker
    data = live.v1("margin", {"positions": [
        {"exchange": "NSE", "symbol": "SBIN", "action": "BUY", "quantity": "10", "product": "CNC",
         "pricetype": "LIMIT", "price": "799.5"}]}).json()["data"]
    assert data == {"total_margin_required": 1234.57, "span_margin": 1000.0, "exposure_margin": 234.57}
    assert RecordingBroker.calls == [("margin", [("SBIN", Decimal("10"), "LIMIT")])]


def test_a_broker_fault_is_500_in_openalgos_shape(live):
    RecordingBroker.down = True
    for path in ("funds", "ping"):
        response = live.v1(path)
        assert response.status_code == 500
        assert response.json() == {"status": "error", "message": "broker timed out"}
