"""Margin = quantity × price / leverage; reducing orders block nothing; reversals block only the excess;
margin comes back on close and on cancel."""
from __future__ import annotations

from decimal import Decimal as D

import pytest

from sandbox.models import OrderStatus, SandboxConfig, SandboxOrder, SandboxPosition
from tests.sandbox.factories import InstrumentFactory, price

pytestmark = pytest.mark.django_db
CAPITAL = D("10000000.00")


def used(sandbox) -> D:
    return sandbox.funds().used_margin


@pytest.mark.parametrize(("product", "margin"), [("MIS", D("20000.00")), ("CNC", D("100000.00")),
                                                  ("NRML", D("100000.00"))])
def test_equity_margin_follows_the_product_leverage(sandbox, product, margin):
    price("SBIN", "1000")
    sandbox.place("SBIN", "BUY", 100, product=product)
    assert used(sandbox) == margin


def test_futures_use_ten_times_leverage(sandbox):
    InstrumentFactory(exchange="NFO", symbol="NIFTY28NOV24FUT", instrument_type="FUT", lot_size=25)
    price("NIFTY28NOV24FUT", "24000", exchange="NFO")
    sandbox.place("NIFTY28NOV24FUT", "SELL", 25, exchange="NFO", product="NRML")
    assert used(sandbox) == D("60000.00")


def test_option_buys_pay_the_full_premium_and_sells_use_the_configured_leverage(sandbox):
    InstrumentFactory(exchange="NFO", symbol="NIFTY28NOV2424000CE", instrument_type="CE", lot_size=25)
    InstrumentFactory(exchange="NFO", symbol="NIFTY28NOV2424000PE", instrument_type="PE", lot_size=25)
    price("NIFTY28NOV2424000CE", "120", exchange="NFO")
    price("NIFTY28NOV2424000PE", "80", exchange="NFO")
    sandbox.place("NIFTY28NOV2424000CE", "BUY", 50, exchange="NFO", product="NRML")
    assert used(sandbox) == D("6000.00")
    config = SandboxConfig.objects.get(pk=1)
    config.option_sell_leverage = D("0.5")  # selling blocks twice the premium
    config.save()
    sandbox.place("NIFTY28NOV2424000PE", "SELL", 25, exchange="NFO", product="NRML")
    assert used(sandbox) == D("6000.00") + D("4000.00")


def test_limit_orders_block_at_their_price_and_stops_at_their_trigger(sandbox):
    price("SBIN", "1000")
    sandbox.place("SBIN", "BUY", 10, product="CNC", price_type="LIMIT", price="950")
    assert used(sandbox) == D("9500.00")
    sandbox.place("SBIN", "BUY", 10, product="CNC", price_type="SL-M", trigger="1100")
    assert used(sandbox) == D("9500.00") + D("11000.00")


def test_reducing_orders_block_nothing(sandbox):
    price("SBIN", "1000")
    sandbox.place("SBIN", "BUY", 100)
    before = used(sandbox)
    result = sandbox.place("SBIN", "SELL", 40, price_type="LIMIT", price="1100")
    assert SandboxOrder.objects.get(order_id=result.broker_order_id).margin_blocked == 0
    assert used(sandbox) == before


def test_a_reversal_blocks_only_the_excess(sandbox):
    price("SBIN", "1000")
    sandbox.place("SBIN", "BUY", 100)  # long 100: 20,000 margin
    result = sandbox.place("SBIN", "SELL", 150, price_type="LIMIT", price="1010")
    assert SandboxOrder.objects.get(order_id=result.broker_order_id).margin_blocked == D("10100.00")  # 50 x 1010 / 5
    price("SBIN", "1010", owners=[sandbox])
    position = SandboxPosition.objects.get(user=sandbox.user, symbol="SBIN")
    assert position.quantity == -50
    assert position.margin_blocked == D("10100.00")
    funds = sandbox.funds()
    assert funds.used_margin == D("10100.00")
    assert funds.realized_pnl == D("1000.00")  # 100 x (1010 - 1000)


def test_margin_is_released_on_close(sandbox):
    price("SBIN", "1000")
    sandbox.place("SBIN", "BUY", 100)
    price("SBIN", "990")
    sandbox.place("SBIN", "SELL", 30)
    assert used(sandbox) == D("14000.00")  # 70 of 100 still open
    sandbox.place("SBIN", "SELL", 70)
    funds = sandbox.funds()
    assert funds.used_margin == 0
    assert funds.realized_pnl == D("-1000.00")
    assert funds.available == CAPITAL - D("1000.00")


def test_cancel_releases_the_blocked_margin(sandbox):
    price("SBIN", "1000")
    result = sandbox.place("SBIN", "BUY", 10, price_type="LIMIT", price="900")
    assert used(sandbox) == D("1800.00")
    assert sandbox.cancel(result.broker_order_id).status == OrderStatus.CANCELLED
    assert used(sandbox) == 0


def test_modify_recomputes_the_margin_and_refuses_what_funds_cannot_cover(sandbox):
    from brokers.adapters.base import OrderRejected, OrderSpec

    price("SBIN", "1000")
    result = sandbox.place("SBIN", "BUY", 10, price_type="LIMIT", price="900", product="CNC")
    change = {"order_id": result.broker_order_id, "exchange": "NSE", "symbol": "SBIN", "action": "BUY",
              "price_type": "LIMIT", "product": "CNC"}
    sandbox.adapter.modify_order(OrderSpec(quantity=D("20"), price=D("950"), **change))
    sandbox.check()
    assert used(sandbox) == D("19000.00")
    with pytest.raises(OrderRejected, match="Insufficient funds"):
        sandbox.adapter.modify_order(OrderSpec(quantity=D("20000"), price=D("950"), **change))
    sandbox.check()
    order = SandboxOrder.objects.get(order_id=result.broker_order_id)
    assert (order.quantity, order.price, order.margin_blocked) == (20, D("950"), D("19000.00"))
    modified = sandbox.adapter.modify_order(OrderSpec(quantity=D("20"), price=D("1000"), **change))
    sandbox.check()
    assert modified.status == OrderStatus.COMPLETE  # now marketable: fills at the LTP


def test_a_resting_order_the_funds_no_longer_cover_is_rejected_at_fill(sandbox):
    price("SBIN", "1000")
    sandbox.place("SBIN", "BUY", 100)  # long 100
    exit_order = sandbox.place("SBIN", "SELL", 100, price_type="LIMIT", price="1100")  # reducing: blocks 0
    sandbox.place("SBIN", "SELL", 100)  # the long is closed at market: the limit would now open a short
    sandbox.place("SBIN", "BUY", 9_990, product="CNC")  # leaves 10,000 of cash
    price("SBIN", "1100", owners=[sandbox])  # the short would need 100 x 1100 / 5 = 22,000
    order = SandboxOrder.objects.get(order_id=exit_order.broker_order_id)
    assert order.status == OrderStatus.REJECTED
    assert "Insufficient funds" in order.rejection_reason
    assert "at fill" in order.rejection_reason
    assert sandbox.funds().available == D("10000.00")


def test_a_loss_beyond_the_cash_leaves_a_negative_balance_that_still_allows_exits(sandbox):
    InstrumentFactory(exchange="NFO", symbol="NIFTY28NOV24FUT", instrument_type="FUT", lot_size=25)
    price("NIFTY28NOV24FUT", "20000", exchange="NFO")
    sandbox.place("NIFTY28NOV24FUT", "BUY", 2_475, exchange="NFO", product="NRML")  # 99 lakh of margin at 10x
    sandbox.place("NIFTY28NOV24FUT", "SELL", 25, exchange="NFO", product="NRML", price_type="LIMIT", price="30000")
    price("NIFTY28NOV24FUT", "15000", exchange="NFO", owners=[sandbox])  # -1.24 crore open
    sandbox.place("NIFTY28NOV24FUT", "SELL", 1_250, exchange="NFO", product="NRML")  # loss 62.5 lakh > cash left
    funds = sandbox.funds()
    assert funds.realized_pnl == D("-6250000.00")
    sandbox.place("NIFTY28NOV24FUT", "SELL", 1_200, exchange="NFO", product="NRML")  # still allowed: it reduces
    funds = sandbox.funds()
    assert funds.realized_pnl == D("-12250000.00")
    assert funds.available < 0
    assert funds.used_margin == D("50000.00")  # the 25 still open


def test_a_market_order_the_slipped_fill_price_no_longer_covers_is_rejected_at_fill(sandbox):
    from brokers.adapters.base import OrderRejected
    from sandbox.services.config import forget_config

    SandboxConfig.objects.filter(pk=1).update(slippage_bps=D("100"))
    forget_config()
    price("SBIN", "1000")
    # Checked at the LTP (10,000 x 1000 = the whole capital); filled 1% worse, which it cannot pay.
    with pytest.raises(OrderRejected, match=r"Insufficient funds.*\(at fill\)"):
        sandbox.place("SBIN", "BUY", 10_000, product="CNC")
    order = SandboxOrder.objects.get(user=sandbox.user)
    assert (order.status, order.filled_quantity, order.margin_blocked) == (OrderStatus.REJECTED, 0, 0)
    assert not SandboxPosition.objects.filter(user=sandbox.user).exists()
    assert not order.trades.exists()
    funds = sandbox.check()
    assert (funds.available, funds.used_margin) == (CAPITAL, 0)
