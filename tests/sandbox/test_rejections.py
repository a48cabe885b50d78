"""Rejections carry their reason, are permanent, and are kept in the sandbox's order book."""
from __future__ import annotations

from decimal import Decimal as D

import pytest

from brokers.adapters.base import OrderRejected
from sandbox.models import OrderStatus, SandboxOrder
from tests.sandbox.factories import InstrumentFactory, ist, price

pytestmark = pytest.mark.django_db


def _rejected(sandbox, match: str, **order) -> SandboxOrder:
    with pytest.raises(OrderRejected, match=match) as info:
        sandbox.place(**order)
    assert info.value.permanent
    row = SandboxOrder.objects.get(order_id=info.value.data["order_id"])
    assert (row.status, row.margin_blocked) == (OrderStatus.REJECTED, 0)
    sandbox.check()
    return row


def test_it_rejects_an_order_over_the_available_funds(sandbox):
    price("SBIN", "1000")
    # CNC needs the full value: 10,001 shares x 1000 > 1 crore.
    row = _rejected(sandbox, "Insufficient funds", symbol="SBIN", quantity=10_001, product="CNC")
    assert "10001000.00" in row.rejection_reason
    assert sandbox.funds().available == D("10000000.00")


def test_it_accepts_the_order_that_uses_exactly_the_available_funds(sandbox):
    price("SBIN", "1000")
    sandbox.place("SBIN", "BUY", 10_000, product="CNC")
    funds = sandbox.funds()
    assert (funds.available, funds.used_margin) == (D("0"), D("10000000.00"))


def test_it_rejects_a_quantity_off_the_lot_size(sandbox):
    InstrumentFactory(exchange="NFO", symbol="NIFTY28NOV24FUT", instrument_type="FUT", lot_size=25)
    price("NIFTY28NOV24FUT", "24000", exchange="NFO")
    _rejected(sandbox, "quantity: must be a multiple of the lot size 25", symbol="NIFTY28NOV24FUT", exchange="NFO",
              quantity=30, product="NRML")
    assert sandbox.place("NIFTY28NOV24FUT", "BUY", 50, exchange="NFO", product="NRML").filled_quantity == 50


@pytest.mark.parametrize(("exchange", "symbol", "hour", "minute"), [
    ("NSE", "SBIN", 15, 15), ("NFO", "NIFTY28NOV24FUT", 15, 30), ("CDS", "USDINR24DECFUT", 16, 45),
    ("MCX", "GOLDM05DEC24FUT", 23, 31), ("NCDEX", "GUARSEED10DEC24", 17, 0),
])
def test_it_rejects_mis_after_the_exchange_cut_off(sandbox, clock, exchange, symbol, hour, minute):
    price(symbol, "100", exchange=exchange)
    clock["at"] = ist(hour, minute)
    _rejected(sandbox, "not accepted after", symbol=symbol, exchange=exchange, quantity=1, product="MIS")


def test_it_accepts_mis_just_before_the_cut_off_and_other_products_after(sandbox, clock):
    price("SBIN", "100")
    clock["at"] = ist(15, 14)
    assert sandbox.place("SBIN", "BUY", 1, product="MIS").status == OrderStatus.COMPLETE
    clock["at"] = ist(15, 20)
    assert sandbox.place("SBIN", "BUY", 1, product="CNC").status == OrderStatus.COMPLETE
    clock["at"] = ist(23, 0)
    price("GOLDM05DEC24FUT", "76000", exchange="MCX")
    assert sandbox.place("GOLDM05DEC24FUT", "BUY", 1, exchange="MCX", product="MIS").status == OrderStatus.COMPLETE


def test_it_rejects_a_cnc_sell_beyond_holdings(sandbox):
    price("SBIN", "800")
    _rejected(sandbox, "exceeds holdings", symbol="SBIN", action="SELL", quantity=1, product="CNC")
    sandbox.place("SBIN", "BUY", 10, product="CNC")
    _rejected(sandbox, "exceeds holdings: 10 sellable", symbol="SBIN", action="SELL", quantity=11, product="CNC")


def test_it_counts_open_cnc_sells_against_the_holdings(sandbox):
    price("SBIN", "800")
    sandbox.place("SBIN", "BUY", 10, product="CNC")
    sandbox.place("SBIN", "SELL", 6, product="CNC", price_type="LIMIT", price="900")
    _rejected(sandbox, "4 sellable", symbol="SBIN", action="SELL", quantity=5, product="CNC")
    assert sandbox.place("SBIN", "SELL", 4, product="CNC").status == OrderStatus.COMPLETE


def test_it_rejects_an_order_without_a_price(sandbox):
    _rejected(sandbox, "No price for NSE:SBIN", symbol="SBIN", quantity=1)


@pytest.mark.parametrize(("order", "message"), [
    ({"price_type": "LIMIT", "price": 0}, r"price: is required \(greater than 0\) for LIMIT"),
    ({"price_type": "SL", "price": 100, "trigger": 0}, "trigger_price: is required"),
    ({"quantity": "1.5"}, "quantity: must be a whole number"),
])
def test_it_rejects_malformed_orders(sandbox, order, message):
    price("SBIN", "100")
    _rejected(sandbox, message, symbol="SBIN", **{"quantity": 1, **order})


def test_it_rejects_delivery_of_derivatives_and_orders_on_indices(sandbox):
    InstrumentFactory(exchange="NFO", symbol="NIFTY28NOV24FUT", instrument_type="FUT", lot_size=25)
    InstrumentFactory(exchange="NSE_INDEX", symbol="NIFTY", instrument_type="INDEX")
    price("NIFTY28NOV24FUT", "24000", exchange="NFO")
    price("NIFTY", "24000", exchange="NSE_INDEX")
    _rejected(sandbox, "CNC \\(delivery\\) is for cash-segment", symbol="NIFTY28NOV24FUT", exchange="NFO",
              quantity=25, product="CNC")
    _rejected(sandbox, "indices and cannot be traded", symbol="NIFTY", exchange="NSE_INDEX", quantity=1)
