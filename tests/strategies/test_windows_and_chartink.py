"""Entry and exit windows on the strategy's exchange calendar (frozen clock), and ChartInk's keywords."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from strategies.models import SignalStatus, TradingMode
from strategies.services import windows
from tests.strategies.conftest import MONDAY, ist
from tests.strategies.factories import DeploymentFactory, StrategyFactory, StrategySymbolFactory
from trading.models import Order

pytestmark = pytest.mark.django_db
BUY, SELL = {"symbol": "SBIN", "action": "BUY"}, {"symbol": "SBIN", "action": "SELL"}


@pytest.mark.parametrize(("at", "body", "refused"), [
    (ist(*MONDAY, 9, 14), BUY, "Entries open at 09:15 IST (start_time); it is 09:14."),
    (ist(*MONDAY, 9, 15), BUY, None),
    (ist(*MONDAY, 14, 59), BUY, None),
    (ist(*MONDAY, 15, 0), BUY, "Entries closed at 15:00 IST (end_time); it is 15:00."),
    (ist(*MONDAY, 15, 0), SELL, None),  # exits until the square-off time
    (ist(*MONDAY, 15, 14), SELL, None),
    (ist(*MONDAY, 15, 15), SELL, "Exits closed at the square-off time 15:15 IST; it is 15:15."),
    (ist(2026, 11, 14, 10, 0), BUY, "Saturday is not one of the strategy's trading days."),
    (ist(2026, 11, 10, 10, 0), BUY, "NSE does not trade on 2026-11-10: Diwali Balipratipada (trading holiday)."),
    (ist(2026, 11, 10, 10, 0), SELL, "NSE does not trade on 2026-11-10: Diwali Balipratipada (trading holiday)."),
    # 04:40 UTC is 10:10 in Kolkata: the strategy's times are its exchange's, not the server's
    (dt.datetime(2026, 11, 16, 4, 40, tzinfo=dt.UTC), BUY, None),
])
def test_signals_outside_the_windows_are_refused_with_the_reason(hook, clock, at, body, refused):
    clock["at"] = at
    response = hook.post(body)
    signal = hook.last_signal()
    if refused is None:
        assert response.status_code == 200, response.json()
        assert signal.status == SignalStatus.ACCEPTED
        return
    assert response.status_code == 400
    assert response.json()["message"] == refused
    assert (signal.status, signal.reason) == (SignalStatus.REFUSED, refused)
    assert not Order.objects.exists()


def test_a_strategy_trades_only_on_its_own_days(hook, clock):
    hook.strategy.trading_days = [1, 2, 3]  # not Monday
    hook.strategy.save()
    response = hook.post(BUY)
    assert response.status_code == 400
    assert response.json()["message"].startswith("Monday is not one")


def test_both_mode_size_zero_is_an_exit_for_the_windows(market, clock):
    strategy = StrategyFactory(trading_mode=TradingMode.BOTH)
    clock["at"] = ist(*MONDAY, 15, 5)
    assert windows.refusal(strategy, entry=False) is None
    assert windows.refusal(strategy, entry=True).startswith("Entries closed")


def _chartink_strategy(mode: str, symbols=("SBIN", "INFY", "TCS")):
    strategy = StrategyFactory(trading_mode=mode, platform="chartink")
    for symbol in symbols:
        StrategySymbolFactory(strategy=strategy, symbol=symbol, quantity=Decimal("2"))
    DeploymentFactory(strategy=strategy)
    return strategy


def _scan(stocks: str, scan_name: str, alert_name: str = "", prices: str | None = None) -> dict:
    body = {"stocks": stocks, "triggered_at": "10:00 am", "scan_name": scan_name, "alert_name": alert_name,
            "scan_url": "x"}
    if prices is not None:
        body["trigger_prices"] = prices
    return body


@pytest.fixture
def instruments(market):
    from sandbox.services.prices import set_price
    from tests.trading.factories import InstrumentFactory

    for symbol, price in (("INFY", "1500"), ("TCS", "3500")):
        InstrumentFactory(exchange="NSE", symbol=symbol, lot_size=1, tick_size=Decimal("0.05"))
        set_price("NSE", symbol, price)


@pytest.mark.parametrize(("mode", "scan", "action"), [
    (TradingMode.LONG, "Buy breakout", "BUY"),
    (TradingMode.SHORT, "Intraday SHORT setup", "SELL"),
    (TradingMode.BOTH, "buy-the-dip", "BUY"),
    (TradingMode.BOTH, "short_breakdown", "SELL"),
])
def test_a_chartink_entry_places_one_order_per_stock_on_the_keywords_side(instruments, clock, hook_for, mode, scan,
                                                                          action):
    hook = hook_for(_chartink_strategy(mode))
    response = hook.chartink(_scan("SBIN,INFY, TCS", scan, "Alert for " + scan, "800,1500,3500"))
    assert response.status_code == 200, response.json()
    orders = Order.objects.order_by("symbol")
    assert [(o.symbol, o.action, o.quantity) for o in orders] == [(s, action, 2) for s in ("INFY", "SBIN", "TCS")]


def test_chartink_sell_and_cover_exit_what_buy_and_short_entered(instruments, clock, hook_for):
    hook = hook_for(_chartink_strategy(TradingMode.BOTH))
    hook.chartink(_scan("SBIN,INFY", "Buy scan"))
    hook.chartink(_scan("TCS", "Short scan"))
    assert hook.chartink(_scan("SBIN,INFY,TCS", "Sell scan")).status_code == 200  # TCS: no long to exit
    assert hook.chartink(_scan("TCS,SBIN", "Cover scan")).status_code == 200  # SBIN: no short to cover
    flat = {}
    for order in Order.objects.all():
        flat[order.symbol] = flat.get(order.symbol, 0) + (order.quantity if order.action == "BUY" else -order.quantity)
    assert flat == {"SBIN": 0, "INFY": 0, "TCS": 0}
    assert Order.objects.count() == 6


@pytest.mark.parametrize(("mode", "body", "message"), [
    (TradingMode.LONG, _scan("SBIN", "Momentum scan"), "scan_name: must contain one of the words BUY, SELL"),
    (TradingMode.LONG, _scan("SBIN", "Buy or sell"), "scan_name: holds several side keywords (BUY, SELL)"),
    (TradingMode.LONG, _scan("SBIN", "Short scan"), "scan_name: SHORT does not suit a LONG strategy"),
    (TradingMode.SHORT, _scan("SBIN", "x", alert_name="BUY alert"), "scan_name: BUY does not suit a SHORT"),
    (TradingMode.LONG, _scan("SBIN,WIPRO", "Buy"), "stocks: not mapped in this strategy: WIPRO"),
    (TradingMode.LONG, _scan("SBIN,SBIN", "Buy"), "stocks: lists a stock twice"),
    (TradingMode.LONG, _scan("", "Buy"), "stocks: this field is required"),
    (TradingMode.LONG, _scan("SBIN,INFY", "Buy", prices="800"), "trigger_prices: has 1 prices for 2 stocks"),
    (TradingMode.LONG, _scan("SBIN", "Buy", prices="abc"), "trigger_prices[0]: must be a number"),
])
def test_chartink_refuses_what_it_cannot_place_naming_the_field(instruments, clock, hook_for, mode, body, message):
    hook = hook_for(_chartink_strategy(mode))
    response = hook.chartink(body)
    assert response.status_code == 400
    assert response.json()["message"].startswith(message), response.json()
    assert hook.last_signal().status == SignalStatus.REFUSED
    assert not Order.objects.exists()
