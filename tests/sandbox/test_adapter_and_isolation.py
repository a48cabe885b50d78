"""The adapter's books, funds, quotes and depth; one user's sandbox never sees another's."""
from __future__ import annotations

from decimal import Decimal as D

import pytest

from brokers.adapters.base import BrokerError, OrderNotFound, OrderRejected
from brokers.adapters.registry import get_adapter
from sandbox.adapter import SandboxAdapter
from sandbox.models import OrderStatus
from tests.sandbox.factories import price

pytestmark = pytest.mark.django_db


def test_the_registry_finds_the_sandbox_adapter(sandbox):
    adapter = get_adapter("sandbox", sandbox.adapter.context)
    assert isinstance(adapter, SandboxAdapter)
    assert adapter.ping() == "sandbox"


def test_books_funds_and_positions_through_the_adapter(sandbox):
    price("SBIN", "800", bid="799.95", ask="800.05")
    bought = sandbox.place("SBIN", "BUY", 10)
    resting = sandbox.place("SBIN", "SELL", 4, price_type="LIMIT", price="850")
    price("SBIN", "810")
    book = {o.broker_order_id: o for o in sandbox.adapter.order_book()}
    assert book[bought.broker_order_id].status == OrderStatus.COMPLETE
    assert book[resting.broker_order_id].status == OrderStatus.OPEN
    trades = sandbox.adapter.trade_book()
    assert [(t.broker_order_id, t.quantity, t.price, t.value) for t in trades] == [
        (bought.broker_order_id, 10, D("800.05"), D("8000.5"))]
    (position,) = sandbox.adapter.positions()
    assert (position.quantity, position.average_price, position.ltp) == (10, D("800.05"), D("810"))
    assert position.unrealized_pnl == D("99.50")
    funds = sandbox.adapter.funds()
    assert funds.utilised_debits == D("1600.10")
    assert funds.available_cash == D("10000000.00") - D("1600.10")
    assert funds.m2m_unrealized == D("99.50")
    assert funds.m2m_realized == 0


def test_quotes_and_depth_come_from_the_store(sandbox):
    price("SBIN", "800", bid="799.95", ask="800.05", bid_qty=120, ask_qty=80, volume=5000)
    quote = sandbox.adapter.quotes("NSE", "SBIN")
    assert (quote.ltp, quote.bid, quote.ask, quote.volume) == (D("800"), D("799.95"), D("800.05"), 5000)
    depth = sandbox.adapter.depth("NSE", "SBIN")
    assert [(level.price, level.quantity) for level in depth.bids] == [(D("799.95"), 120)]
    assert [(level.price, level.quantity) for level in depth.asks] == [(D("800.05"), 80)]
    price("SBIN", "801")  # no bid/ask now: no levels rather than invented ones
    assert sandbox.adapter.depth("NSE", "SBIN").bids == []
    with pytest.raises(BrokerError, match="No price"):
        sandbox.adapter.quotes("NSE", "INFY")


def test_cancelling_a_filled_or_unknown_order_is_refused(sandbox):
    price("SBIN", "800")
    filled = sandbox.place("SBIN", "BUY", 1)
    with pytest.raises(OrderRejected, match="complete"):
        sandbox.adapter.cancel_order(filled.broker_order_id)
    with pytest.raises(OrderNotFound):
        sandbox.adapter.cancel_order("nope")


def test_two_users_sandboxes_are_isolated(sandbox, other_sandbox):
    price("SBIN", "800")
    mine = sandbox.place("SBIN", "BUY", 10)
    theirs = other_sandbox.place("SBIN", "SELL", 3, price_type="LIMIT", price="900")
    assert [o.broker_order_id for o in sandbox.adapter.order_book()] == [mine.broker_order_id]
    assert [o.broker_order_id for o in other_sandbox.adapter.order_book()] == [theirs.broker_order_id]
    assert other_sandbox.adapter.positions() == []
    assert other_sandbox.adapter.trade_book() == []
    with pytest.raises(OrderNotFound):
        sandbox.adapter.cancel_order(theirs.broker_order_id)
    with pytest.raises(OrderNotFound):
        other_sandbox.adapter.order_status(mine.broker_order_id)
    assert sandbox.funds().used_margin == D("1600.00")
    assert other_sandbox.funds().used_margin == D("540.00")
