"""No network call inside a database transaction (on SQLite one write-locks the whole database).

The sandbox may ask the user's linked live account for a quote it lacks: the pipeline reads it before
it opens the order's transaction, and the sandbox never asks from inside one."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection

from brokers.adapters.base import Quote
from tests.trading.conftest import make_trader, order
from tests.trading.factories import InstrumentFactory, TradingAccountFactory
from trading.models import Order, OrderStatus

pytestmark = pytest.mark.django_db(transaction=True)  # no test transaction around: depth 0 is "outside"


class _LiveBroker:
    """The user's linked live account (HTTP in production): notes whether it was called in a transaction."""

    def __init__(self) -> None:
        self.calls: list[bool] = []

    def quotes(self, exchange: str, symbol: str) -> Quote:
        self.calls.append(connection.in_atomic_block)
        return Quote(ltp=Decimal("1501.35"), bid=Decimal("1501.30"), ask=Decimal("1501.40"), volume=900)


@pytest.fixture
def linked(sandbox_day, monkeypatch):
    from brokers.services import accounts

    InstrumentFactory(exchange="NSE", symbol="INFY", lot_size=1, tick_size=Decimal("0.05"))
    trader = make_trader()  # analyze mode: the sandbox is the broker
    TradingAccountFactory(user=trader.user, broker="openalgo", is_primary=True,
                          credentials={"host_url": "http://127.0.0.1:9", "api_key": "abc.def"})
    broker = _LiveBroker()
    monkeypatch.setattr(accounts, "adapter_for", lambda account: broker)
    trader.broker = broker
    return trader


@pytest.mark.parametrize("body", [order(symbol="INFY", pricetype="LIMIT", price="1400"),
                                  order(symbol="INFY")], ids=["limit", "market"])
def test_a_sandbox_order_reads_a_live_quote_before_its_transaction(linked, body):
    response = linked.post("placeorder", body)
    assert response.status_code == 200, response.json()
    assert linked.broker.calls == [False]
    assert Order.objects.get().status in (OrderStatus.OPEN, OrderStatus.COMPLETE)
