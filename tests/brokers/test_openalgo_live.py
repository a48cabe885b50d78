"""The OpenAlgo adapter over real sockets: live_server runs an OpenAlgo-like upstream (upstream_urls)."""
from __future__ import annotations

from decimal import Decimal

import pytest

from brokers.adapters.base import (
    BrokerError,
    BrokerUnavailable,
    OrderNotFound,
    OrderRejected,
    OrderSpec,
)
from brokers.adapters.openalgo import client_for
from brokers.models import ConnectionStatus, TradingAccount
from brokers.services import accounts as services
from brokers.services import health
from tests.brokers import upstream_urls
from tests.brokers.factories import TradingAccountFactory

pytestmark = [pytest.mark.urls("tests.brokers.upstream_urls"), pytest.mark.django_db(transaction=True)]


@pytest.fixture
def upstream(live_server):
    upstream_urls.reset()
    return live_server.url


@pytest.fixture
def account(upstream):
    return TradingAccountFactory(credentials={"host_url": upstream, "websocket_url": "ws://127.0.0.1:1",
                                              "api_key": upstream_urls.API_KEY})


@pytest.fixture
def adapter(account):
    return services.adapter_for(account)


def buy(symbol: str = "SBIN", quantity: str = "10", **fields) -> OrderSpec:
    return OrderSpec(exchange="NSE", symbol=symbol, action="BUY", quantity=Decimal(quantity), **fields)


def test_an_order_round_trip_over_http(adapter):
    filled = adapter.place_order(buy())
    resting = adapter.place_order(buy("INFY", "2", price_type="LIMIT", price=Decimal("1800.05")))
    adapter.modify_order(OrderSpec(order_id=resting.broker_order_id, exchange="NSE", symbol="INFY",
                                       action="BUY", quantity=Decimal("3"), price_type="LIMIT", product="MIS",
                                       price=Decimal("1799.95")))
    status = adapter.order_status(resting.broker_order_id)
    assert (status.status, status.quantity, status.price) == ("OPEN", Decimal("3"), Decimal("1799.95"))
    adapter.cancel_order(resting.broker_order_id)
    book = {o.broker_order_id: o for o in adapter.order_book()}
    assert book[filled.broker_order_id].status == "COMPLETE"
    assert book[filled.broker_order_id].average_price == Decimal("812.50")
    assert book[resting.broker_order_id].status == "CANCELLED"
    [position] = adapter.positions()
    assert (position.symbol, position.quantity) == ("SBIN", Decimal("10"))
    assert adapter.funds().available_cash == Decimal("100000.00") - Decimal("8125.00")
    assert adapter.quotes("NSE", "SBIN").ask == Decimal("812.55")


def test_rejections_and_unknown_orders_come_back_classified(adapter):
    with pytest.raises(OrderRejected, match="Insufficient funds"):
        adapter.place_order(buy(quantity="1000"))
    with pytest.raises(OrderRejected, match="not found for exchange"):
        adapter.place_order(buy("NOSUCH"))
    with pytest.raises(OrderNotFound):
        adapter.cancel_order("999")
    filled = adapter.place_order(buy())
    with pytest.raises(OrderRejected, match="cannot be cancelled"):
        adapter.cancel_order(filled.broker_order_id)


def test_a_wrong_api_key_is_permanent(upstream):
    account = TradingAccountFactory(credentials={"host_url": upstream, "api_key": "wrong"})
    with pytest.raises(BrokerError, match="Invalid openalgo apikey") as info:
        services.adapter_for(account).funds()
    assert info.value.permanent


def test_a_server_fault_and_a_slow_server_are_transient(adapter, settings):
    with pytest.raises(BrokerUnavailable, match="session expired"):
        adapter.quotes("NSE", "BOOM")
    settings.OPENALGO_READ_TIMEOUT = 0.2
    slow = services.adapter_for(TradingAccount.objects.get(pk=adapter.context.account_id))
    with pytest.raises(BrokerUnavailable, match="timed out"):
        slow.quotes("NSE", "SLOW")


def test_requests_reuse_one_keep_alive_connection(adapter, upstream):
    local_ports = []
    client = client_for(upstream)
    client.event_hooks["response"].append(
        lambda response: local_ports.append(response.extensions["network_stream"].get_extra_info("client_addr")))
    for _ in range(5):
        adapter.ping()
        adapter.funds()
    assert len(local_ports) == 10
    assert len(set(local_ports)) == 1  # one TCP connection served every request
    assert upstream_urls.book.requests == 10


def test_test_connection_records_health_against_the_live_server(account):
    ok, message = health.check_connection(account)
    account.refresh_from_db()
    assert ok
    assert message == "openalgo:upstream-test answered"
    assert account.connection_status == ConnectionStatus.CONNECTED
