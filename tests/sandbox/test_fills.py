"""Fill rules: MARKET at ask/bid else LTP, marketable and resting LIMIT, SL and SL-M, slippage, partials."""
from __future__ import annotations

from decimal import Decimal as D

import pytest

from sandbox.models import OrderStatus, SandboxConfig, SandboxOrder
from tests.sandbox.factories import price

pytestmark = pytest.mark.django_db


def test_it_fills_market_buy_at_the_ask_within_the_call(sandbox):
    price("SBIN", "812.50", bid="812.45", ask="812.60")
    result = sandbox.place("SBIN", "BUY", 10)
    assert result.status == OrderStatus.COMPLETE
    assert result.filled_quantity == 10
    assert result.average_price == D("812.60")


def test_it_fills_market_sell_at_the_bid(sandbox):
    price("SBIN", "812.50", bid="812.45", ask="812.60")
    result = sandbox.place("SBIN", "SELL", 10)
    assert (result.status, result.average_price) == (OrderStatus.COMPLETE, D("812.45"))


def test_it_fills_market_at_ltp_without_bid_and_ask(sandbox):
    price("SBIN", "812.50")
    assert sandbox.place("SBIN", "BUY", 1).average_price == D("812.50")
    assert sandbox.place("SBIN", "SELL", 1).average_price == D("812.50")


def test_it_fills_a_marketable_limit_at_the_ltp(sandbox):
    price("SBIN", "800")
    result = sandbox.place("SBIN", "BUY", 5, price_type="LIMIT", price="810")
    assert (result.status, result.average_price) == (OrderStatus.COMPLETE, D("800"))


def test_it_rests_a_limit_until_the_ltp_crosses_it_then_fills_at_its_price(sandbox):
    price("SBIN", "800")
    result = sandbox.place("SBIN", "BUY", 5, price_type="LIMIT", price="790")
    assert result.status == OrderStatus.OPEN
    price("SBIN", "790.05", owners=[sandbox])
    assert sandbox.adapter.order_status(result.broker_order_id).status == OrderStatus.OPEN
    price("SBIN", "788.00", owners=[sandbox])  # gaps through the limit: the limit price, not better
    info = sandbox.adapter.order_status(result.broker_order_id)
    assert (info.status, info.average_price, info.filled_quantity) == (OrderStatus.COMPLETE, D("790"), 5)


def test_it_rests_a_sell_limit_above_the_market(sandbox):
    price("SBIN", "800")
    result = sandbox.place("SBIN", "SELL", 5, price_type="LIMIT", price="805")
    assert result.status == OrderStatus.OPEN
    price("SBIN", "805", owners=[sandbox])
    info = sandbox.adapter.order_status(result.broker_order_id)
    assert (info.status, info.average_price) == (OrderStatus.COMPLETE, D("805"))


def test_it_holds_a_stop_in_trigger_pending_then_fills_within_its_limit(sandbox):
    price("SBIN", "800")
    result = sandbox.place("SBIN", "BUY", 5, price_type="SL", price="812", trigger="810")
    assert result.status == OrderStatus.TRIGGER_PENDING
    price("SBIN", "809.95", owners=[sandbox])
    assert sandbox.adapter.order_status(result.broker_order_id).status == OrderStatus.TRIGGER_PENDING
    price("SBIN", "811", owners=[sandbox])
    info = sandbox.adapter.order_status(result.broker_order_id)
    assert (info.status, info.average_price) == (OrderStatus.COMPLETE, D("811"))


def test_it_rests_a_triggered_stop_whose_limit_the_market_jumped_past(sandbox):
    price("SBIN", "800")
    result = sandbox.place("SBIN", "SELL", 5, price_type="SL", price="795", trigger="796")
    price("SBIN", "790", owners=[sandbox])  # triggered (<= 796) but below the 795 limit
    assert sandbox.adapter.order_status(result.broker_order_id).status == OrderStatus.OPEN
    price("SBIN", "795.50", owners=[sandbox])
    info = sandbox.adapter.order_status(result.broker_order_id)
    assert (info.status, info.average_price) == (OrderStatus.COMPLETE, D("795"))


def test_it_fills_sl_m_at_the_ltp_once_triggered(sandbox):
    price("SBIN", "800")
    result = sandbox.place("SBIN", "SELL", 5, price_type="SL-M", trigger="790")
    assert result.status == OrderStatus.TRIGGER_PENDING
    price("SBIN", "787.35", owners=[sandbox])
    info = sandbox.adapter.order_status(result.broker_order_id)
    assert (info.status, info.average_price) == (OrderStatus.COMPLETE, D("787.35"))


def test_it_applies_slippage_against_the_trader_on_the_tick_grid(sandbox):
    SandboxConfig.objects.filter(pk=1).update(slippage_bps=D("10"))
    from sandbox.services.config import forget_config

    forget_config()
    price("SBIN", "1000", bid="999.95", ask="1000.05")
    assert sandbox.place("SBIN", "BUY", 1).average_price == D("1001.10")  # 1000.05 * 1.001 = 1001.05005 -> up
    assert sandbox.place("SBIN", "SELL", 1).average_price == D("998.95")  # 999.95 * 0.999 = 998.95005 -> down


def test_it_fills_partially_by_the_quantity_at_the_best_price_when_enabled(sandbox):
    config = SandboxConfig.objects.get(pk=1)
    config.partial_fills = True
    config.save()
    price("SBIN", "800", bid="799.95", ask="800.05", bid_qty=100, ask_qty=30)
    result = sandbox.place("SBIN", "BUY", 50)
    assert (result.status, result.filled_quantity) == (OrderStatus.OPEN, 30)
    price("SBIN", "800.10", bid="800.05", ask="800.15", bid_qty=100, ask_qty=500, owners=[sandbox])
    info = sandbox.adapter.order_status(result.broker_order_id)
    assert (info.status, info.filled_quantity) == (OrderStatus.COMPLETE, 50)
    assert info.average_price == D("800.09")  # (30 * 800.05 + 20 * 800.15) / 50
    assert SandboxOrder.objects.get(order_id=result.broker_order_id).margin_blocked == 0


def test_partial_fills_are_off_by_default(sandbox):
    price("SBIN", "800", bid="799.95", ask="800.05", bid_qty=10, ask_qty=10)
    assert sandbox.place("SBIN", "BUY", 50).filled_quantity == 50


def test_a_stop_already_through_its_trigger_when_placed_fills_at_once(sandbox):
    price("SBIN", "820")
    result = sandbox.place("SBIN", "BUY", 2, price_type="SL", price="825", trigger="815")
    assert (result.status, result.average_price) == (OrderStatus.COMPLETE, D("820"))


def test_a_modified_trigger_keeps_the_stop_pending_until_it_is_reached(sandbox):
    from brokers.adapters.base import OrderSpec

    price("SBIN", "800")
    result = sandbox.place("SBIN", "SELL", 2, price_type="SL-M", trigger="790")
    sandbox.adapter.modify_order(OrderSpec(order_id=result.broker_order_id, exchange="NSE", symbol="SBIN",
                                               action="SELL", quantity=D("2"), price_type="SL-M", product="MIS",
                                               trigger_price=D("780")))
    sandbox.check()
    price("SBIN", "785", owners=[sandbox])
    assert sandbox.adapter.order_status(result.broker_order_id).status == OrderStatus.TRIGGER_PENDING
    price("SBIN", "779.5", owners=[sandbox])
    info = sandbox.adapter.order_status(result.broker_order_id)
    assert (info.status, info.average_price) == (OrderStatus.COMPLETE, D("779.5"))


@pytest.mark.parametrize("action", ["BUY", "SELL"])  # adds to the long, closes part of it
def test_a_market_fill_costs_three_statements_on_postgresql(sandbox, action, django_assert_max_num_queries):
    """Lock funds, lock the position, then write the filled order, the position, the trade, the funds and
    the ledger rows: on PostgreSQL one statement (three in all), elsewhere five (seven in all); plus BEGIN
    and COMMIT on its own (the block joins a caller's transaction without a savepoint)."""
    from django.db import connection

    from brokers.adapters.base import OrderSpec

    price("SBIN", "812.50", bid="812.45", ask="812.60")
    sandbox.place("SBIN", "BUY", 10)  # the position exists; the caches are warm
    order = OrderSpec(exchange="NSE", symbol="SBIN", action=action, quantity=D(2), price_type="MARKET",
                         product="MIS")
    with django_assert_max_num_queries(3 if connection.vendor == "postgresql" else 7):
        assert sandbox.adapter.place_order(order).status == OrderStatus.COMPLETE
    sandbox.check()


def test_a_resting_order_fills_in_a_sweep_without_a_savepoint(sandbox, django_assert_max_num_queries):
    from sandbox.services import matching

    price("SBIN", "800")
    sandbox.place("SBIN", "BUY", 10, price_type="LIMIT", price="790")
    price("SBIN", "789", match=False)
    # The sweep's query, then the fill in 10: BEGIN (here a savepoint: the test runs in a transaction),
    # lock funds, lock the order, lock the position, update the order, the position, insert the trade,
    # update funds, insert the ledger rows, then the trading book's row for it (one SELECT; here none,
    # as the order was placed in the sandbox directly), COMMIT. No savepoint of its own around the fill.
    with django_assert_max_num_queries(12) as captured:
        assert matching.sweep().fills == 1
    assert len([q for q in captured.captured_queries if q["sql"].startswith("SAVEPOINT")]) == 1
    sandbox.check()


def test_an_order_fills_at_the_quote_its_risk_check_read_and_only_that_order(sandbox):
    """quotes() (the pipeline's risk check) and the next order on the instrument share one read: the
    order fills at the price the check valued it at, and a later order reads afresh."""
    from brokers.adapters.base import OrderSpec

    price("SBIN", "800", bid="799.95", ask="800.05")
    assert sandbox.adapter.quotes("NSE", "SBIN").ltp == D("800")
    price("SBIN", "900", bid="899.95", ask="900.05")
    order = OrderSpec(exchange="NSE", symbol="SBIN", action="BUY", quantity=D(1), price_type="MARKET",
                         product="MIS")
    assert sandbox.adapter.place_order(order).average_price == D("800.05")
    assert sandbox.adapter.place_order(order).average_price == D("900.05")
    sandbox.check()
